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

// The controller's defaults for --horizontal-pod-autoscaler-cpu-initialization-period
// and --horizontal-pod-autoscaler-initial-readiness-delay.
const (
	CPUInitializationPeriod       = 5 * time.Minute
	DelayOfInitialReadinessStatus = 30 * time.Second
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
// whether a pod is still in its cpu initialization period).
func Compute(m Metric, pods []corev1.Pod, metrics []metricsv1beta1.PodMetrics, now time.Time) (Value, error) {
	if len(metrics) == 0 {
		return Value{}, fmt.Errorf("no metrics returned from resource metrics API")
	}
	usage, err := usageByPod(metrics, m)
	if err != nil {
		return Value{}, err
	}
	if len(pods) == 0 {
		return Value{}, fmt.Errorf("no pods returned by selector while calculating replica count")
	}
	var used []string
	for i := range pods {
		if counted(&pods[i], usage, m.Resource, now) {
			used = append(used, pods[i].Name)
		}
	}
	if len(used) == 0 {
		return Value{}, fmt.Errorf("did not receive metrics for targeted pods (pods might be unready)")
	}
	var total int64
	for _, p := range used {
		total += usage[p].value
	}
	v := Value{Average: float64(total/int64(len(used))) / 1000, Pods: len(used)}
	if m.Target.Type != autoscalingv2.UtilizationMetricType {
		return v, nil
	}
	requests, err := requestsByPod(pods, m)
	if err != nil {
		return Value{}, err
	}
	var requested int64
	for _, p := range used {
		requested += requests[p]
	}
	if requested == 0 {
		return Value{}, fmt.Errorf("no metrics returned matched known pods")
	}
	v.Utilization = int32(total * 100 / requested)
	return v, nil
}

type podUsage struct {
	value     int64 // milli-units
	timestamp time.Time
	window    time.Duration
}

// usageByPod is each pod's usage of the resource (its container's for a
// ContainerResource metric); a pod lacking the resource for a container
// is left out, as the controller leaves it out.
func usageByPod(metrics []metricsv1beta1.PodMetrics, m Metric) (map[string]podUsage, error) {
	out := make(map[string]podUsage, len(metrics))
	for _, pm := range metrics {
		var sum int64
		found := len(pm.Containers) > 0
		containerFound := false
		for _, c := range pm.Containers {
			if m.Container != "" && c.Name != m.Container {
				continue
			}
			containerFound = true
			q, ok := c.Usage[m.Resource]
			if !ok {
				found = false
				break
			}
			sum += q.MilliValue()
		}
		if m.Container != "" && !containerFound {
			return nil, fmt.Errorf("failed to get container metrics: container %s not present in metrics for pod %s/%s", m.Container, pm.Namespace, pm.Name)
		}
		if found {
			out[pm.Name] = podUsage{value: sum, timestamp: pm.Timestamp.Time, window: pm.Window.Duration}
		}
	}
	return out, nil
}

// counted reports whether the controller uses the pod's sample: not
// deleted, failed or pending, with a sample, and for cpu not unready
// within its initialization period (groupPods).
func counted(pod *corev1.Pod, usage map[string]podUsage, resource corev1.ResourceName, now time.Time) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodPending {
		return false
	}
	u, ok := usage[pod.Name]
	if !ok {
		return false
	}
	if resource != corev1.ResourceCPU {
		return true
	}
	var ready *corev1.PodCondition
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			ready = &pod.Status.Conditions[i]
		}
	}
	if ready == nil || pod.Status.StartTime == nil {
		return false
	}
	if pod.Status.StartTime.Add(CPUInitializationPeriod).After(now) {
		// Within the initialization period: a sample needs the pod ready
		// and one whole window of it collected since it turned so.
		return ready.Status != corev1.ConditionFalse && !u.timestamp.Before(ready.LastTransitionTime.Add(u.window))
	}
	// Afterwards only a pod that has never been ready is left out.
	return !(ready.Status == corev1.ConditionFalse && pod.Status.StartTime.Add(DelayOfInitialReadinessStatus).After(ready.LastTransitionTime.Time))
}

// requestsByPod is each pod's request of the resource, in milli-units: the
// sum over its containers and sidecar (restartable init) containers, or
// the one container's; a container without one is an error, as for the
// controller (calculatePodRequests).
func requestsByPod(pods []corev1.Pod, m Metric) (map[string]int64, error) {
	out := make(map[string]int64, len(pods))
	for _, pod := range pods {
		containers := append([]corev1.Container{}, pod.Spec.Containers...)
		for _, c := range pod.Spec.InitContainers {
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				containers = append(containers, c)
			}
		}
		var sum int64
		for _, c := range containers {
			if m.Container != "" && c.Name != m.Container {
				continue
			}
			q, ok := c.Resources.Requests[m.Resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", m.Resource, c.Name, pod.Name)
			}
			sum += q.MilliValue()
		}
		out[pod.Name] = sum
	}
	return out, nil
}
