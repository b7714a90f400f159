package hpainput

import (
	"errors"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
)

func podValue(name, q string, window *int64) cmv1beta2.MetricValue {
	return cmv1beta2.MetricValue{DescribedObject: corev1.ObjectReference{Kind: "Pod", Name: name}, Value: resource.MustParse(q),
		Timestamp: metav1.NewTime(time.Unix(100, 0)), WindowSeconds: window}
}

// The readings follow the controller's metrics client (metrics/client.go):
// per-pod values with their window (a minute when the API gives none), an
// Object metric's one value, the sum of an External metric's values, and
// its errors for an empty answer.
func TestReadings(t *testing.T) {
	thirty := int64(30)
	p := pods(&cmv1beta2.MetricValueList{Items: []cmv1beta2.MetricValue{podValue("a", "150", nil), podValue("b", "250m", &thirty)}}, nil)
	if p.Err != nil || p.Pods["a"].Value != 150000 || p.Pods["a"].Window != time.Minute || p.Pods["b"].Value != 250 || p.Pods["b"].Window != 30*time.Second {
		t.Errorf("pods: %+v", p)
	}
	if r := pods(&cmv1beta2.MetricValueList{}, nil); r.Err == nil || r.Err.Error() != "no metrics returned from custom metrics API" {
		t.Errorf("empty pods answer: %v", r.Err)
	}
	if r := pods(nil, errors.New("the server could not find the metric m for pods")); r.Err == nil || r.Err.Error() != "unable to fetch metrics from custom metrics API: the server could not find the metric m for pods" {
		t.Errorf("pods error: %v", r.Err)
	}
	if r := object(&cmv1beta2.MetricValueList{Items: []cmv1beta2.MetricValue{podValue("svc", "102312m", nil)}}, nil); r.Err != nil || r.Value != 102312 {
		t.Errorf("object: %+v", r)
	}
	ext := &emv1beta1.ExternalMetricValueList{Items: []emv1beta1.ExternalMetricValue{{Value: resource.MustParse("3")}, {Value: resource.MustParse("4500m")}}}
	if r := external(ext, nil); r.Err != nil || r.Value != 7500 {
		t.Errorf("external: %+v", r)
	}
	if r := external(&emv1beta1.ExternalMetricValueList{}, nil); r.Err == nil || r.Err.Error() != "no metrics returned from external metrics API" {
		t.Errorf("empty external answer: %v", r.Err)
	}
}

// An HPA whose status the controller never wrote has no memory yet.
func TestNeverSynced(t *testing.T) {
	gen := int64(1)
	if !neverSynced(&autoscalingv2.HorizontalPodAutoscaler{}) {
		t.Error("a new HPA counts as synced")
	}
	if neverSynced(&autoscalingv2.HorizontalPodAutoscaler{Status: autoscalingv2.HorizontalPodAutoscalerStatus{ObservedGeneration: &gen}}) {
		t.Error("an HPA with an observed generation counts as never synced")
	}
}
