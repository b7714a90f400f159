package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/utils/ptr"
)

// TestSimulateUnreadyCPU: the controller's rule for unready pods on a cpu
// metric (replica_calculator.go groupPods: a pod not Ready within the cpu
// initialization period does not count, and on a scale-up it counts as 0).
// Two pods of 100m request use 60m each against a 50% target; one of them
// is not Ready. The Ready one reads 60% (ratio 1.2, up); with the unready
// one as 0 the ratio is 0.6, the direction flips, and the controller keeps
// 2, where counting both pods would scale to 3. simulate and doctor's
// DECISION say so before the controller's first sync, and the controller
// then reads 60% and keeps 2.
func TestSimulateUnreadyCPU(t *testing.T) {
	needSandbox(t)
	// Parallel: in a namespace of its own, it only waits on metrics-server's
	// window and the controller's syncs, beside the other such tests.
	t.Parallel()
	ctx := context.Background()
	ns, _ := testNamespace(t, "sim-cpu-")
	kwokDeploymentIn(t, ns, "web", 2, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")})
	setCPUUsage(t, ns, "app=web", "60m")
	unready := markUnready(t, ns, "app=web")
	eventually(t, 3*time.Minute, "metrics.k8s.io serves 60m for both pods of web, the Ready one's after a window since it became Ready", func(ctx context.Context) error {
		if err := podsCPU(ctx, ns, "app=web", 2, "60m"); err != nil {
			return err
		}
		return readyPodsWindowPassed(ctx, ns, "app=web")
	})

	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}}}}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, _ := runDoctor(t, "web", "-n", ns)
	if d := rep.HPAs[0].Decision; !strings.HasPrefix(d, "holds 2:") || !strings.Contains(d, "unready pod") {
		t.Errorf("doctor's DECISION %q, want it to hold 2 for the unready pod %s", d, unready)
	}
	simulateAgrees(t, ns, "web", "web", 15*time.Second)
	eventually(t, time.Minute, "the controller reads 60% and keeps 2", func(ctx context.Context) error {
		return hpaReadsCPU(ctx, ns, "web", 60, 2)
	})
}

// markUnready sets the Ready condition of the first pod selector selects
// to False, as a failing readiness probe would (kwok makes pods Ready once,
// while Pending, and leaves them so); it returns the pod's name.
func markUnready(t *testing.T, ns, selector string) string {
	t.Helper()
	ctx := context.Background()
	pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods of %s: %v", selector, err)
	}
	p := podNames(pods.Items)[0]
	pod, err := env.client.CoreV1().Pods(ns).Get(ctx, p, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			pod.Status.Conditions[i].Status, pod.Status.Conditions[i].LastTransitionTime = corev1.ConditionFalse, metav1.Now()
		}
	}
	if _, err := env.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("pod %s marked not Ready", p)
	return p
}

// readyPodsWindowPassed: each Ready pod's resource metrics sample is more
// than its window after the pod became Ready. Before that, within the cpu
// initialization period, the controller does not count the pod either.
func readyPodsWindowPassed(ctx context.Context, ns, selector string) error {
	pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	mc, err := metricsclient.NewForConfig(env.rest)
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type != corev1.PodReady || c.Status != corev1.ConditionTrue {
				continue
			}
			pm, err := mc.MetricsV1beta1().PodMetricses(ns).Get(ctx, p.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if pm.Timestamp.Time.Before(c.LastTransitionTime.Add(pm.Window.Duration)) {
				return fmt.Errorf("pod %s: sample at %s, Ready since %s, window %s", p.Name, pm.Timestamp.Format(time.TimeOnly), c.LastTransitionTime.Format(time.TimeOnly), pm.Window.Duration)
			}
		}
	}
	return nil
}
