package decision

import (
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func podsMetric(name string, average int64) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewMilliQuantity(average, resource.DecimalSI)}}}
}

func newHPA(minR, maxR int32, metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: maxR, Metrics: metrics}}
}

// runningPods returns n ready pods named test-pod-0...
func runningPods(n int) []corev1.Pod {
	return calcCase{current: int32(n)}.pods()
}

// values gives test-pod-i the i-th value (milli-units).
func values(vs ...int64) map[string]PodMetric {
	return calcCase{levels: vs}.metrics()
}

// TestInterlokHolds is the Interlok walkthrough's HPA: MessageMetrics 150
// against an AverageValue of 100 on one of two pods; the other has no
// series. calcPlainMetricReplicas: ratio 1.5 proposes a scale-up, the
// missing pod counted as 0 gives 0.75, the direction flips, 2 stays.
func TestInterlokHolds(t *testing.T) {
	in := Input{HPA: newHPA(1, 5, podsMetric("MessageMetrics", 100000)), SpecReplicas: 2, StatusReplicas: 2,
		Pods: runningPods(2), Readings: []Reading{{Pods: values(150000)}}, Now: time.Now()}
	d := Decide(in, DefaultConfig())
	m := d.Metrics[0]
	if d.Desired != 2 || d.Rescale || m.Rule != RuleDirectionFlips || m.Ratio != 1.5 || m.NewRatio != 0.75 || *m.MissingAs != 0 {
		t.Fatalf("desired %d rescale %v, metric %+v", d.Desired, d.Rescale, m)
	}
	if got := strings.Join(m.Groups.Missing, ","); got != "test-pod-1" || m.Groups.Ready != 1 {
		t.Errorf("groups %+v", *m.Groups)
	}
	if d.ScalingActive.Reason != "ValidMetricFound" || d.ScalingActive.Message != "the HPA was able to successfully calculate a replica count from pods metric MessageMetrics" {
		t.Errorf("ScalingActive %+v", d.ScalingActive)
	}
}

// TestClampNoBehavior runs the controller's TestConvertDesiredReplicasWithRules
// cases (horizontal_test.go) through clamp.
func TestClampNoBehavior(t *testing.T) {
	tests := []struct {
		current, desired, minR, maxR, want int32
		reason                             string
	}{
		{5, 7, 3, 8, 7, "DesiredWithinRange"},
		{3, 1, 2, 8, 2, "TooFewReplicas"},
		{1, 0, 0, 10, 0, "DesiredWithinRange"},
		{20, 1000, 1, 10, 10, "TooManyReplicas"},
		{3, 1000, 1, 2000, 6, "ScaleUpLimit"},
	}
	for _, tc := range tests {
		got, reason, _ := clamp(tc.current, tc.desired, tc.minR, tc.maxR)
		if got != tc.want || reason != tc.reason {
			t.Errorf("clamp(%d, %d, %d, %d) = %d %s, want %d %s", tc.current, tc.desired, tc.minR, tc.maxR, got, reason, tc.want, tc.reason)
		}
	}
}

// TestPolicyLimits runs the controller's TestCalculateScaleUpLimitWithScalingRules
// and TestCalculateScaleDownLimitWithBehaviors (horizontal_test.go).
func TestPolicyLimits(t *testing.T) {
	rules := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](300), SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 60}, {Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}}
	now := time.Now()
	if got := scaleUpLimit(1, nil, nil, rules, now); got != 2 {
		t.Errorf("scale-up limit %d, want 2", got)
	}
	if got := scaleDownLimit(5, nil, nil, rules, now); got != 3 {
		t.Errorf("scale-down limit %d, want 3", got)
	}
	// Replicas added within the period count against it: from 4 with 2
	// added 30s ago the period started at 2, and Pods 2 allows 4.
	up := []ScaleEvent{{Change: 2, At: now.Add(-30 * time.Second)}, {Change: 5, At: now.Add(-2 * time.Minute)}}
	if got := scaleUpLimit(4, up, nil, rules, now); got != 3 {
		t.Errorf("scale-up limit after events %d, want 3 (min of 2+2 and ceil(2×1.5))", got)
	}
}

// TestDecide walks reconcileAutoscaler's steps (horizontal.go) on one HPA.
func TestDecide(t *testing.T) {
	now := time.Now()
	qps := podsMetric("qps", 10000)
	twoMetrics := newHPA(1, 10, qps, podsMetric("latency", 100))
	disabled := newHPA(1, 10, qps)
	disabled.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)}}
	podsMin := newHPA(1, 10, qps)
	podsMin.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect),
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}, {Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}}}
	percentUp := newHPA(1, 20, qps)
	percentUp.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}}}
	window60 := newHPA(1, 10, qps)
	window60.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}}

	tests := []struct {
		name     string
		hpa      *autoscalingv2.HorizontalPodAutoscaler
		current  int32
		readings []Reading
		history  History
		want     int32
		limit    string // ScalingLimited's reason
		able     string // AbleToScale's reason
		winner   int
	}{
		{name: "within tolerance", hpa: newHPA(1, 10, qps), current: 2, readings: []Reading{{Pods: values(10500, 10500)}}, want: 2, limit: "DesiredWithinRange", able: "ReadyForNewScale"},
		{name: "just outside tolerance", hpa: newHPA(1, 10, qps), current: 2, readings: []Reading{{Pods: values(11100, 11100)}}, want: 3, limit: "DesiredWithinRange", able: "ReadyForNewScale"},
		{name: "maxReplicas", hpa: newHPA(1, 5, qps), current: 4, readings: []Reading{{Pods: values(30000, 30000, 30000, 30000)}}, want: 5, limit: "TooManyReplicas", able: "ReadyForNewScale"},
		{name: "minReplicas", hpa: newHPA(3, 10, qps), current: 4, readings: []Reading{{Pods: values(1000, 1000, 1000, 1000)}}, want: 3, limit: "TooFewReplicas", able: "ReadyForNewScale"},
		{name: "scale-up limit without behavior", hpa: newHPA(1, 100, qps), current: 2, readings: []Reading{{Pods: values(100000, 100000)}}, want: 4, limit: "ScaleUpLimit", able: "ReadyForNewScale"},
		{name: "first metric wins", hpa: twoMetrics, current: 3, readings: []Reading{{Pods: values(20000, 20000, 20000)}, {Pods: values(150, 150, 150)}}, want: 6, winner: 0, limit: "DesiredWithinRange", able: "ReadyForNewScale"},
		{name: "second metric wins", hpa: twoMetrics, current: 3, readings: []Reading{{Pods: values(12000, 12000, 12000)}, {Pods: values(190, 190, 190)}}, want: 6, winner: 1, limit: "DesiredWithinRange", able: "ReadyForNewScale"},
		{name: "scale-down held by the 5m window", hpa: newHPA(1, 10, qps), current: 4, readings: []Reading{{Pods: values(1000, 1000, 1000, 1000)}},
			history: History{Recommendations: []Recommendation{{4, now.Add(-2 * time.Minute)}}}, want: 4, limit: "DesiredWithinRange", able: "ScaleDownStabilized"},
		{name: "window over", hpa: newHPA(1, 10, qps), current: 4, readings: []Reading{{Pods: values(1000, 1000, 1000, 1000)}},
			history: History{Recommendations: []Recommendation{{4, now.Add(-6 * time.Minute)}}}, want: 1, limit: "DesiredWithinRange", able: "ReadyForNewScale"},
		{name: "60s window holds", hpa: window60, current: 4, readings: []Reading{{Pods: values(1000, 1000, 1000, 1000)}},
			history: History{Recommendations: []Recommendation{{3, now.Add(-30 * time.Second)}}}, want: 3, limit: "DesiredWithinRange", able: "ScaleDownStabilized"},
		{name: "scaleDown Disabled", hpa: disabled, current: 4, readings: []Reading{{Pods: values(1000, 1000, 1000, 1000)}}, want: 4, limit: "ScaleDownLimit", able: "ReadyForNewScale"},
		{name: "scaleDown Pods policy with selectPolicy Min", hpa: podsMin, current: 6, readings: []Reading{{Pods: values(1000, 1000, 1000, 1000, 1000, 1000)}}, want: 5, limit: "ScaleDownLimit", able: "ReadyForNewScale"},
		{name: "scaleUp Percent policy", hpa: percentUp, current: 4, readings: []Reading{{Pods: values(40000, 40000, 40000, 40000)}}, want: 6, limit: "ScaleUpLimit", able: "ReadyForNewScale"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{HPA: tc.hpa, SpecReplicas: tc.current, StatusReplicas: tc.current, Pods: runningPods(int(tc.current)), Readings: tc.readings, History: tc.history, Now: now}
			d := Decide(in, DefaultConfig())
			if d.Desired != tc.want || d.ScalingLimit.Reason != tc.limit || d.AbleToScale.Reason != tc.able || d.Winner != tc.winner {
				t.Errorf("desired %d, limited %s, able %s, winner %d; want %d, %s, %s, %d (proposed %d, stabilized %d)",
					d.Desired, d.ScalingLimit.Reason, d.AbleToScale.Reason, d.Winner, tc.want, tc.limit, tc.able, tc.winner, d.Proposed, d.Stabilized)
			}
		})
	}
}

// TestInvalidMetrics follows computeReplicasForMetrics: an invalid metric
// beside a valid one that scales up does not stop the scale-up; beside one
// that would scale down it does.
func TestInvalidMetrics(t *testing.T) {
	hpa := newHPA(1, 10, podsMetric("qps", 10000), podsMetric("broken", 100))
	broken := Reading{Err: errNoMetrics}
	up := Decide(Input{HPA: hpa, SpecReplicas: 2, StatusReplicas: 2, Pods: runningPods(2), Readings: []Reading{{Pods: values(20000, 20000)}, broken}, Now: time.Now()}, DefaultConfig())
	if up.Desired != 4 || up.Err == nil || !strings.Contains(up.Err.Error(), "invalid metrics (1 invalid out of 2)") {
		t.Errorf("scale-up with an invalid metric: desired %d, err %v", up.Desired, up.Err)
	}
	down := Decide(Input{HPA: hpa, SpecReplicas: 2, StatusReplicas: 2, Pods: runningPods(2), Readings: []Reading{{Pods: values(1000, 1000)}, broken}, Now: time.Now()}, DefaultConfig())
	if down.Desired != 2 || down.Rescale || down.ScalingActive.Reason != "FailedGetPodsMetric" {
		t.Errorf("scale-down with an invalid metric: desired %d, ScalingActive %+v", down.Desired, down.ScalingActive)
	}
}

// TestSkipped follows reconcileAutoscaler's first branches.
func TestSkipped(t *testing.T) {
	hpa := newHPA(2, 5, podsMetric("qps", 10000))
	for _, tc := range []struct {
		current, want int32
		skipped       string
	}{{0, 0, "scaling is disabled"}, {7, 5, "above maxReplicas"}, {1, 2, "below minReplicas"}} {
		d := Decide(Input{HPA: hpa, SpecReplicas: tc.current, Now: time.Now()}, DefaultConfig())
		if d.Desired != tc.want || !strings.Contains(d.Skipped, tc.skipped) {
			t.Errorf("current %d: desired %d, skipped %q", tc.current, d.Desired, d.Skipped)
		}
	}
}

// TestRecordKeepsTheWindow: the recommendations Decide reads are those of
// the window; scale events those of the longest policy period.
func TestRecordKeepsTheWindow(t *testing.T) {
	hpa := newHPA(1, 10, podsMetric("qps", 10000))
	start := time.Now()
	var h History
	for i := 0; i < 80; i++ { // 80 syncs of 15s: 20 minutes
		now := start.Add(time.Duration(i) * 15 * time.Second)
		d := Decision{Proposed: int32(i % 7), Current: 3, Desired: 3}
		h = Record(h, hpa, d, DefaultConfig(), now)
	}
	if n := len(h.Recommendations); n != 21 {
		t.Errorf("%d recommendations kept, want 21 (5 minutes of 15s syncs, both ends)", n)
	}
}

func TestExplain(t *testing.T) {
	now := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	interlok := newHPA(1, 5, podsMetric("MessageMetrics", 100000))
	capped := newHPA(1, 5, podsMetric("qps", 10000))
	tests := []struct {
		name string
		hpa  *autoscalingv2.HorizontalPodAutoscaler
		in   Input
		want string
	}{
		{"direction flips", interlok, Input{SpecReplicas: 2, StatusReplicas: 2, Pods: runningPods(2), Readings: []Reading{{Pods: values(150000)}}},
			"holds 2: MessageMetrics reads 150 against 100 per pod on the 1 pod with a value (ratio 1.5, up); counting the 1 pod without a value as 0 gives 0.75, the direction flips, so the controller keeps 2"},
		{"unready pod", interlok, Input{SpecReplicas: 2, StatusReplicas: 2, Pods: calcCase{current: 2, phases: []corev1.PodPhase{corev1.PodRunning, corev1.PodPending}}.pods(),
			Readings: []Reading{{Pods: values(150000, 150000)}}},
			"holds 2: MessageMetrics reads 150 against 100 per pod on the 1 pod Ready with a value (ratio 1.5, up); counting the 1 unready pod as 0 gives 0.75, the direction flips, so the controller keeps 2"},
		{"maxReplicas", capped, Input{SpecReplicas: 4, StatusReplicas: 4, Pods: runningPods(4), Readings: []Reading{{Pods: values(17000, 17000, 17000, 17000)}}},
			"scales 4 → 5: qps reads 17 against 10 per pod on the 4 pods with a value (ratio 1.7, up), which proposes 7; wants 7, limited to 5 by maxReplicas"},
		{"window", capped, Input{SpecReplicas: 4, StatusReplicas: 4, Pods: runningPods(4), Readings: []Reading{{Pods: values(5000, 5000, 5000, 5000)}},
			History: History{Recommendations: []Recommendation{{4, now.Add(-time.Minute)}}, KnownSince: now.Add(-2 * time.Minute)}},
			"holds 4: qps reads 5 against 10 per pod on the 4 pods with a value (ratio 0.5, down), which proposes 2; wants 2, held at 4 by a recommendation of the last 5m0s (the stabilization window); the controller's earlier recommendations are not known: a higher one may hold the replicas until 14:03:00 at the latest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.HPA, tc.in.Now = tc.hpa, now
			got := Explain(tc.hpa, Decide(tc.in, DefaultConfig()), DefaultConfig())
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// An HPA without metrics gives no proposal and keeps its replicas.
func TestNoMetrics(t *testing.T) {
	d := Decide(Input{HPA: newHPA(1, 5), SpecReplicas: 2, StatusReplicas: 2, Now: time.Now()}, DefaultConfig())
	if d.Desired != 2 || d.Rescale || d.Err == nil {
		t.Errorf("desired %d, rescale %v, err %v", d.Desired, d.Rescale, d.Err)
	}
}
