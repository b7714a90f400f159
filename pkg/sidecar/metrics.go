package sidecar

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics of one sidecar, on a registry of its own (no global state).
type metrics struct {
	registry    *prometheus.Registry
	passes      prometheus.Counter
	errors      prometheus.Counter
	actions     *prometheus.CounterVec
	objects     *prometheus.GaugeVec
	dashboards  *prometheus.GaugeVec
	dataSources *prometheus.GaugeVec
	lastSuccess prometheus.Gauge
	duration    prometheus.Histogram
	leader      prometheus.Gauge
}

func newMetrics() *metrics {
	const ns = "metricscale_sidecar"
	m := &metrics{
		registry: prometheus.NewRegistry(),
		passes:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "converge_passes_total", Help: "Converge passes run."}),
		errors:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "converge_errors_total", Help: "Converge passes that failed (Grafana unreachable, credentials refused) and will be retried."}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "actions_total",
			Help: "What passes did to Grafana objects, by kind and action (created, updated, deleted, foreign, failed, skipped)."}, []string{"kind", "action"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "objects",
			Help: "Labelled objects in the cache, by kind and what they hold (dashboards, datasources)."}, []string{"kind", "holds"}),
		dashboards: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "dashboards",
			Help: "Dashboards of the last pass by state: desired, invalid (a key that gives none), foreign (uid taken by a dashboard not written by this sidecar), refused (by Grafana)."}, []string{"state"}),
		dataSources: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "datasources",
			Help: "Data sources of the last pass by state: desired, invalid (a key or entry that gives none), foreign (uid taken by a data source not written by this sidecar), refused (by Grafana)."}, []string{"state"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "last_success_timestamp_seconds", Help: "When a pass last converged everything it could."}),
		leader:      prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "leader", Help: "1 while this replica converges (holds the Lease, or runs without leader election), else 0."}),
		duration:    prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "converge_duration_seconds", Help: "Duration of converge passes.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
	m.registry.MustRegister(m.passes, m.errors, m.actions, m.objects, m.dashboards, m.dataSources, m.lastSuccess, m.duration, m.leader)
	return m
}

func (m *metrics) action(kind, action string) { m.actions.WithLabelValues(kind, action).Inc() }

func (m *metrics) observePlan(sources, dsSources []Source, p Plan, dp DataSourcePlan) {
	for purpose, list := range map[string][]Source{"dashboards": sources, "datasources": dsSources} {
		byKind := map[string]int{KindConfigMap: 0, KindSecret: 0}
		for _, s := range list {
			byKind[s.Kind]++
		}
		for kind, n := range byKind {
			m.objects.WithLabelValues(kind, purpose).Set(float64(n))
		}
	}
	m.dashboards.WithLabelValues("desired").Set(float64(len(p.Desired.Dashboards)))
	m.dashboards.WithLabelValues("invalid").Set(float64(len(p.Problems)))
	m.dataSources.WithLabelValues("desired").Set(float64(len(dp.DataSources)))
	m.dataSources.WithLabelValues("invalid").Set(float64(len(dp.Problems)))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
