package decision

import (
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// calcCase is a case of the controller's replica_calculator_test.go, in
// its terms: pods test-pod-0.. with two containers each, ready, running and
// started long ago unless said otherwise.
type calcCase struct {
	name      string // the controller's test function
	current   int32
	want      int32
	readiness []corev1.ConditionStatus
	phases    []corev1.PodPhase
	deleting  []bool
	// requests are each pod's request per container (milli-cpu); levels
	// each pod's usage per container (resource metrics) or the pod's value
	// (pods metrics); a pod past len(levels) has none.
	requests []int64
	levels   []int64
	// utilization is the target of a cpu metric; targetUsage of a pods
	// metric when it is 0.
	utilization     int32
	targetUsage     int64
	wantUsage       int64
	wantUtilization int64
}

func (c calcCase) pods() []corev1.Pod {
	n := max(int(c.current), len(c.phases))
	var pods []corev1.Pod
	for i := 0; i < n; i++ {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("test-pod-%d", i)}}
		p.Status.Phase = corev1.PodRunning
		if i < len(c.phases) {
			p.Status.Phase = c.phases[i]
		}
		ready := corev1.ConditionTrue
		if i < len(c.readiness) {
			ready = c.readiness[i]
		}
		p.Status.StartTime = &metav1.Time{}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}
		if i < len(c.deleting) && c.deleting[i] {
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
		p.Spec.Containers = []corev1.Container{{Name: "container1"}, {Name: "container2"}}
		if i < len(c.requests) {
			for j := range p.Spec.Containers {
				p.Spec.Containers[j].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(c.requests[i], resource.DecimalSI)}
			}
		}
		pods = append(pods, p)
	}
	return pods
}

func (c calcCase) metrics() map[string]PodMetric {
	m := map[string]PodMetric{}
	for i, l := range c.levels {
		if c.utilization > 0 {
			l *= 2 // two containers
		}
		m[fmt.Sprintf("test-pod-%d", i)] = PodMetric{Value: l, Timestamp: time.Now(), Window: time.Minute}
	}
	return m
}

// TestReplicaCalculator runs cases of the controller's
// replica_calculator_test.go (Kubernetes 1.32) through the ported
// calcPlainMetricReplicas and GetResourceReplicas.
func TestReplicaCalculator(t *testing.T) {
	ready, unready := corev1.ConditionTrue, corev1.ConditionFalse
	running, failed := corev1.PodRunning, corev1.PodFailed
	cpu1 := []int64{1000, 1000, 1000, 1000, 1000}
	tests := []calcCase{
		{name: "TestReplicaCalcScaleUp", current: 3, want: 5, requests: cpu1, levels: []int64{300, 500, 700}, utilization: 30, wantUtilization: 50, wantUsage: 1000},
		{name: "TestReplicaCalcScaleUpUnreadyLessScale", current: 3, want: 4, readiness: []corev1.ConditionStatus{unready, ready, ready}, requests: cpu1, levels: []int64{300, 500, 700}, utilization: 30, wantUtilization: 60, wantUsage: 1200},
		{name: "TestReplicaCalcScaleUpUnreadyNoScale", current: 3, want: 3, readiness: []corev1.ConditionStatus{ready, unready, unready}, requests: cpu1, levels: []int64{400, 500, 700}, utilization: 30, wantUtilization: 40, wantUsage: 800},
		{name: "TestReplicaCalcScaleUpIgnoresFailedPods", current: 2, want: 4, readiness: []corev1.ConditionStatus{ready, ready, unready, unready}, phases: []corev1.PodPhase{running, running, failed, failed}, requests: cpu1, levels: []int64{500, 700}, utilization: 30, wantUtilization: 60, wantUsage: 1200},
		{name: "TestReplicaCalcScaleUpIgnoresDeletionPods", current: 2, want: 4, readiness: []corev1.ConditionStatus{ready, ready, unready, unready}, phases: []corev1.PodPhase{running, running, running, running}, deleting: []bool{false, false, true, true}, requests: cpu1, levels: []int64{500, 700}, utilization: 30, wantUtilization: 60, wantUsage: 1200},
		{name: "TestReplicaCalcScaleDown", current: 5, want: 3, requests: cpu1, levels: []int64{100, 300, 500, 250, 250}, utilization: 50, wantUtilization: 28, wantUsage: 560},
		{name: "TestReplicaCalcMissingMetricsNoChangeEq", current: 2, want: 2, requests: cpu1, levels: []int64{1000}, utilization: 100, wantUtilization: 100, wantUsage: 2000},
		{name: "TestReplicaCalcMissingMetricsNoChangeGt", current: 2, want: 2, requests: cpu1, levels: []int64{1900}, utilization: 100, wantUtilization: 190, wantUsage: 3800},
		{name: "TestReplicaCalcMissingMetricsNoChangeLt", current: 2, want: 2, requests: cpu1, levels: []int64{600}, utilization: 100, wantUtilization: 60, wantUsage: 1200},
		{name: "TestReplicaCalcMissingMetricsUnreadyScaleUp", current: 3, want: 4, readiness: []corev1.ConditionStatus{unready, ready, ready}, requests: cpu1, levels: []int64{100, 2000}, utilization: 50, wantUtilization: 200, wantUsage: 4000},
		{name: "TestReplicaCalcMissingMetricsScaleDownTargetOver100", current: 4, want: 2, readiness: []corev1.ConditionStatus{unready, ready, ready, ready}, requests: []int64{1000, 1000, 2000, 2000}, levels: []int64{200, 100, 100}, utilization: 300, wantUtilization: 6, wantUsage: 200},
		{name: "TestReplicaCalcDuringRollingUpdateWithMaxSurge", current: 2, want: 2, phases: []corev1.PodPhase{running, running, running}, requests: cpu1, levels: []int64{100, 100}, utilization: 50, wantUtilization: 10, wantUsage: 200},
		{name: "TestReplicaCalcScaleUpCM", current: 3, want: 4, levels: []int64{20000, 10000, 30000}, targetUsage: 15000, wantUsage: 20000},
		{name: "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", current: 3, want: 6, readiness: []corev1.ConditionStatus{ready, ready, unready}, levels: []int64{50000, 10000, 30000}, targetUsage: 15000, wantUsage: 30000},
		{name: "TestReplicaCalcScaleDownCM", current: 5, want: 3, levels: []int64{12000, 12000, 12000, 12000, 12000}, targetUsage: 20000, wantUsage: 12000},
		{name: "TestReplicaCalcToleranceCM", current: 3, want: 3, levels: []int64{20000, 21000, 21000}, targetUsage: 20000, wantUsage: 20666},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p podsProposal
			var err error
			if tc.utilization > 0 {
				p, err = resourceUtilizationReplicas(tc.metrics(), tc.current, tc.utilization, tc.pods(), corev1.ResourceCPU, "", DefaultConfig(), time.Now())
				if p.usage != tc.wantUtilization || p.raw != tc.wantUsage {
					t.Errorf("utilization %d%%, raw %d; want %d%%, %d", p.usage, p.raw, tc.wantUtilization, tc.wantUsage)
				}
			} else {
				p, err = plainMetricReplicas(tc.metrics(), tc.current, tc.targetUsage, tc.pods(), "", DefaultConfig(), time.Now())
				if p.usage != tc.wantUsage {
					t.Errorf("usage %d, want %d", p.usage, tc.wantUsage)
				}
			}
			if err != nil || p.replicas != tc.want {
				t.Errorf("replicas %d (rule %s), %v; want %d", p.replicas, p.rule, err, tc.want)
			}
		})
	}
}

// TestSingleValueMetrics runs the controller's Object and External cases
// (replica_calculator_test.go) through Decide's per-metric proposal.
func TestSingleValueMetrics(t *testing.T) {
	q := func(milli int64) *resource.Quantity { return resource.NewMilliQuantity(milli, resource.DecimalSI) }
	object := func(target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", APIVersion: "apps/v1", Name: "some-deployment"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "qps"}, Target: target}}
	}
	external := func(target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Target: target}}
	}
	value := func(m int64) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q(m)}
	}
	average := func(m int64) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q(m)}
	}
	tests := []struct {
		name      string // the controller's test function
		spec      autoscalingv2.MetricSpec
		current   int32
		value     int64
		want      int32
		wantUsage int64
	}{
		{"TestReplicaCalcScaleUpCMObject", object(value(15000)), 3, 20000, 4, 20000},
		{"TestReplicaCalcToleranceCMObject", object(value(20000)), 3, 20666, 3, 20666},
		{"TestReplicaCalcScaleDownPerPodCMObject", object(average(2000)), 5, 6000, 3, 1200},
		{"TestReplicaCalcScaleUpCMExternal", external(value(4400)), 1, 8600, 2, 8600},
		{"TestReplicaCalcScaleUpPerPodCMExternal", external(average(2150)), 3, 8600, 4, 2867},
		{"TestReplicaCalcScaleDownCMExternal", external(value(14334)), 5, 8600, 3, 8600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := calcCase{current: tc.current}
			in := Input{SpecReplicas: tc.current, StatusReplicas: tc.current, Pods: c.pods(), Now: time.Now()}
			p := propose(tc.spec, Reading{Value: tc.value}, in, DefaultConfig())
			if p.Err != nil || p.Replicas != tc.want || p.Usage != tc.wantUsage {
				t.Errorf("replicas %d, usage %d (rule %s), %v; want %d, %d", p.Replicas, p.Usage, p.Rule, p.Err, tc.want, tc.wantUsage)
			}
		})
	}
}
