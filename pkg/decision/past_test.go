package decision

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func utilizationMetric(r corev1.ResourceName, percent int32, container string) autoscalingv2.MetricSpec {
	t := autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)}
	if container != "" {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
			ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: r, Container: container, Target: t}}
	}
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: r, Target: t}}
}

func externalAverage(name string, average int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewMilliQuantity(average, resource.DecimalSI)}}}
}

// TestRecommend: each past sync's recommendation is the largest proposal
// calcPlainMetricReplicas and its siblings make of the status's averages
// on that many Ready pods (replica_calculator.go), within the tolerance
// the replicas themselves; a sync without values recorded nothing.
func TestRecommend(t *testing.T) {
	at := time.Unix(1000, 0)
	tests := []struct {
		name     string
		hpa      *autoscalingv2.HorizontalPodAutoscaler
		replicas int32
		values   map[int]int64
		want     []int32
	}{
		{"pods average below the target", newHPA(1, 10, podsMetric("m", 100000)), 3, map[int]int64{0: 10000}, []int32{1}},
		{"pods average above the target", newHPA(1, 10, podsMetric("m", 100000)), 2, map[int]int64{0: 150000}, []int32{3}},
		{"within the tolerance", newHPA(1, 10, podsMetric("m", 100000)), 4, map[int]int64{0: 108000}, []int32{4}},
		{"cpu utilization", newHPA(1, 10, utilizationMetric(corev1.ResourceCPU, 50, "")), 2, map[int]int64{0: 60}, []int32{3}},
		{"container cpu utilization", newHPA(1, 10, utilizationMetric(corev1.ResourceCPU, 50, "web"), utilizationMetric(corev1.ResourceMemory, 80, "")), 2,
			map[int]int64{0: 100, 1: 40}, []int32{4}},
		{"external average over the replicas", newHPA(1, 10, externalAverage("queue", 30000)), 1, map[int]int64{0: 90000}, []int32{3}},
		{"two metrics, the larger", newHPA(1, 10, podsMetric("a", 100000), podsMetric("b", 10000)), 2, map[int]int64{0: 50000, 1: 30000}, []int32{6}},
		{"no values", newHPA(1, 10, podsMetric("m", 100000)), 2, map[int]int64{}, nil},
	}
	for _, tc := range tests {
		got := Recommend(tc.hpa, []PastSync{{At: at, Replicas: tc.replicas, Values: tc.values}}, DefaultConfig())
		var replicas []int32
		for _, r := range got {
			if !r.At.Equal(at) {
				t.Errorf("%s: recommendation at %s, want %s", tc.name, r.At, at)
			}
			replicas = append(replicas, r.Replicas)
		}
		if len(replicas) != len(tc.want) || (len(replicas) > 0 && replicas[0] != tc.want[0]) {
			t.Errorf("%s: recommended %v, want %v", tc.name, replicas, tc.want)
		}
	}
}

// TestRecommendIsDecide: where every pod read the same value, the
// recommendation recomputed from the average is the one Decide proposes
// from the pods themselves.
func TestRecommendIsDecide(t *testing.T) {
	hpa := newHPA(1, 20, podsMetric("m", 100000))
	for _, n := range []int{1, 2, 3, 5, 8} {
		for _, v := range []int64{5000, 50000, 95000, 111000, 150000, 400000} {
			levels := make([]int64, n)
			for i := range levels {
				levels[i] = v
			}
			in := Input{HPA: hpa, SpecReplicas: int32(n), StatusReplicas: int32(n), Pods: runningPods(n), Readings: []Reading{{Pods: values(levels...)}}, Now: time.Now()}
			want := Decide(in, DefaultConfig()).Proposed
			got := Recommend(hpa, []PastSync{{At: in.Now, Replicas: int32(n), Values: map[int]int64{0: v}}}, DefaultConfig())
			if len(got) != 1 || got[0].Replicas != want {
				t.Errorf("%d pods at %d: recommended %v, Decide proposes %d", n, v, got, want)
			}
		}
	}
}

// TestRemember: the memory recomputed from past syncs is complete when
// they reach back over the window, or to the HPA's creation (then with the
// replicas the first sync found, recordInitialRecommendation); otherwise it
// is known from the first sync on, and Decide says until when a scale-down
// may be held.
func TestRemember(t *testing.T) {
	now := time.Unix(10_000, 0)
	step := 15 * time.Second
	hpa := newHPA(1, 10, podsMetric("m", 100000)) // the default 5m window
	syncs := func(from time.Time, replicas int32, average int64) []PastSync {
		var out []PastSync
		for at := from; !at.After(now); at = at.Add(step) {
			out = append(out, PastSync{At: at, Replicas: replicas, Values: map[int]int64{0: average}})
		}
		return out
	}
	cfg := DefaultConfig()

	created := hpa.DeepCopy()
	created.CreationTimestamp.Time = now.Add(-time.Minute)
	// kube-state-metrics exports the status from the HPA's creation: 0
	// replicas until the controller's first sync.
	beforeSync := PastSync{At: now.Add(-time.Minute), Replicas: 0, Values: map[int]int64{}}
	h := Remember(created, append([]PastSync{beforeSync}, syncs(now.Add(-time.Minute+10*time.Second), 3, 10000)...), step, cfg, now)
	if !h.KnownSince.IsZero() || len(h.Recommendations) == 0 || h.Recommendations[0] != (Recommendation{3, created.CreationTimestamp.Time}) {
		t.Errorf("created a minute ago: %+v", h)
	}
	in := Input{HPA: created, SpecReplicas: 3, StatusReplicas: 3, Pods: runningPods(3), Readings: []Reading{{Pods: values(10000, 10000, 10000)}}, Now: now, History: h}
	if d := Decide(in, cfg); d.Desired != 3 || !d.WindowUnknownUntil.IsZero() {
		t.Errorf("created a minute ago: desired %d (the first sync's 3 holds), unknown until %s", d.Desired, d.WindowUnknownUntil)
	}

	old := hpa.DeepCopy()
	old.CreationTimestamp.Time = now.Add(-time.Hour)
	if h := Remember(old, syncs(now.Add(-6*time.Minute), 3, 10000), step, cfg, now); !h.KnownSince.IsZero() {
		t.Errorf("syncs over the whole window: known since %s", h.KnownSince)
	}
	h = Remember(old, syncs(now.Add(-2*time.Minute), 3, 10000), step, cfg, now)
	if want := now.Add(-2 * time.Minute); !h.KnownSince.Equal(want) {
		t.Errorf("syncs over two minutes: known since %s, want %s", h.KnownSince, want)
	}
	in.HPA, in.History = old, h
	if d := Decide(in, cfg); d.WindowUnknownUntil != now.Add(3*time.Minute) {
		t.Errorf("syncs over two minutes: unknown until %s, want %s", d.WindowUnknownUntil, now.Add(3*time.Minute))
	}
}
