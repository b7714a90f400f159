package whatif

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		arg, want, wantErr string
	}{
		{arg: "MessageMetrics=500", want: "milli 500000"},
		{arg: "cpu=250m", want: "milli 250"},
		{arg: "cpu=80%", want: "percent 80"},
		{arg: "MessageMetrics=+20%", want: "factor 1.2"},
		{arg: "MessageMetrics=-10%", want: "factor 0.9"},
		{arg: "queue=x2", want: "factor 2"},
		{arg: "queue", wantErr: "want METRIC=VALUE"},
		{arg: "=5", wantErr: "want METRIC=VALUE"},
		{arg: "queue=lots", wantErr: `"lots" is not a value`},
		{arg: "queue=xx", wantErr: "not a factor"},
		{arg: "queue=-100%", wantErr: "not a change"},
		{arg: "queue=-5", wantErr: "not a value"},
	}
	for _, tc := range tests {
		t.Run(tc.arg, func(t *testing.T) {
			s, err := ParseSet(tc.arg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			var got string
			switch {
			case err != nil:
				got = err.Error()
			case s.Milli != nil:
				got = fmt.Sprintf("milli %d", *s.Milli)
			case s.Percent != nil:
				got = fmt.Sprintf("percent %d", *s.Percent)
			case s.Factor != nil:
				got = fmt.Sprintf("factor %g", *s.Factor)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func pods(n int, cpuRequest int64) []corev1.Pod {
	var out []corev1.Pod
	for i := 0; i < n; i++ {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i)}}
		p.Spec.Containers = []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(cpuRequest, resource.DecimalSI)}}}}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &metav1.Time{}, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		out = append(out, p)
	}
	return out
}

func hpa(minR, maxR int32, metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &minR, MaxReplicas: maxR, Metrics: metrics}}
	return h
}

func podsMetric(name string, average string) autoscalingv2.MetricSpec {
	q := resource.MustParse(average)
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}}
}

func cpuUtilization(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent}}}
}

// TestRunScalesUpUnderLoad: every pod at 500 against 100 per pod, from 2
// replicas: without a behavior the controller at most doubles (at least
// 4) at each sync until maxReplicas.
func TestRunScalesUpUnderLoad(t *testing.T) {
	now := time.Now()
	in := decision.Input{HPA: hpa(1, 10, podsMetric("MessageMetrics", "100")), SpecReplicas: 2, StatusReplicas: 2, Pods: pods(2, 100),
		Readings: []decision.Reading{{Err: fmt.Errorf("no metrics returned from custom metrics API")}}, Now: now}
	set, err := ParseSet("MessageMetrics=500")
	if err != nil {
		t.Fatal(err)
	}
	if in, err = Apply(in, []Set{set}); err != nil {
		t.Fatal(err)
	}
	steps := Run(in, decision.DefaultConfig(), 15*time.Second, time.Minute)
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%d→%d", s.Replicas, s.Desired))
	}
	if strings.Join(got, " ") != "2→4 4→8 8→10 10→10 10→10" {
		t.Fatalf("steps %v", got)
	}
	if steps[0].LimitedBy != "ScaleUpLimit" || steps[2].LimitedBy != "TooManyReplicas" {
		t.Errorf("limits %q %q", steps[0].LimitedBy, steps[2].LimitedBy)
	}
	r := Result{Namespace: "default", Name: "web", SyncPeriod: "15s", For: "1m0s", MinReplicas: 1, MaxReplicas: 10, Steps: steps, Assumptions: Assumptions}
	var b bytes.Buffer
	if err := PrintTable(&b, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "default/web goes from 2 to 10 replicas within 1m0s (last change at +30s), then holds\nreplicas  ▃▆███  ") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestApplyUtilization: cpu=80% is 80% of each pod's request; x2 doubles
// what is read; a metric the HPA lacks is named with those it has.
func TestApplyUtilization(t *testing.T) {
	in := decision.Input{HPA: hpa(1, 10, cpuUtilization(50)), SpecReplicas: 3, StatusReplicas: 3, Pods: pods(3, 200),
		Readings: []decision.Reading{{Pods: map[string]decision.PodMetric{"web-0": {Value: 50}}}}, Now: time.Now()}
	for _, tc := range []struct {
		set  string
		want map[string]int64
	}{
		{"cpu=80%", map[string]int64{"web-0": 160, "web-1": 160, "web-2": 160}},
		{"cpu=x2", map[string]int64{"web-0": 100}},
		{"cpu=300m", map[string]int64{"web-0": 300, "web-1": 300, "web-2": 300}},
	} {
		s, _ := ParseSet(tc.set)
		out, err := Apply(in, []Set{s})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for k, v := range out.Readings[0].Pods {
			got[k] = v.Value
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.set, got, tc.want)
		}
	}
	s, _ := ParseSet("memory=1Gi")
	if _, err := Apply(in, []Set{s}); err == nil || !strings.Contains(err.Error(), `has no metric "memory" (its metrics: cpu)`) {
		t.Errorf("error %v", err)
	}
}

// TestResizeNewCPUPodsAreUnready: pods the HPA adds within the cpu
// initialization period, with a sample younger than a window since they
// became Ready, do not count yet (groupPods), as on a real scale-up.
func TestResizeNewCPUPodsAreUnready(t *testing.T) {
	now := time.Now()
	in := decision.Input{HPA: hpa(1, 10, cpuUtilization(50)), SpecReplicas: 2, StatusReplicas: 2, Pods: pods(2, 100),
		Readings: []decision.Reading{{Pods: map[string]decision.PodMetric{"web-0": {Value: 100}, "web-1": {Value: 100}}}}, Now: now}
	out := Resize(in, 4)
	if len(out.Pods) != 4 || len(out.Readings[0].Pods) != 4 || len(in.Readings[0].Pods) != 2 {
		t.Fatalf("%d pods, %d values (the input's %d)", len(out.Pods), len(out.Readings[0].Pods), len(in.Readings[0].Pods))
	}
	d := decision.Decide(out, decision.DefaultConfig())
	if g := d.Metrics[0].Groups; g.Ready != 2 || len(g.Unready) != 2 {
		t.Errorf("groups %+v", *g)
	}
}

// BenchmarkRunFleet runs ten minutes of 15s syncs (41 decisions) for each
// of 1,000 HPAs of 5 pods, half of them on cpu: make bench prints its CPU
// per fleet (the target: under a second).
func BenchmarkRunFleet(b *testing.B) {
	var inputs []decision.Input
	for i := 0; i < 1000; i++ {
		h := hpa(1, 20, podsMetric("MessageMetrics", "100"))
		r := decision.Reading{Pods: map[string]decision.PodMetric{}}
		for j := 0; j < 5; j++ {
			r.Pods[fmt.Sprintf("web-%d", j)] = decision.PodMetric{Value: int64(50000 + 40000*(i%5))}
		}
		if i%2 == 1 {
			h = hpa(1, 20, cpuUtilization(50))
			for j := 0; j < 5; j++ {
				r.Pods[fmt.Sprintf("web-%d", j)] = decision.PodMetric{Value: int64(20 + 20*(i%5))}
			}
		}
		inputs = append(inputs, decision.Input{HPA: h, SpecReplicas: 5, StatusReplicas: 5, Pods: pods(5, 100), Readings: []decision.Reading{r}, Now: time.Now()})
	}
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for _, in := range inputs {
			Run(in, decision.DefaultConfig(), 15*time.Second, 10*time.Minute)
		}
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(cpu.Seconds(), "cpu-s/fleet")
}
