// Package hpastatus reads what the HPA controller wrote in an HPA's status
// at its last sync: the current value of each metric and the conditions.
// Current and CurrentValue find the status.currentMetrics entry of a metric
// of the spec, matched by type, name, selector and described object;
// Condition and ScalingActive read the conditions. doctor (the value the
// controller read) and migrate (KEDA's value read by the adopted HPA, the
// restored HPA reading again) read an HPA's status only through here.
package hpastatus

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// Current is the value status.currentMetrics holds for the metric of spec:
// the entry of the same type, metric name and selector (and described
// object, for an Object metric), as the controller writes one per entry of
// spec.metrics. nil when its last sync wrote none.
func Current(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) *autoscalingv2.MetricValueStatus {
	for i := range hpa.Status.CurrentMetrics {
		c := &hpa.Status.CurrentMetrics[i]
		if c.Type != spec.Type {
			continue
		}
		switch {
		case c.Pods != nil && spec.Pods != nil && sameMetric(c.Pods.Metric, spec.Pods.Metric):
			return &c.Pods.Current
		case c.Object != nil && spec.Object != nil && sameMetric(c.Object.Metric, spec.Object.Metric) &&
			c.Object.DescribedObject == spec.Object.DescribedObject:
			return &c.Object.Current
		case c.External != nil && spec.External != nil && sameMetric(c.External.Metric, spec.External.Metric):
			return &c.External.Current
		case c.Resource != nil && spec.Resource != nil && c.Resource.Name == spec.Resource.Name:
			return &c.Resource.Current
		case c.ContainerResource != nil && spec.ContainerResource != nil && c.ContainerResource.Name == spec.ContainerResource.Name &&
			c.ContainerResource.Container == spec.ContainerResource.Container:
			return &c.ContainerResource.Current
		}
	}
	return nil
}

// CurrentValue is Current as a number: the average value when the target
// is an average, else the value.
func CurrentValue(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) (float64, bool) {
	cur := Current(hpa, spec)
	switch {
	case cur == nil:
		return 0, false
	case cur.AverageValue != nil:
		return cur.AverageValue.AsApproximateFloat64(), true
	case cur.Value != nil:
		return cur.Value.AsApproximateFloat64(), true
	}
	return 0, false
}

// sameMetric compares metric identifiers by name and selector.
func sameMetric(a, b autoscalingv2.MetricIdentifier) bool {
	return a.Name == b.Name && apiequality.Semantic.DeepEqual(a.Selector, b.Selector)
}

// Condition is the HPA's condition of type t, or nil.
func Condition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) *autoscalingv2.HorizontalPodAutoscalerCondition {
	for i := range hpa.Status.Conditions {
		if hpa.Status.Conditions[i].Type == t {
			return &hpa.Status.Conditions[i]
		}
	}
	return nil
}

// ScalingActive reports whether the controller's last sync computed
// replicas from the metrics (ScalingActive=True).
func ScalingActive(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	c := Condition(hpa, autoscalingv2.ScalingActive)
	return c != nil && c.Status == corev1.ConditionTrue
}
