// Package provision builds what `grafana provision` writes into Grafana:
// the Prometheus data source the adapter reads, the folder, the dashboards
// of dashboards/ and, with --from-cluster, one built from the live chain.
//
// Desired gives the data source, the folder by uid, and the embedded
// dashboards with their Prometheus references set to the data source's uid.
// HPAMetrics renders, for each HPA metric, the adapter's query for the
// controller's request through pkg/hpareq, as watch renders it, for the
// --from-cluster dashboard. FindGrafana finds the chart's Service (for the
// port-forward hint) and SecretCredentials reads the chart's admin keys. The
// command reads credentials from the environment or that Secret, checks
// /api/health, then runs grafana.Converge.
package provision

import (
	"context"
	"fmt"
	"sort"

	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Unrendered is an HPA metric whose query could not be rendered, and why.
type Unrendered struct {
	Namespace, HPA, Metric, Reason string
}

// HPAMetrics renders, for every Pods, Object and External metric of the
// HPAs of scope, the query the adapter runs for the HPA
// controller's request (as watch renders it: pkg/hpareq with the scale
// target's selector and its pods), from the adapter's discovery disc,
// beside the HPA's target; and the metrics it could not render, with the
// reason.
func HPAMetrics(ctx context.Context, env *kube.Clients, disc *simulate.Discovery, scope kube.HPAScope) ([]dashboards.HPAMetric, []Unrendered, error) {
	hpas, err := kube.HPAs(ctx, env.Client, scope, nil)
	if err != nil {
		return nil, nil, err
	}
	var out []dashboards.HPAMetric
	var missing []Unrendered
	for i := range hpas {
		h := &hpas[i]
		pods := &targetPods{}
		for _, spec := range h.Spec.Metrics {
			m := dashboards.HPAMetric{Namespace: h.Namespace, HPA: h.Name}
			var target autoscalingv2.MetricTarget
			switch spec.Type {
			case autoscalingv2.PodsMetricSourceType:
				m.Metric, target = spec.Pods.Metric.Name, spec.Pods.Target
			case autoscalingv2.ObjectMetricSourceType:
				m.Metric, target = spec.Object.Metric.Name, spec.Object.Target
			case autoscalingv2.ExternalMetricSourceType:
				m.Metric, target = spec.External.Metric.Name, spec.External.Target
			default:
				continue // resource metrics come from metrics-server, not the adapter
			}
			m.Target = targetValue(target)
			var why string
			if m.Query, why = query(ctx, env, disc, h, spec, pods); m.Query == "" {
				missing = append(missing, Unrendered{Namespace: h.Namespace, HPA: h.Name, Metric: m.Metric, Reason: why})
				continue
			}
			out = append(out, m)
		}
	}
	// dashboards.ChainDashboard orders the panels itself.
	return out, missing, nil
}

// targetPods are an HPA's scale target's selector and Running pods, read
// on its first Pods metric and kept for the others.
type targetPods struct {
	read bool
	sel  labels.Selector
	pods []string
	why  string
}

func (t *targetPods) get(ctx context.Context, env *kube.Clients, h *autoscalingv2.HorizontalPodAutoscaler) (labels.Selector, []string, string) {
	if t.read {
		return t.sel, t.pods, t.why
	}
	t.read = true
	ref := h.Spec.ScaleTargetRef
	var err error
	if t.sel, err = kube.ScaleSelector(ctx, env.Scales, env.Mapper, h.Namespace, ref); err != nil {
		t.why = fmt.Sprintf("reading the scale of %s %s: %v", ref.Kind, ref.Name, err)
	} else if t.pods, err = runningPods(ctx, env, h.Namespace, t.sel); err != nil {
		t.why = "listing the target's pods: " + err.Error()
	}
	return t.sel, t.pods, t.why
}

// query renders the adapter's query for one metric, or says why it cannot.
func query(ctx context.Context, env *kube.Clients, disc *simulate.Discovery, h *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, target *targetPods) (string, string) {
	var sel labels.Selector
	var pods []string
	if spec.Type == autoscalingv2.PodsMetricSourceType {
		var why string
		if sel, pods, why = target.get(ctx, env, h); why != "" {
			return "", why
		}
	}
	req, err := hpareq.For(h, spec, sel, env.Mapper)
	if err != nil {
		return "", err.Error()
	}
	if disc == nil {
		return "", "the adapter's rules could not be read (run kubectl metricscale doctor)"
	}
	m := disc.Served(req.Resource, req.Metric)
	if m == nil {
		return "", "no rule of the adapter serves it (run kubectl metricscale doctor)"
	}
	objects := req.Objects(pods)
	if req.Type != autoscalingv2.ExternalMetricSourceType && len(objects) == 0 {
		return "", "the scale target has no Running pods"
	}
	q, err := req.Query(m, objects)
	if err != nil {
		return "", err.Error()
	}
	return string(q), ""
}

func targetValue(t autoscalingv2.MetricTarget) float64 {
	switch {
	case t.AverageValue != nil:
		return t.AverageValue.AsApproximateFloat64()
	case t.Value != nil:
		return t.Value.AsApproximateFloat64()
	case t.AverageUtilization != nil:
		return float64(*t.AverageUtilization)
	}
	return 0
}

// runningPods are the names of the Running pods sel matches in ns.
func runningPods(ctx context.Context, env *kube.Clients, ns string, sel labels.Selector) ([]string, error) {
	list, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}
