package alerts

import (
	"context"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Unserved is an HPA metric no rule of the adapter serves: it gets no rule.
type Unserved struct {
	Namespace, HPA, Metric, Reason string
}

// SeriesNeeds reads the HPAs of scope and, for each of their Pods, Object
// and External metrics, the series the adapter's rule (from its discovery
// disc) reads for it; and the metrics no rule serves, with the reason.
// Resource metrics come from metrics-server, not from series.
func SeriesNeeds(ctx context.Context, env *kube.Clients, disc *simulate.Discovery, scope kube.HPAScope) ([]SeriesNeed, []Unserved, error) {
	hpas, err := kube.HPAs(ctx, env.Client, scope, nil)
	if err != nil {
		return nil, nil, err
	}
	var needs []SeriesNeed
	var unserved []Unserved
	for i := range hpas {
		h := &hpas[i]
		for _, spec := range h.Spec.Metrics {
			if spec.Type == autoscalingv2.ResourceMetricSourceType || spec.Type == autoscalingv2.ContainerResourceMetricSourceType {
				continue
			}
			need, err := seriesNeed(h, spec, env, disc)
			if err != nil {
				unserved = append(unserved, Unserved{Namespace: h.Namespace, HPA: h.Name, Metric: need.Metric, Reason: err.Error()})
				continue
			}
			needs = append(needs, need)
		}
	}
	return needs, unserved, nil
}

func seriesNeed(h *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, env *kube.Clients, disc *simulate.Discovery) (SeriesNeed, error) {
	need := SeriesNeed{Namespace: h.Namespace, HPA: h.Name}
	// The pods are not part of the series: any selector does.
	req, err := hpareq.For(h, spec, labels.Everything(), env.Mapper)
	need.Metric = req.Metric
	if err != nil {
		return need, err
	}
	if disc == nil {
		return need, fmt.Errorf("the adapter's rules could not be read (run kubectl metricscale doctor)")
	}
	sel, err := req.Series(disc.Served(req.Resource, req.Metric))
	if err != nil {
		return need, fmt.Errorf("%w (run kubectl metricscale doctor %s -n %s)", err, h.Name, h.Namespace)
	}
	need.Selector = string(sel)
	return need, nil
}
