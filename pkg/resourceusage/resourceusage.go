// Package resourceusage reads an HPA's Resource or ContainerResource metric
// (cpu, memory) from the resource metrics API (metrics.k8s.io) and computes
// its current value as the HPA controller does (k8s.io/kubernetes
// pkg/controller/podautoscaler, replica_calculator.go and
// metrics/client.go, v1.32): the pods' usage in milli-units, left out for
// pods deleted, failed, pending or (cpu) not yet ready, and for a
// Utilization target divided by the same pods' requests.
package resourceusage

import (
	"context"
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

// Metric is the resource, and the container for a ContainerResource
// metric, of one metric of an HPA.
type Metric struct {
	Resource  corev1.ResourceName
	Container string // "" for the whole pod
	Target    autoscalingv2.MetricTarget
}

// MetricOf is spec's Metric; false when spec is neither a Resource nor a
// ContainerResource metric.
func MetricOf(spec autoscalingv2.MetricSpec) (Metric, bool) {
	switch {
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		return Metric{Resource: spec.Resource.Name, Target: spec.Resource.Target}, true
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		return Metric{Resource: spec.ContainerResource.Name, Container: spec.ContainerResource.Container, Target: spec.ContainerResource.Target}, true
	}
	return Metric{}, false
}

// Value is the metric's current value as the controller computes it.
type Value struct {
	// Utilization is the usage as a whole percentage of the requests
	// (rounded down, as the controller's int32); set for a Utilization
	// target only.
	Utilization int32
	// Average is the average usage per pod, in the resource's unit
	// (cores, bytes).
	Average float64
	// Pods is the number of pods whose usage went in.
	Pods int
}

// InTargetTerms is the number the controller compares with the target:
// the utilization for a Utilization target, else the average.
func (v Value) InTargetTerms(t autoscalingv2.MetricTarget) float64 {
	if t.Type == autoscalingv2.UtilizationMetricType {
		return float64(v.Utilization)
	}
	return v.Average
}

// Read lists the pods sel selects in namespace and their metrics, as the
// controller does, and computes m's value at now.
func Read(ctx context.Context, pods corev1client.PodsGetter, metrics metricsclient.PodMetricsesGetter, namespace string, sel labels.Selector, m Metric, now time.Time) (Value, error) {
	opts := metav1.ListOptions{LabelSelector: sel.String()}
	ml, err := metrics.PodMetricses(namespace).List(ctx, opts)
	if err != nil {
		return Value{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %s", apierr.Message(err))
	}
	pl, err := pods.Pods(namespace).List(ctx, opts)
	if err != nil {
		return Value{}, fmt.Errorf("unable to get pods: %s", apierr.Message(err))
	}
	return Compute(m, pl.Items, ml.Items, now)
}

// Compute is m's value from the pods the scale target selects and what
// the resource metrics API answers for them, at now (which decides
// whether a pod is still in its cpu initialization period), or the
// controller's error.
func Compute(m Metric, pods []corev1.Pod, metrics []metricsv1beta1.PodMetrics, now time.Time) (Value, error) {
	return Analyze(m, pods, metrics, now).Value()
}
