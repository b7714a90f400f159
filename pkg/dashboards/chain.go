package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// ChainUID is the uid of the "Autoscaling chain" dashboard.
const ChainUID = "metricscale-autoscaling-chain"

// The series below are those of kube-state-metrics v2.16
// (internal/store/horizontalpodautoscaler.go) and of prometheus-adapter v0.12
// (its apiserver library's request metrics, pkg/client/metrics): what a
// kube-prometheus-stack install scrapes, nothing recorded by rules.
const (
	// hpaSelector picks the HPAs the variables chose.
	hpaSelector = `namespace="$namespace", horizontalpodautoscaler=~"$hpa"`
	// adapterJob picks the adapter's own series: kube-apiserver exports
	// apiserver_request_total too, under other jobs.
	adapterJob = `job=~".*adapter.*"`
	// metricsGroups are the API groups the adapter serves to the HPA controller.
	metricsGroups = `group=~"custom.metrics.k8s.io|external.metrics.k8s.io"`
)

// hpaConditions are the HPA conditions the controller sets, in the order a
// broken chain shows them: no metric → ScalingActive false.
var hpaConditions = []string{"ScalingActive", "AbleToScale", "ScalingLimited"}

// autoscalingChain is the "Autoscaling chain" dashboard: per HPA the metric
// against its target, replicas and conditions, then the adapter between
// Prometheus and the HPA controller.
// With alerts, a row of the chain's alerts comes first, where a person who
// was paged looks.
func autoscalingChain(o Options) *dashboard.DashboardBuilder {
	b := newDashboard(ChainUID, "Autoscaling chain", "autoscaling").
		Description("The HPA's metric against its target, its replicas and conditions, and the prometheus-adapter that serves the metric.").
		WithVariable(labelValues("namespace", "Namespace", "kube_horizontalpodautoscaler_spec_max_replicas", "namespace").
			Multi(false)).
		WithVariable(labelValues("hpa", "HPA", `kube_horizontalpodautoscaler_spec_max_replicas{namespace="$namespace"}`, "horizontalpodautoscaler").
			Multi(true).
			IncludeAll(true))
	if o.Alerts != nil {
		withAlerts(b, o.Alerts).
			WithRow(dashboard.NewRowBuilder("Alerts").Id(10)).
			WithPanel(o.Alerts.table().Id(11))
	}
	return b.WithRow(dashboard.NewRowBuilder("HPA").Id(1)).
		WithPanel(metricAgainstTarget().Id(2)).
		WithPanel(replicas().Id(3)).
		WithPanel(conditions().Id(4)).
		WithRow(dashboard.NewRowBuilder("prometheus-adapter").Id(5)).
		WithPanel(adapterUp().Id(6)).
		WithPanel(adapterRequests().Id(7)).
		WithPanel(adapterLatency().Id(8)).
		WithPanel(adapterPrometheusLatency().Id(9))
}

// labelValues is a query variable listing one label's values of a series.
func labelValues(name, label, series, labelName string) *dashboard.QueryVariableBuilder {
	definition := fmt.Sprintf("label_values(%s, %s)", series, labelName)
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(datasource()).
		Query(dashboard.StringOrMap{Map: map[string]any{
			"query": definition,
			"refId": "PrometheusVariableQueryEditor-VariableQuery",
		}}).
		Definition(definition).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

// metricAgainstTarget plots each HPA metric's current value beside its
// target. kube-state-metrics marks both series experimental; where they are
// not exported the plain selectors return nothing and the panel says so.
func metricAgainstTarget() *timeseries.PanelBuilder {
	const by = "max by (horizontalpodautoscaler, metric_name, metric_target_type)"
	return timeSeries("Metric against target").
		Description("kube_horizontalpodautoscaler_status_target_metric (current) and _spec_target_metric (target) from kube-state-metrics. Both are experimental there: without them this panel has no data.").
		Height(9).Span(24).
		NoValue("no HPA metric series from kube-state-metrics").
		WithTarget(query("A", fmt.Sprintf("%s (kube_horizontalpodautoscaler_status_target_metric{%s})", by, hpaSelector),
			"{{horizontalpodautoscaler}} {{metric_name}} ({{metric_target_type}}) current")).
		WithTarget(query("B", fmt.Sprintf("%s (kube_horizontalpodautoscaler_spec_target_metric{%s})", by, hpaSelector),
			"{{horizontalpodautoscaler}} {{metric_name}} ({{metric_target_type}}) target")).
		OverrideByRegexp(".* target$", dashed())
}

// replicas plots current and desired replicas between the HPA's bounds.
func replicas() *timeseries.PanelBuilder {
	panel := timeSeries("Replicas").
		Height(8).Span(12).
		Min(0).
		Decimals(0)
	for i, series := range []struct{ name, legend string }{
		{"kube_horizontalpodautoscaler_status_current_replicas", "current"},
		{"kube_horizontalpodautoscaler_status_desired_replicas", "desired"},
		{"kube_horizontalpodautoscaler_spec_min_replicas", "min"},
		{"kube_horizontalpodautoscaler_spec_max_replicas", "max"},
	} {
		panel.WithTarget(query(refID(i), fmt.Sprintf("max by (horizontalpodautoscaler) (%s{%s})", series.name, hpaSelector),
			"{{horizontalpodautoscaler}} "+series.legend))
	}
	return panel.OverrideByRegexp(".* (min|max)$", dashed())
}

// conditions shows ScalingActive, AbleToScale and ScalingLimited over time:
// the series with status="true" is 1 while the condition holds, 0 otherwise.
func conditions() *statetimeline.PanelBuilder {
	panel := statetimeline.NewPanelBuilder().
		Title("Conditions").
		Datasource(datasource()).
		Height(8).Span(12).
		Tooltip(tooltip()).
		Mappings([]dashboard.ValueMapping{valueText(map[string]dashboard.ValueMappingResult{
			"0": shown("false", "red"),
			"1": shown("true", "green"),
		})}).
		// ScalingLimited true is the warning: the HPA wants more (or fewer)
		// replicas than its bounds allow.
		OverrideByRegexp(".* ScalingLimited$", []dashboard.DynamicConfigValue{{
			Id: "mappings",
			Value: []dashboard.ValueMapping{valueText(map[string]dashboard.ValueMappingResult{
				"0": shown("false", "green"),
				"1": shown("true", "orange"),
			})},
		}})
	for i, condition := range hpaConditions {
		panel.WithTarget(query(refID(i), fmt.Sprintf(
			`max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_condition{%s, condition="%s", status="true"})`,
			hpaSelector, condition), "{{horizontalpodautoscaler}} "+condition))
	}
	return panel
}

// adapterUp shows whether Prometheus reaches each adapter pod.
func adapterUp() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title("Adapter up").
		Datasource(datasource()).
		Height(8).Span(6).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		NoValue("no adapter target (job=~\".*adapter.*\")").
		Mappings([]dashboard.ValueMapping{valueText(map[string]dashboard.ValueMappingResult{
			"0": shown("down", "red"),
			"1": shown("up", "green"),
		})}).
		WithTarget(query("A", fmt.Sprintf("up{%s}", adapterJob), "{{instance}}").Instant())
}

// adapterRequests is the rate of the custom and external metrics API
// requests the adapter answered, by code: the HPA controller's reads.
func adapterRequests() *timeseries.PanelBuilder {
	return timeSeries("Metrics API requests").
		Height(8).Span(6).
		Unit("reqps").
		Min(0).
		WithTarget(query("A", fmt.Sprintf(
			"sum by (group, code) (rate(apiserver_request_total{%s, %s}[$__rate_interval]))", adapterJob, metricsGroups),
			"{{group}} {{code}}"))
}

// adapterLatency is how long the adapter takes to answer those requests.
func adapterLatency() *timeseries.PanelBuilder {
	return quantiles(timeSeries("Metrics API latency"),
		fmt.Sprintf("apiserver_request_duration_seconds_bucket{%s, %s}", adapterJob, metricsGroups), "group")
}

// adapterPrometheusLatency is how long Prometheus takes to answer the
// adapter's queries, by endpoint (query, series): most of the latency above.
func adapterPrometheusLatency() *timeseries.PanelBuilder {
	return quantiles(timeSeries("Adapter → Prometheus latency").
		Description("prometheus_adapter_prometheus_client_request_duration_seconds: prometheus-adapter v0.12 exports it only when its config has resourceRules (it serves metrics.k8s.io); elsewhere this panel has no data.").
		NoValue("no adapter client series (the adapter exports them with resourceRules only)"),
		"prometheus_adapter_prometheus_client_request_duration_seconds_bucket", "path")
}

// quantiles fills a panel with the median and the 99th percentile of a
// histogram's buckets, by one label.
func quantiles(panel *timeseries.PanelBuilder, buckets, label string) *timeseries.PanelBuilder {
	panel.Height(8).Span(6).
		Unit("s").
		Min(0)
	for i, q := range []struct{ quantile, name string }{{"0.5", "p50"}, {"0.99", "p99"}} {
		panel.WithTarget(query(refID(i), fmt.Sprintf(
			"histogram_quantile(%s, sum by (%s, le) (rate(%s[$__rate_interval])))", q.quantile, label, buckets),
			fmt.Sprintf("%s {{%s}}", q.name, label)))
	}
	return panel
}

// refID is Grafana's query letter for the i-th target: A, B, C, ...
func refID(i int) string { return string(rune('A' + i)) }
