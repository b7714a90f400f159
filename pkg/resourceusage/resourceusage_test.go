package resourceusage

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// pod is a Running, Ready pod started started ago, ready since then, with
// one container per requests entry (named app, sidecar, ...).
func pod(name string, started time.Duration, requests ...corev1.ResourceList) corev1.Pod {
	names := []string{"app", "sidecar", "third"}
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: map[string]string{"app": "web"}}}
	for i, r := range requests {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: names[i], Resources: corev1.ResourceRequirements{Requests: r}})
	}
	start := metav1.NewTime(now.Add(-started))
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}}
	return p
}

// usage is a pod's metrics taken at now over a 15s window, one container
// per usage entry (named as pod names them).
func usage(name string, usages ...corev1.ResourceList) metricsv1beta1.PodMetrics {
	names := []string{"app", "sidecar", "third"}
	m := metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: map[string]string{"app": "web"}},
		Timestamp: metav1.NewTime(now), Window: metav1.Duration{Duration: 15 * time.Second}}
	for i, u := range usages {
		m.Containers = append(m.Containers, metricsv1beta1.ContainerMetrics{Name: names[i], Usage: u})
	}
	return m
}

var (
	utilization = autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}
	average     = autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("100m"))}
	cpu         = Metric{Resource: corev1.ResourceCPU, Target: utilization}
)

func TestCompute(t *testing.T) {
	old := 10 * time.Minute
	deleted := pod("c", old, rl("cpu", "100m"))
	deleted.DeletionTimestamp = ptr.To(metav1.NewTime(now))
	pending := pod("c", old, rl("cpu", "100m"))
	pending.Status.Phase = corev1.PodPending
	// Just started and ready 5s ago: no whole 15s window since.
	warming := pod("c", time.Minute, rl("cpu", "100m"))
	warming.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-5 * time.Second))
	neverReady := pod("c", old, rl("cpu", "100m"))
	neverReady.Status.Conditions[0] = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: *neverReady.Status.StartTime}
	sidecarInit := pod("a", old, rl("cpu", "100m"))
	sidecarInit.Spec.InitContainers = []corev1.Container{
		{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Resources: corev1.ResourceRequirements{Requests: rl("cpu", "100m")}},
		{Name: "setup"}, // a plain init container: no request needed
	}

	tests := []struct {
		name    string
		metric  Metric
		pods    []corev1.Pod
		metrics []metricsv1beta1.PodMetrics
		want    Value
		wantErr string
	}{
		{name: "utilization over two pods",
			metric:  cpu,
			pods:    []corev1.Pod{pod("a", old, rl("cpu", "200m")), pod("b", old, rl("cpu", "200m"))},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "100m")), usage("b", rl("cpu", "150m"))},
			want:    Value{Utilization: 62, Average: 0.125, Pods: 2}},
		{name: "two containers summed per pod",
			metric:  cpu,
			pods:    []corev1.Pod{pod("a", old, rl("cpu", "100m"), rl("cpu", "300m"))},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "100m"), rl("cpu", "100m"))},
			want:    Value{Utilization: 50, Average: 0.2, Pods: 1}},
		{name: "a sidecar init container's request counts",
			metric:  cpu,
			pods:    []corev1.Pod{sidecarInit},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "100m"))},
			want:    Value{Utilization: 50, Average: 0.1, Pods: 1}},
		{name: "ContainerResource: the one container",
			metric:  Metric{Resource: corev1.ResourceCPU, Container: "sidecar", Target: utilization},
			pods:    []corev1.Pod{pod("a", old, rl("cpu", "100m"), rl("cpu", "50m"))},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "100m"), rl("cpu", "40m"))},
			want:    Value{Utilization: 80, Average: 0.04, Pods: 1}},
		{name: "ContainerResource: a container the metrics lack",
			metric:  Metric{Resource: corev1.ResourceCPU, Container: "third", Target: utilization},
			pods:    []corev1.Pod{pod("a", old, rl("cpu", "100m"), rl("cpu", "50m"))},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "100m"), rl("cpu", "40m"))},
			wantErr: "container third not present in metrics for pod shop/a"},
		{name: "memory AverageValue: no requests needed",
			metric:  Metric{Resource: corev1.ResourceMemory, Target: average},
			pods:    []corev1.Pod{pod("a", old, nil), pod("b", old, nil)},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("memory", "100Mi")), usage("b", rl("memory", "300Mi"))},
			want:    Value{Average: 200 * 1024 * 1024, Pods: 2}},
		{name: "a container without a request",
			metric:  cpu,
			pods:    []corev1.Pod{pod("a", old, rl("cpu", "100m"), rl("memory", "1Gi"))},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "100m"), rl("cpu", "1m"))},
			wantErr: "missing request for cpu in container sidecar of Pod a"},
		{name: "deleted, pending, warming up and never ready pods are left out",
			metric: cpu,
			pods: []corev1.Pod{pod("a", old, rl("cpu", "100m")), deleted, pending, warming, neverReady,
				func() corev1.Pod { p := neverReady; p.Name = "e"; return p }()},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "30m")), usage("c", rl("cpu", "900m")), usage("e", rl("cpu", "900m"))},
			want:    Value{Utilization: 30, Average: 0.03, Pods: 1}},
		{name: "a pod without a sample is left out",
			metric:  cpu,
			pods:    []corev1.Pod{pod("a", old, rl("cpu", "100m")), pod("b", old, rl("cpu", "100m"))},
			metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "70m"))},
			want:    Value{Utilization: 70, Average: 0.07, Pods: 1}},
		{name: "no metrics at all", metric: cpu, pods: []corev1.Pod{pod("a", old, rl("cpu", "100m"))},
			wantErr: "no metrics returned from resource metrics API"},
		{name: "only pods still warming up", metric: cpu, pods: []corev1.Pod{warming},
			metrics: []metricsv1beta1.PodMetrics{usage("c", rl("cpu", "900m"))},
			wantErr: "did not receive metrics for targeted pods"},
		{name: "no pods", metric: cpu, metrics: []metricsv1beta1.PodMetrics{usage("a", rl("cpu", "1"))},
			wantErr: "no pods returned by selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.metric, tt.pods, tt.metrics, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMetricOfAndTargetTerms(t *testing.T) {
	spec := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceMemory, Container: "app", Target: average}}
	m, ok := MetricOf(spec)
	if !ok || m.Resource != corev1.ResourceMemory || m.Container != "app" || m.Target.Type != autoscalingv2.AverageValueMetricType {
		t.Fatalf("MetricOf = %+v, %v", m, ok)
	}
	if _, ok := MetricOf(autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType}); ok {
		t.Fatal("a Pods metric is not a resource metric")
	}
	v := Value{Utilization: 62, Average: 0.125}
	if v.InTargetTerms(utilization) != 62 || v.InTargetTerms(average) != 0.125 {
		t.Fatalf("InTargetTerms: %g, %g", v.InTargetTerms(utilization), v.InTargetTerms(average))
	}
}

// Read lists the selected pods and their metrics through the clients.
func TestRead(t *testing.T) {
	a, b := pod("a", 10*time.Minute, rl("cpu", "200m")), pod("other", 10*time.Minute, rl("cpu", "200m"))
	b.Labels = map[string]string{"app": "other"}
	ua, ub := usage("a", rl("cpu", "50m")), usage("other", rl("cpu", "200m"))
	ub.Labels = b.Labels
	client := fake.NewSimpleClientset(&a, &b)
	metrics := metricsfake.NewSimpleClientset()
	// The tracker would file PodMetrics under a guessed plural; the
	// client lists resource "pods" of metrics.k8s.io.
	pods := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	for _, m := range []*metricsv1beta1.PodMetrics{&ua, &ub} {
		if err := metrics.Tracker().Create(pods, m, m.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(context.Background(), client.CoreV1(), metrics.MetricsV1beta1(), "shop", labels.SelectorFromSet(labels.Set{"app": "web"}), cpu, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Value{Utilization: 25, Average: 0.05, Pods: 1}); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
