package doctor

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
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/ptr"
)

var resNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeResources answers PodMetrics from a fixed list.
type fakeResources struct {
	available bool
	why       string
	items     []metricsv1beta1.PodMetrics
}

func (f fakeResources) Available() (bool, string) { return f.available, f.why }
func (f fakeResources) PodMetrics(_ context.Context, ns string, sel labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	var out []metricsv1beta1.PodMetrics
	for _, pm := range f.items {
		if pm.Namespace == ns && sel.Matches(labels.Set(pm.Labels)) {
			out = append(out, pm)
		}
	}
	return out, nil
}

// resPod is a Running pod of app=web started age ago, Ready since then
// (ready false: not Ready), with containers name=cpu request ("" none).
func resPod(name string, age time.Duration, ready bool, containers ...[2]string) corev1.Pod {
	st := corev1.ConditionTrue
	if !ready {
		st = corev1.ConditionFalse
	}
	start := metav1.NewTime(resNow.Add(-age))
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: start}}}}
	for _, c := range containers {
		ctr := corev1.Container{Name: c[0]}
		if c[1] != "" {
			ctr.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(c[1])}
		}
		p.Spec.Containers = append(p.Spec.Containers, ctr)
	}
	return p
}

// usage is the PodMetrics of a pod, sampled at resNow over 15s: container=cpu.
func usage(pod string, containers ...[2]string) metricsv1beta1.PodMetrics {
	pm := metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "shop", Labels: map[string]string{"app": "web"}},
		Timestamp: metav1.NewTime(resNow), Window: metav1.Duration{Duration: 15 * time.Second}}
	for _, c := range containers {
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c[0],
			Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(c[1]), corev1.ResourceMemory: resource.MustParse("64Mi")}})
	}
	return pm
}

func cpuHPA(spec autoscalingv2.MetricSpec, conds ...autoscalingv2.HorizontalPodAutoscalerCondition) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas: 5, Metrics: []autoscalingv2.MetricSpec{spec}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: conds}}
}

func cpuUtilization(pct int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(pct)}}}
}

func TestWalkResource(t *testing.T) {
	failing := autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse,
		Reason: "FailedGetResourceMetric", Message: "the HPA was unable to compute the replica count"}
	containerCPU := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(50))}}}
	averageCPU := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("200m"))}}}
	cases := []struct {
		name    string
		hpa     *autoscalingv2.HorizontalPodAutoscaler
		res     fakeResources
		pods    []corev1.Pod
		codes   string
		now     string // what the controller would compute now
		healthy bool
		want    string // in a finding's message, evidence or fix
	}{
		{name: "healthy: 150m of 200m and 50m of 200m is 50%", hpa: cpuHPA(cpuUtilization(50)),
			res:  fakeResources{available: true, items: []metricsv1beta1.PodMetrics{usage("web-1", [2]string{"app", "150m"}), usage("web-2", [2]string{"app", "50m"})}},
			pods: []corev1.Pod{resPod("web-1", time.Hour, true, [2]string{"app", "200m"}), resPod("web-2", time.Hour, true, [2]string{"app", "200m"})},
			now:  "50%", healthy: true},
		{name: "no APIService", hpa: cpuHPA(cpuUtilization(50), failing), res: fakeResources{why: "no APIService registers metrics.k8s.io"},
			codes: "MS407", want: "no APIService registers metrics.k8s.io"},
		{name: "a container without a cpu request", hpa: cpuHPA(cpuUtilization(50), failing),
			res:   fakeResources{available: true, items: []metricsv1beta1.PodMetrics{usage("web-1", [2]string{"app", "150m"}, [2]string{"proxy", "3m"})}},
			pods:  []corev1.Pod{resPod("web-1", time.Hour, true, [2]string{"app", "200m"}, [2]string{"proxy", ""})},
			codes: "MS415", want: "kubectl set resources deployment/web -n shop -c proxy --requests=cpu=10m"},
		{name: "a ContainerResource metric names only its container's request", hpa: cpuHPA(containerCPU),
			res:  fakeResources{available: true, items: []metricsv1beta1.PodMetrics{usage("web-1", [2]string{"app", "150m"}, [2]string{"proxy", "3m"})}},
			pods: []corev1.Pod{resPod("web-1", time.Hour, true, [2]string{"app", "200m"}, [2]string{"proxy", ""})},
			now:  "75%", healthy: true},
		{name: "a ContainerResource metric's container is not in the pods", hpa: cpuHPA(containerCPU, failing),
			res:   fakeResources{available: true, items: []metricsv1beta1.PodMetrics{usage("web-1", [2]string{"main", "150m"})}},
			pods:  []corev1.Pod{resPod("web-1", time.Hour, true, [2]string{"main", "200m"})},
			codes: "MS416", want: "pods without it: shop/web-1"},
		{name: "a pod just started has no value yet", hpa: cpuHPA(averageCPU),
			res:   fakeResources{available: true, items: []metricsv1beta1.PodMetrics{usage("web-1", [2]string{"app", "300m"})}},
			pods:  []corev1.Pod{resPod("web-1", time.Hour, true, [2]string{"app", ""}), resPod("web-2", 20*time.Second, true, [2]string{"app", ""})},
			codes: "MS313", now: "300m", healthy: true, want: "pod web-2: no value yet: started 20s ago"},
		{name: "every pod in the CPU initialization period and not Ready", hpa: cpuHPA(cpuUtilization(50), failing),
			res:   fakeResources{available: true, items: []metricsv1beta1.PodMetrics{usage("web-1", [2]string{"app", "150m"})}},
			pods:  []corev1.Pod{resPod("web-1", 2*time.Minute, false, [2]string{"app", "200m"})},
			codes: "MS314", want: "not Ready, in the CPU initialization period until 2026-03-01T12:03:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &walker{res: c.res, now: resNow, targets: fakeTargets{"shop/Deployment/web": c.pods}}
			mr := w.walkResource(context.Background(), c.hpa, c.hpa.Spec.Metrics[0], c.pods, true)
			record(t, mr.Findings)
			if got := codes(mr.Findings); got != c.codes {
				t.Fatalf("codes %q, want %q: %+v", got, c.codes, mr.Findings)
			}
			if mr.Now != c.now || mr.Healthy != c.healthy {
				t.Fatalf("now %q healthy %v, want %q %v", mr.Now, mr.Healthy, c.now, c.healthy)
			}
			if (c.now != "") != (mr.Request != "") {
				t.Fatalf("request %q: doctor has a value %v", mr.Request, c.now != "")
			}
			if c.want != "" && !strings.Contains(findingText(mr.Findings), c.want) {
				t.Fatalf("no finding says %q:\n%s", c.want, findingText(mr.Findings))
			}
		})
	}
}

func findingText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Message + "\n" + strings.Join(f.Evidence, "\n") + "\n")
		if f.Fix != nil {
			b.WriteString(f.Fix.Description + "\n" + f.Fix.Command + "\n" + f.Fix.YAML + "\n")
		}
	}
	return b.String()
}

func TestCheckResourceAPIService(t *testing.T) {
	absent := APIService{Name: ResourceAPIService}
	adapterSvc := APIService{Name: ResourceAPIService, Present: true, Available: true, Service: "monitoring/prometheus-adapter"}
	cases := []struct {
		name  string
		c     resourceAPICheck
		codes string
		want  string
	}{
		{name: "absent, nothing needs it", c: resourceAPICheck{svc: absent}},
		{name: "absent, no metrics-server", c: resourceAPICheck{svc: absent, needing: 2}, codes: "MS122",
			want: "kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.8.0/components.yaml"},
		{name: "absent, metrics-server's Service there", c: resourceAPICheck{svc: absent, needing: 1, metricsServer: &MetricsServer{Namespace: "kube-system", Name: "metrics-server", Port: 4443}},
			codes: "MS122", want: "service: {name: metrics-server, namespace: kube-system, port: 4443}"},
		{name: "unavailable", c: resourceAPICheck{svc: APIService{Name: ResourceAPIService, Present: true, Service: "kube-system/metrics-server", Reason: "FailedDiscoveryCheck", Message: "connection refused"}, needing: 1},
			codes: "MS102", want: "the API server cannot reach metrics-server"},
		{name: "the adapter's resourceRules", c: resourceAPICheck{svc: adapterSvc, adapterService: "monitoring/prometheus-adapter", resourceRules: true, needing: 1}, codes: "MS123"},
		{name: "the adapter without resourceRules", c: resourceAPICheck{svc: adapterSvc, adapterService: "monitoring/prometheus-adapter", needing: 1}, codes: "MS124"},
		{name: "metrics-server", c: resourceAPICheck{svc: APIService{Name: ResourceAPIService, Present: true, Available: true, Service: "kube-system/metrics-server"}, adapterService: "monitoring/prometheus-adapter", needing: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := checkResourceAPIService(c.c)
			record(t, fs)
			if got := codes(fs); got != c.codes {
				t.Fatalf("codes %q, want %q", got, c.codes)
			}
			if c.want != "" && !strings.Contains(findingText(fs), c.want) {
				t.Fatalf("no finding says %q:\n%s", c.want, findingText(fs))
			}
		})
	}
}
