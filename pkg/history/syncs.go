package history

import (
	"context"
	"fmt"
	"math"
	"time"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
)

// Syncs are the HPA's status over [since, until] every step, as
// kube-state-metrics exported it at each scrape: the replicas and each of
// its metrics' current values (decision.Recommend recomputes what the
// controller recommended from them). An error when Prometheus has no
// replicas of the HPA over the span.
func Syncs(ctx context.Context, p RangeQuerier, hpa *autoscalingv2.HorizontalPodAutoscaler, since, until time.Time, step time.Duration) ([]decision.PastSync, error) {
	q := queries(hpa.Namespace, hpa.Name)
	replicas, err := p.QueryRange(ctx, q["replicas"], since, until, step)
	if err != nil {
		return nil, err
	}
	if replicas.Matrix == nil || len(*replicas.Matrix) == 0 {
		return nil, fmt.Errorf("Prometheus has no kube_horizontalpodautoscaler_status_current_replicas of %s/%s since %s", hpa.Namespace, hpa.Name, since.Format(time.TimeOnly))
	}
	current, err := p.QueryRange(ctx, q["current"], since, until, step)
	if err != nil {
		return nil, err
	}
	byMetric := map[[2]string]map[pmodel.Time]float64{}
	if current.Matrix != nil {
		for _, s := range *current.Matrix {
			k := [2]string{string(s.Metric["metric_name"]), string(s.Metric["metric_target_type"])}
			byMetric[k] = map[pmodel.Time]float64{}
			for _, v := range s.Values {
				byMetric[k][v.Timestamp] = float64(v.Value)
			}
		}
	}
	var out []decision.PastSync
	for _, v := range (*replicas.Matrix)[0].Values {
		ps := decision.PastSync{At: v.Timestamp.Time(), Replicas: int32(v.Value), Values: map[int]int64{}}
		for i, spec := range hpa.Spec.Metrics {
			name, kind := statusKey(spec)
			if x, ok := byMetric[[2]string{name, kind}][v.Timestamp]; ok {
				if kind != "utilization" {
					x *= 1000
				}
				ps.Values[i] = int64(math.Round(x))
			}
		}
		out = append(out, ps)
	}
	return out, nil
}

// statusKey is how kube-state-metrics labels a metric's current value:
// metric_name (the resource's name for Resource and ContainerResource
// metrics) and metric_target_type (value, average or utilization, as the
// target compares it).
func statusKey(spec autoscalingv2.MetricSpec) (name, kind string) {
	t, _ := metricspec.Target(spec)
	switch t.Type {
	case autoscalingv2.ValueMetricType:
		return metricspec.Name(spec), "value"
	case autoscalingv2.UtilizationMetricType:
		return metricspec.Name(spec), "utilization"
	}
	return metricspec.Name(spec), "average"
}
