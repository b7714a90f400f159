package metricspec

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestNameAndTarget(t *testing.T) {
	target := autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}
	id := autoscalingv2.MetricIdentifier{Name: "qps"}
	tests := []struct {
		spec autoscalingv2.MetricSpec
		want string
	}{
		{autoscalingv2.MetricSpec{Pods: &autoscalingv2.PodsMetricSource{Metric: id, Target: target}}, "qps"},
		{autoscalingv2.MetricSpec{Object: &autoscalingv2.ObjectMetricSource{Metric: id, Target: target}}, "qps"},
		{autoscalingv2.MetricSpec{External: &autoscalingv2.ExternalMetricSource{Metric: id, Target: target}}, "qps"},
		{autoscalingv2.MetricSpec{Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: target}}, "cpu"},
		{autoscalingv2.MetricSpec{ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceMemory, Container: "app", Target: target}}, "memory"},
	}
	for _, tc := range tests {
		got, ok := Target(tc.spec)
		if Name(tc.spec) != tc.want || !ok || *got.AverageUtilization != 50 {
			t.Errorf("%+v: name %q, target %+v %v", tc.spec, Name(tc.spec), got, ok)
		}
	}
	if _, ok := Target(autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType}); ok || Name(autoscalingv2.MetricSpec{}) != "" {
		t.Error("a spec without its source has a name or a target")
	}
}
