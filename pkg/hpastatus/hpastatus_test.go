package hpastatus

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestCurrentValue(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	queueA := &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "a"}}
	queueB := &metav1.LabelSelector{MatchLabels: map[string]string{"queue": "b"}}
	svc := autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"}
	other := autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "api"}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentMetrics: []autoscalingv2.MetricStatus{
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
			Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("150m")}}},
		{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{DescribedObject: svc,
			Metric: autoscalingv2.MetricIdentifier{Name: "hits"}, Current: autoscalingv2.MetricValueStatus{Value: q("10")}}},
		{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
			Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: queueA}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("7")}}},
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU}},
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceMemory,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](62), AverageValue: q("200Mi")}}},
		{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: corev1.ResourceCPU, Container: "app",
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](40), AverageValue: q("20m")}}},
	}}}
	memory := func(t autoscalingv2.MetricTargetType) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
			Target: autoscalingv2.MetricTarget{Type: t}}}
	}
	container := func(name string) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: corev1.ResourceCPU, Container: name, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}}
	}
	tests := []struct {
		name   string
		spec   autoscalingv2.MetricSpec
		want   float64
		wantOK bool
	}{
		{"pods", autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "rps"}}}, 0.15, true},
		{"pods, other name", autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "hits"}}}, 0, false},
		{"object", autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{DescribedObject: svc, Metric: autoscalingv2.MetricIdentifier{Name: "hits"}}}, 10, true},
		{"object, other object", autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{DescribedObject: other, Metric: autoscalingv2.MetricIdentifier{Name: "hits"}}}, 0, false},
		{"external", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: queueA}}}, 7, true},
		{"external, other selector", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "depth", Selector: queueB}}}, 0, false},
		{"same name, other type", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "rps"}}}, 0, false},
		{"resource", autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU}}, 0, false},
		{"resource Utilization: the percentage", memory(autoscalingv2.UtilizationMetricType), 62, true},
		{"resource AverageValue: the average", memory(autoscalingv2.AverageValueMetricType), 200 * 1024 * 1024, true},
		{"container resource", container("app"), 40, true},
		{"container resource, other container", container("sidecar"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CurrentValue(hpa, tt.spec)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("CurrentValue = %g, %v; want %g, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestScalingActive(t *testing.T) {
	tests := []struct {
		name       string
		conditions []autoscalingv2.HorizontalPodAutoscalerCondition
		want       bool
	}{
		{"no conditions yet", nil, false},
		{"true", []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionFalse}, {Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue}}, true},
		{"false", []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetPodsMetric"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hpa := &autoscalingv2.HorizontalPodAutoscaler{Status: autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: tt.conditions}}
			if got := ScalingActive(hpa); got != tt.want {
				t.Errorf("ScalingActive = %v, want %v", got, tt.want)
			}
		})
	}
}
