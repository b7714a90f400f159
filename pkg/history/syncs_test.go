package history

import (
	"context"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// rangeAnswers answers a range query by the series name it reads.
type rangeAnswers map[string]pmodel.Matrix

func (r rangeAnswers) QueryRange(_ context.Context, q string, _, _ time.Time, _ time.Duration) (prom.QueryResult, error) {
	for name, m := range r {
		if strings.Contains(q, name+"{") {
			return prom.QueryResult{Type: pmodel.ValMatrix, Matrix: &m}, nil
		}
	}
	return prom.QueryResult{Type: pmodel.ValMatrix, Matrix: &pmodel.Matrix{}}, nil
}

func samples(at []pmodel.Time, vs ...float64) []pmodel.SamplePair {
	var out []pmodel.SamplePair
	for i, v := range vs {
		out = append(out, pmodel.SamplePair{Timestamp: at[i], Value: pmodel.SampleValue(v)})
	}
	return out
}

// TestSyncs: each sample of the HPA's replicas is a past sync, with each
// spec metric's current value as kube-state-metrics labels it (the
// resource's name, the target's type), in milli-units but utilization in
// percent; a metric without a sample at that time has no value.
func TestSyncs(t *testing.T) {
	at := []pmodel.Time{1_000_000, 1_015_000, 1_030_000}
	answers := rangeAnswers{
		"kube_horizontalpodautoscaler_status_current_replicas": {{Metric: pmodel.Metric{}, Values: samples(at, 2, 2, 3)}},
		"kube_horizontalpodautoscaler_status_target_metric": {
			{Metric: pmodel.Metric{"metric_name": "sim_value", "metric_target_type": "average"}, Values: samples(at, 150, 0.29, 10)},
			{Metric: pmodel.Metric{"metric_name": "cpu", "metric_target_type": "utilization"}, Values: samples(at[:2], 60, 61)},
			{Metric: pmodel.Metric{"metric_name": "cpu", "metric_target_type": "average"}, Values: samples(at, 0.06, 0.061, 0.07)},
		},
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "sim_value"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)}}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}},
		}}}
	past, err := Syncs(context.Background(), answers, hpa, at[0].Time(), at[2].Time(), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(past) != 3 {
		t.Fatalf("%d syncs, want 3: %+v", len(past), past)
	}
	want := []struct {
		replicas int32
		values   map[int]int64
	}{{2, map[int]int64{0: 150000, 1: 60}}, {2, map[int]int64{0: 290, 1: 61}}, {3, map[int]int64{0: 10000}}}
	for i, w := range want {
		p := past[i]
		if !p.At.Equal(at[i].Time()) || p.Replicas != w.replicas || len(p.Values) != len(w.values) {
			t.Fatalf("sync %d: %+v, want %+v", i, p, w)
		}
		for k, v := range w.values {
			if p.Values[k] != v {
				t.Errorf("sync %d metric %d: %d, want %d", i, k, p.Values[k], v)
			}
		}
	}
	if _, err := Syncs(context.Background(), rangeAnswers{}, hpa, at[0].Time(), at[2].Time(), 15*time.Second); err == nil || !strings.Contains(err.Error(), "no kube_horizontalpodautoscaler_status_current_replicas of ns/web") {
		t.Errorf("without series: %v", err)
	}
}
