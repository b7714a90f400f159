package decision

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
)

// PastSync is what the HPA's status held after one of the controller's
// past syncs, as kube-state-metrics exports it: the replicas and each
// metric's current value.
type PastSync struct {
	At       time.Time
	Replicas int32
	// Values are by index in the HPA's spec.metrics, in milli-units, or in
	// percent for a Utilization target; a metric without one was invalid.
	Values map[int]int64
}

// Recommend recomputes the recommendation the controller recorded at each
// past sync (horizontal.go stabilizeRecommendation records the largest
// proposal before stabilization): the proposals of Decide from the values
// the status held, taking each of the replicas as a Ready pod that read the
// metric's average (the status keeps no per-pod values). A sync at which
// the controller could not compute replicas recorded nothing.
func Recommend(hpa *autoscalingv2.HorizontalPodAutoscaler, past []PastSync, cfg Config) []Recommendation {
	var out []Recommendation
	for _, ps := range past {
		if ps.Replicas <= 0 || len(ps.Values) == 0 {
			continue
		}
		in := pastInput(hpa, ps)
		d := Decide(in, cfg)
		if d.Skipped != "" || d.Err != nil || d.Winner < 0 {
			continue
		}
		out = append(out, Recommendation{Replicas: d.Proposed, At: ps.At})
	}
	return out
}

// Window is how far back the controller's recommendations count for hpa:
// the scale-down stabilization window without a behavior, the longer of
// the behavior's two windows with one.
func Window(hpa *autoscalingv2.HorizontalPodAutoscaler, cfg Config) time.Duration {
	b := hpa.Spec.Behavior
	if b == nil {
		return cfg.DownscaleStabilizationWindow
	}
	b = withDefaults(b, cfg.DownscaleStabilizationWindow)
	return time.Duration(max(*b.ScaleUp.StabilizationWindowSeconds, *b.ScaleDown.StabilizationWindowSeconds)) * time.Second
}

// Remember is the controller's memory of hpa at now, recomputed from its
// past syncs over the window (Recommend): complete when they reach back
// over the whole window or to the HPA's creation, when the controller's
// first sync recorded the replicas it found
// (horizontal.go recordInitialRecommendation); otherwise known from the
// first of them on. A controller restart within the window, which forgets
// everything, is not seen here.
func Remember(hpa *autoscalingv2.HorizontalPodAutoscaler, past []PastSync, step time.Duration, cfg Config, now time.Time) History {
	window := Window(hpa, cfg)
	h := History{Recommendations: Recommend(hpa, past, cfg), KnownSince: now}
	// Before its first sync the HPA's status has no replicas.
	for len(past) > 0 && past[0].Replicas <= 0 {
		past = past[1:]
	}
	if len(past) == 0 {
		return h
	}
	first := past[0]
	created := hpa.CreationTimestamp.Time
	switch {
	case !created.IsZero() && !created.Before(now.Add(-window)) && !first.At.After(created.Add(3*step)):
		initial := Recommendation{Replicas: first.Replicas, At: created}
		h.Recommendations = append([]Recommendation{initial}, h.Recommendations...)
		h.KnownSince = time.Time{}
	case !first.At.After(now.Add(-window).Add(step)):
		h.KnownSince = time.Time{}
	default:
		h.KnownSince = first.At
	}
	return h
}

// pastRequest is each pod's request in pastInput: a utilization in percent
// reads as that many hundredths of it.
const pastRequest = 100_000

// pastInput is the sync's input with every pod Ready long before, reading
// the average.
func pastInput(hpa *autoscalingv2.HorizontalPodAutoscaler, ps PastSync) Input {
	long := metav1.NewTime(ps.At.Add(-time.Hour))
	containers := pastContainers(hpa)
	in := Input{HPA: hpa, SpecReplicas: ps.Replicas, StatusReplicas: ps.Replicas, Now: ps.At}
	for i := range ps.Replicas {
		in.Pods = append(in.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i)},
			Spec: corev1.PodSpec{Containers: containers},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &long,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: long}}}})
	}
	for i, spec := range hpa.Spec.Metrics {
		v, ok := ps.Values[i]
		if !ok {
			in.Readings = append(in.Readings, Reading{Err: fmt.Errorf("no value in the status")})
			continue
		}
		in.Readings = append(in.Readings, pastReading(spec, v, len(containers), in.Pods, ps))
	}
	return in
}

// pastContainers are the containers of pastInput's pods: one for each
// container a ContainerResource metric names (one when none does), each
// requesting pastRequest of cpu and memory.
func pastContainers(hpa *autoscalingv2.HorizontalPodAutoscaler) []corev1.Container {
	request := corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(pastRequest, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewMilliQuantity(pastRequest, resource.DecimalSI)}
	seen := map[string]bool{}
	var out []corev1.Container
	for _, m := range hpa.Spec.Metrics {
		if m.ContainerResource != nil && !seen[m.ContainerResource.Container] {
			seen[m.ContainerResource.Container] = true
			out = append(out, corev1.Container{Name: m.ContainerResource.Container, Resources: corev1.ResourceRequirements{Requests: request}})
		}
	}
	if len(out) == 0 {
		out = append(out, corev1.Container{Name: "app", Resources: corev1.ResourceRequirements{Requests: request}})
	}
	return out
}

// pastReading is one metric's reading from its average (or value), over
// pods of containers containers.
func pastReading(spec autoscalingv2.MetricSpec, v int64, containers int, pods []corev1.Pod, ps PastSync) Reading {
	switch spec.Type {
	case autoscalingv2.ObjectMetricSourceType:
		return Reading{Value: v}
	case autoscalingv2.ExternalMetricSourceType:
		if t, _ := metricspec.Target(spec); t.Type == autoscalingv2.AverageValueMetricType {
			return Reading{Value: v * int64(ps.Replicas)} // the status keeps the total over the replicas
		}
		return Reading{Value: v}
	}
	if t, _ := metricspec.Target(spec); t.Type == autoscalingv2.UtilizationMetricType {
		// The percent of the requests: of the pod's containers for a
		// Resource metric, of the one container for a ContainerResource.
		if spec.Type == autoscalingv2.ResourceMetricSourceType {
			v *= int64(containers)
		}
		v = v * pastRequest / 100
	}
	r := Reading{Pods: map[string]PodMetric{}}
	for _, p := range pods {
		r.Pods[p.Name] = PodMetric{Value: v, Timestamp: ps.At, Window: time.Minute}
	}
	return r
}
