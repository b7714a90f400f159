package dashboards

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/prometheus/prometheus/promql/parser"
)

// HPAMetricsUID is the uid of the dashboard ChainDashboard builds.
const HPAMetricsUID = "metricscale-hpa-metrics"

// HPAMetric is one metric of one HPA as found in the cluster.
type HPAMetric struct {
	// Namespace and HPA name the HorizontalPodAutoscaler.
	Namespace, HPA string
	// Metric is the metric's name in the HPA's spec.
	Metric string
	// Query is the PromQL query behind the metric (the one prometheus-adapter
	// renders for the HPA controller's request), shown as given.
	Query string
	// Target is the HPA's target for the metric, drawn as a threshold.
	Target float64
}

// ChainDashboard builds a dashboard with one panel per HPA metric: its exact
// query with the HPA's target as a threshold. Panels are sorted by namespace,
// HPA, metric and query and numbered and placed in that order, so the same
// items in any order give byte-identical JSON.
func ChainDashboard(items []HPAMetric, o Options) ([]byte, error) {
	if len(items) == 0 {
		return nil, errors.New("no HPA metrics to chart: the dashboard needs at least one HPA with a metric")
	}
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, compareHPAMetrics)
	for i, item := range sorted {
		if err := item.validate(); err != nil {
			return nil, err
		}
		if i > 0 && compareHPAMetrics(sorted[i-1], item) == 0 {
			return nil, fmt.Errorf("HPA %s/%s metric %q: given twice with the same query; pass each HPA metric once", item.Namespace, item.HPA, item.Metric)
		}
	}

	b := withAlerts(newDashboard(HPAMetricsUID, "HPA metrics", "autoscaling").
		Description("One panel per HPA metric found in the cluster: the query behind the metric, and the HPA's target as a dashed threshold."), o.Alerts)
	for i, item := range sorted {
		b.WithPanel(hpaMetricPanel(item).Id(uint32(i + 1)))
	}
	board, err := build(b)
	if err != nil {
		return nil, err
	}
	return board.JSON, nil
}

func compareHPAMetrics(a, b HPAMetric) int {
	return cmp.Or(
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.HPA, b.HPA),
		cmp.Compare(a.Metric, b.Metric),
		cmp.Compare(a.Query, b.Query),
	)
}

// validate names the first thing a panel could not be built from.
func (m HPAMetric) validate() error {
	what := fmt.Sprintf("HPA %s/%s metric %q", m.Namespace, m.HPA, m.Metric)
	switch {
	case m.Namespace == "" || m.HPA == "":
		return fmt.Errorf("%s: the HPA's namespace and name are both required", what)
	case m.Metric == "":
		return fmt.Errorf("%s: the metric name is empty", what)
	case m.Query == "":
		return fmt.Errorf("%s: the query is empty; give the PromQL query behind the metric", what)
	case math.IsNaN(m.Target) || math.IsInf(m.Target, 0):
		return fmt.Errorf("%s: target %v is not a finite number", what, m.Target)
	}
	if _, err := parser.ParseExpr(m.Query); err != nil {
		return fmt.Errorf("%s: query %q is not valid PromQL: %w", what, m.Query, err)
	}
	return nil
}

// hpaMetricPanel is one HPA metric's panel, half the dashboard's width.
func hpaMetricPanel(m HPAMetric) *timeseries.PanelBuilder {
	target := strconv.FormatFloat(m.Target, 'g', -1, 64)
	return timeSeries(fmt.Sprintf("%s/%s: %s", m.Namespace, m.HPA, m.Metric)).
		Description("Target " + target + ". The query behind the HPA's metric: " + m.Query).
		Height(8).Span(12).
		NoValue("the query returns no series").
		Thresholds(dashboard.NewThresholdsConfigBuilder().
			Mode(dashboard.ThresholdsModeAbsolute).
			Steps([]dashboard.Threshold{
				{Color: "green"},
				{Color: "red", Value: cog.ToPtr(m.Target)},
			})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().
							Mode(common.GraphThresholdsStyleModeDashed)).
		WithTarget(query("A", m.Query, "")) // Grafana names each series by its labels
}
