package dashboards

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// chainSeries are the series the "Autoscaling chain" dashboard reads, with
// the labels kube-state-metrics v2.16 and prometheus-adapter v0.12 give them
// once scraped (job and instance from the scrape), one sample a minute.
const chainSeries = `
	kube_horizontalpodautoscaler_spec_max_replicas{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler"} 5x20
	kube_horizontalpodautoscaler_spec_min_replicas{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler"} 1x20
	kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler"} 2x20
	kube_horizontalpodautoscaler_status_desired_replicas{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler"} 3x20
	kube_horizontalpodautoscaler_spec_target_metric{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler", metric_name="MessageMetrics", metric_target_type="average"} 100x20
	kube_horizontalpodautoscaler_status_target_metric{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler", metric_name="MessageMetrics", metric_target_type="average"} 140x20
	kube_horizontalpodautoscaler_status_condition{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler", condition="ScalingActive", status="true"} 1x20
	kube_horizontalpodautoscaler_status_condition{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler", condition="AbleToScale", status="true"} 1x20
	kube_horizontalpodautoscaler_status_condition{job="kube-state-metrics", instance="10.0.0.5:8080", namespace="default", horizontalpodautoscaler="interlok-autoscaler", condition="ScalingLimited", status="true"} 0x20
	up{job="prometheus-adapter", instance="10.0.0.9:6443"} 1x20
	apiserver_request_total{job="prometheus-adapter", instance="10.0.0.9:6443", verb="LIST", dry_run="", group="custom.metrics.k8s.io", version="v1beta1", resource="pods", subresource="", scope="namespace", component="apiserver", code="200"} 0+4x20
	apiserver_request_duration_seconds_bucket{job="prometheus-adapter", instance="10.0.0.9:6443", verb="LIST", dry_run="", group="custom.metrics.k8s.io", version="v1beta1", resource="pods", subresource="", scope="namespace", component="apiserver", le="0.1"} 0+3x20
	apiserver_request_duration_seconds_bucket{job="prometheus-adapter", instance="10.0.0.9:6443", verb="LIST", dry_run="", group="custom.metrics.k8s.io", version="v1beta1", resource="pods", subresource="", scope="namespace", component="apiserver", le="+Inf"} 0+4x20
	prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter", instance="10.0.0.9:6443", path="/api/v1/query", server="http://prometheus-server.monitoring.svc:80", le="0.05"} 0+3x20
	prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter", instance="10.0.0.9:6443", path="/api/v1/query", server="http://prometheus-server.monitoring.svc:80", le="+Inf"} 0+4x20
	ALERTS{alertname="HPAScalingInactive", alertstate="firing", severity="critical", metricscale_code="MS401", namespace="default", horizontalpodautoscaler="interlok-autoscaler"} 1x20
`

// TestChainQueriesEvaluate runs every query of the "Autoscaling chain"
// dashboard with alerts (its annotation as a panel) on Prometheus's own engine, the variables replaced as in
// TestQueriesParse: on the series above each returns data (its selectors
// match the labels kube-state-metrics and the adapter export), and on an
// empty store each returns nothing without an error (a missing optional
// series, like kube-state-metrics' experimental target metrics, leaves "no
// data", not a failing panel).
func TestChainQueriesEvaluate(t *testing.T) {
	all, err := Build(Options{Alerts: testAlerts})
	if err != nil {
		t.Fatal(err)
	}
	var chain board
	for _, d := range all {
		if d.UID == ChainUID {
			if err := json.Unmarshal(d.JSON, &chain); err != nil {
				t.Fatal(err)
			}
		}
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 100000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	at := time.Unix(0, 0).Add(15 * time.Minute)
	for _, store := range []struct {
		name     string
		series   string
		wantData bool
	}{
		{"with the series", chainSeries, true},
		{"without any series", `unrelated{job="other"} 1x20`, false},
	} {
		t.Run(store.name, func(t *testing.T) {
			storage := load(t, store.series)
			queries := 0
			for _, p := range chain.withAnnotations() {
				for _, target := range p.Targets {
					queries++
					expr := sampleValues.Replace(target.Expr)
					q, err := engine.NewInstantQuery(context.Background(), storage, nil, expr, at)
					if err != nil {
						t.Fatalf("panel %q: %q: %v", p.Title, expr, err)
					}
					res := q.Exec(context.Background())
					if res.Err != nil {
						t.Errorf("panel %q: %q: %v", p.Title, expr, res.Err)
						continue
					}
					vector, err := res.Vector()
					if err != nil {
						t.Errorf("panel %q: %q: %v", p.Title, expr, err)
						continue
					}
					if got := len(vector) > 0; got != store.wantData {
						t.Errorf("panel %q: %q returned %v; want data: %v", p.Title, expr, promql.Vector(vector), store.wantData)
					}
					q.Close()
				}
			}
			if queries == 0 {
				t.Fatal("the dashboard has no queries")
			}
		})
	}
}

// load is an in-memory store of series given one a line in the notation of
// Prometheus's test files (metric{labels} values), one sample a minute from 0.
func load(t *testing.T, series string) storage.Queryable {
	t.Helper()
	var all []storage.Series
	for _, line := range strings.Split(strings.TrimSpace(series), "\n") {
		lset, values, err := parser.ParseSeriesDesc(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("series %q: %v", line, err)
		}
		samples := make([]chunks.Sample, 0, len(values))
		for i, v := range values {
			if !v.Omitted {
				samples = append(samples, floatSample{t: int64(i) * time.Minute.Milliseconds(), f: v.Value})
			}
		}
		all = append(all, storage.NewListSeries(lset, samples))
	}
	slices.SortFunc(all, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return storage.QueryableFunc(func(int64, int64) (storage.Querier, error) {
		return &storage.MockQuerier{SelectMockFunction: func(_ bool, _ *storage.SelectHints, matchers ...*labels.Matcher) storage.SeriesSet {
			var matched []storage.Series
			for _, s := range all {
				if matchesAll(s.Labels(), matchers) {
					matched = append(matched, s)
				}
			}
			return &seriesList{series: matched, at: -1}
		}}, nil
	})
}

func matchesAll(lset labels.Labels, matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// seriesList is a storage.SeriesSet over series already sorted.
type seriesList struct {
	series []storage.Series
	at     int
}

func (l *seriesList) Next() bool                        { l.at++; return l.at < len(l.series) }
func (l *seriesList) At() storage.Series                { return l.series[l.at] }
func (l *seriesList) Err() error                        { return nil }
func (l *seriesList) Warnings() annotations.Annotations { return nil }

// floatSample is one float sample (chunks.Sample).
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                      { return s.t }
func (s floatSample) F() float64                    { return s.f }
func (s floatSample) H() *histogram.Histogram       { return nil }
func (s floatSample) FH() *histogram.FloatHistogram { return nil }
func (s floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample           { return s }
