package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
)

// resourceEnv is a cluster where Deployment interlok selects app=interlok:
// one pod of it requesting 200m cpu, and metrics.k8s.io holding usages.
func resourceEnv(t *testing.T, usages ...*metricsv1beta1.PodMetrics) Env {
	t.Helper()
	start := metav1.NewTime(time.Now().Add(-time.Hour))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "interlok-1", Labels: map[string]string{"app": "interlok"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}}}}
	scales := &scalefake.FakeScaleClient{}
	scales.AddReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{Status: autoscalingv1.ScaleStatus{Replicas: 1, Selector: "app=interlok"}}, nil
	})
	metrics := metricsfake.NewSimpleClientset()
	for _, u := range usages {
		if err := metrics.Tracker().Create(metricsv1beta1.SchemeGroupVersion.WithResource("pods"), u, u.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	return Env{Clients: &kube.Clients{Client: fake.NewSimpleClientset(pod), Mapper: kubetest.DiscoveryMapper(), Scales: scales, Resources: metrics.MetricsV1beta1()}}
}

// A cpu metric's reading is the resource metrics API's value as the HPA
// computes it, on both sides.
func TestResourceReading(t *testing.T) {
	usage := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "interlok-1", Labels: map[string]string{"app": "interlok"}},
		Timestamp: metav1.Now(), Window: metav1.Duration{Duration: 15 * time.Second},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("120m")}}}}
	h := hpa(resourceMetric(corev1.ResourceCPU, utilization(50)))
	h.Status.CurrentReplicas = 1
	env := resourceEnv(t, usage)
	r := resourceReading(context.Background(), &env, h, h.Spec.Metrics[0])
	if r.AdapterErr != nil || r.QueryErr != nil || r.Adapter != 60 || r.Query != 60 {
		t.Fatalf("reading %+v: want 60%% on both sides", r)
	}
	p := PlanHPA(h, []Metric{{Spec: h.Spec.Metrics[0]}}, Options{})
	if c := Compare(p.Metrics[0], r, ScaleOf(h), 0.01); c.Problem != "" || c.AdapterReplicas != 2 || c.KEDAReplicas != 2 {
		t.Fatalf("check %+v: want 60%% of 50%% on one replica giving 2 on both sides", c)
	}

	env = resourceEnv(t)
	r = resourceReading(context.Background(), &env, h, h.Spec.Metrics[0])
	c := Compare(p.Metrics[0], r, ScaleOf(h), 0.01)
	if !strings.Contains(c.Problem, "the resource metrics API gives no value for cpu") || !strings.Contains(c.Problem, "no metrics returned from resource metrics API") {
		t.Fatalf("problem %q", c.Problem)
	}
}
