package doctor

import (
	"context"
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/history"
	"github.com/metricscale/kubectl-metricscale/pkg/hpainput"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
)

// Inputs reads what the HPA controller reads for one HPA at a sync (its
// scale, pods and metric values), for the decision doctor explains.
type Inputs interface {
	Read(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (decision.Input, error)
}

// sourceInputs reads them with hpainput through the walk's own sources,
// and the controller's memory from Prometheus (prom nil: not reachable).
type sourceInputs struct {
	src    hpainput.Source
	mapper apimeta.RESTMapper
	prom   history.RangeQuerier
	now    time.Time
}

// syncPeriod is the controller's default --horizontal-pod-autoscaler-sync-period,
// the step at which its memory is recomputed.
const syncPeriod = 15 * time.Second

func (s sourceInputs) Read(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (decision.Input, error) {
	in, err := hpainput.Read(ctx, s.src, s.mapper, hpa, s.now)
	if err != nil {
		return in, err
	}
	in, _ = hpainput.Memory(ctx, func() (history.RangeQuerier, string) { return s.prom, "Prometheus is not reachable" }, in, syncPeriod, decision.DefaultConfig())
	return in, nil
}

// walkSource reads what the controller reads through what the walk has
// read or will read anyway: the targets' replicas and pods (listed once per
// namespace), each distinct custom and external metrics request once, the
// resource metrics listed once per namespace.
type walkSource struct {
	targets Targets
	api     MetricsAPI
	ext     ExternalAPI
	res     ResourceMetrics
}

func (s walkSource) Scale(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (hpainput.Scale, error) {
	return s.targets.ScaleOf(ctx, hpa.Namespace, hpa.Spec.ScaleTargetRef)
}

func (s walkSource) Pods(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sel labels.Selector) ([]corev1.Pod, error) {
	pods, ok, err := s.targets.ControllerPods(ctx, hpa.Namespace, hpa.Spec.ScaleTargetRef)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s %s not found", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
	}
	return pods, nil
}

func (s walkSource) Custom(ctx context.Context, req hpareq.Request, _ []corev1.Pod) (*cmv1beta2.MetricValueList, error) {
	return s.api.Values(ctx, req)
}

func (s walkSource) External(ctx context.Context, req hpareq.Request) (*emv1beta1.ExternalMetricValueList, error) {
	return s.ext.Values(ctx, req)
}

func (s walkSource) PodMetrics(ctx context.Context, namespace string, sel labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	return s.res.PodMetrics(ctx, namespace, sel)
}

// decide is the controller's decision for h in one sentence, or "" when
// doctor does not read the inputs (-A) or h has no metrics.
func (w *walker) decide(ctx context.Context, h *autoscalingv2.HorizontalPodAutoscaler) string {
	if w.inputs == nil || len(h.Spec.Metrics) == 0 {
		return ""
	}
	in, err := w.inputs.Read(ctx, h)
	if err != nil {
		return "unknown: " + err.Error()
	}
	cfg := decision.DefaultConfig()
	return decision.Explain(h, decision.Decide(in, cfg), cfg)
}
