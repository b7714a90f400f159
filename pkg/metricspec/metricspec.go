// Package metricspec reads the parts every command names of one metric of
// an HPA's spec.metrics, whatever its type: its name and its target.
package metricspec

import autoscalingv2 "k8s.io/api/autoscaling/v2"

// Name is the metric's name: a Pods, Object or External metric's, or a
// Resource or ContainerResource metric's resource (cpu, memory); "" for a
// spec without its source.
func Name(spec autoscalingv2.MetricSpec) string {
	switch {
	case spec.Pods != nil:
		return spec.Pods.Metric.Name
	case spec.Object != nil:
		return spec.Object.Metric.Name
	case spec.External != nil:
		return spec.External.Metric.Name
	case spec.Resource != nil:
		return string(spec.Resource.Name)
	case spec.ContainerResource != nil:
		return string(spec.ContainerResource.Name)
	}
	return ""
}

// Target is the metric's target; false for a spec without its source.
func Target(spec autoscalingv2.MetricSpec) (autoscalingv2.MetricTarget, bool) {
	switch {
	case spec.Pods != nil:
		return spec.Pods.Target, true
	case spec.Object != nil:
		return spec.Object.Target, true
	case spec.External != nil:
		return spec.External.Target, true
	case spec.Resource != nil:
		return spec.Resource.Target, true
	case spec.ContainerResource != nil:
		return spec.ContainerResource.Target, true
	}
	return autoscalingv2.MetricTarget{}, false
}
