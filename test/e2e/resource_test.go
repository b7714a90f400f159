package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// The resource metrics API end to end: kwok reports the usage a test sets
// for each pod as kubelet's /metrics/resource, metrics-server serves it as
// metrics.k8s.io (kubectl top reads it), and the real HPA controller reads
// it for a CPU Utilization HPA: at 30% of a 50% target it holds two
// replicas, at 150% it scales up.
func TestCPUHPAOnMetricsServer(t *testing.T) {
	needSandbox(t)
	// Parallel: in a namespace of its own, it only waits on metrics-server's
	// window and the controller's syncs, beside the other such tests.
	t.Parallel()
	ns, _ := testNamespace(t, "cpu-")
	kwokDeploymentIn(t, ns, "web", 2, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")})
	setCPUUsage(t, ns, "app=web", "30m")
	cpuHPA(t, ns, "web", 50)

	eventually(t, 3*time.Minute, "metrics.k8s.io serves 30m for each pod of web", func(ctx context.Context) error {
		return podsCPU(ctx, ns, "app=web", 2, "30m")
	})
	eventually(t, time.Minute, "kubectl top pod shows 30m for each pod of web", func(ctx context.Context) error {
		return topPodsCPU(ctx, ns, "app=web", 2, "30m")
	})
	eventually(t, 2*time.Minute, "HPA web reads 30% utilization and holds 2 replicas", func(ctx context.Context) error {
		return hpaReadsCPU(ctx, ns, "web", 30, 2)
	})

	setCPUUsage(t, ns, "app=web", "150m")
	eventually(t, 3*time.Minute, "the HPA controller scales web up on 150% utilization", func(ctx context.Context) error {
		hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		dep, err := env.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *dep.Spec.Replicas <= 2 {
			return fmt.Errorf("deployment at %d replicas; HPA utilization %d%%, desired %d, conditions %s",
				*dep.Spec.Replicas, cpuUtilization(hpa), hpa.Status.DesiredReplicas, hpaConditions(hpa))
		}
		t.Logf("web scaled to %d replicas (HPA utilization %d%%, desired %d)", *dep.Spec.Replicas, cpuUtilization(hpa), hpa.Status.DesiredReplicas)
		return nil
	})
}

// The cpu scenario sets its pods' usage declaratively, with kwok's usage
// annotation in the pod template; annotating the pods moves it, and the
// HPA controller follows: 30% holds two replicas, 100% of a 50% target
// scales up.
func TestCPUScenario(t *testing.T) {
	needSandbox(t)
	// Parallel: in a namespace of its own, it only waits on metrics-server's
	// window and the controller's syncs, beside the other such tests.
	t.Parallel()
	const ns = "cpu-demo"
	t.Cleanup(func() {
		_ = env.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		waitGone(t, "namespace "+ns, func(ctx context.Context) error {
			_, err := env.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return err
		})
	})
	applyScenario(t, "cpu")
	eventually(t, 3*time.Minute, "HPA cpu-demo/web reads the pods' 30m as 30%", func(ctx context.Context) error {
		if err := hpaReadsCPU(ctx, ns, "web", 30, 2); err != nil {
			return err
		}
		return topPodsCPU(ctx, ns, "app=web", 2, "30m")
	})
	kubectl(t, "annotate", "pods", "-n", ns, "-l", "app=web", sandbox.UsageCPUAnnotation+"=100m", "--overwrite")
	eventually(t, 3*time.Minute, "the HPA controller scales cpu-demo/web up on 100%", func(ctx context.Context) error {
		dep, err := env.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *dep.Spec.Replicas <= 2 {
			return fmt.Errorf("deployment at %d replicas", *dep.Spec.Replicas)
		}
		return nil
	})
}

// The host node's pods are real processes, and the host agent's kubelet
// endpoint reports them: metrics-server itself has a CPU time and a working
// set in the resource metrics API, and the host node has a usage.
func TestResourceMetricsOfHostPods(t *testing.T) {
	needSandbox(t)
	eventually(t, time.Minute, "metrics.k8s.io serves metrics-server's own pod and the host node", func(ctx context.Context) error {
		mc, err := metricsclient.NewForConfig(env.rest)
		if err != nil {
			return err
		}
		pods, err := mc.MetricsV1beta1().PodMetricses(sandbox.MetricsServerNamespace).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=metrics-server"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 || len(pods.Items[0].Containers) != 1 {
			return fmt.Errorf("metrics of metrics-server's pods: %+v", pods.Items)
		}
		c := pods.Items[0].Containers[0]
		// A Go API server's working set is tens of MB; its CPU is above 0
		// once it has served (metrics-server drops zeros).
		if mem := c.Usage[corev1.ResourceMemory]; c.Name != sandbox.MetricsServerName || mem.Value() < 10<<20 {
			return fmt.Errorf("container %s: memory %s", c.Name, mem.String())
		}
		node, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, sandbox.HostNode, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cpu, mem := node.Usage[corev1.ResourceCPU], node.Usage[corev1.ResourceMemory]
		if mem.Cmp(c.Usage[corev1.ResourceMemory]) < 0 {
			return fmt.Errorf("node %s: memory %s, less than metrics-server's own", sandbox.HostNode, mem.String())
		}
		t.Logf("metrics-server: cpu %s, memory %s; node %s: cpu %s, memory %s", c.Usage.Cpu(), c.Usage.Memory(), sandbox.HostNode, cpu.String(), mem.String())
		return nil
	})
}

// kwokDeploymentIn creates Deployment name (label app=name) in ns with
// replicas pods on the kwok nodes, each of one container with requests, and
// waits until they are Ready.
func kwokDeploymentIn(t *testing.T, ns, name string, replicas int32, requests corev1.ResourceList) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.example/" + name + ":1",
					Resources: corev1.ResourceRequirements{Requests: requests}}}},
			},
		},
	}
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.WaitDeploymentReady(ctx, env.client, ns+"/"+name, 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

// cpuHPA creates an autoscaling/v2 HPA on Deployment name (2 to 6
// replicas) with a cpu Utilization target, as `kubectl autoscale
// --cpu-percent` does.
func cpuHPA(t *testing.T, ns, name string, percent int32) {
	t.Helper()
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)},
			}}},
		},
	}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// setCPUUsage makes every pod selector selects in ns use cpu (per
// container) from now on, through kwok's ResourceUsage.
func setCPUUsage(t *testing.T, ns, selector, cpu string) {
	t.Helper()
	pods, err := sandbox.SetPodsUsage(context.Background(), env.rest, ns, selector, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cpu usage of %s set to %s", strings.Join(pods, ", "), cpu)
}

// podsCPU checks that the resource metrics API answers cpu (nearMillis)
// for want pods selector selects in ns.
func podsCPU(ctx context.Context, ns, selector string, want int, cpu string) error {
	mc, err := metricsclient.NewForConfig(env.rest)
	if err != nil {
		return err
	}
	list, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	if len(list.Items) != want {
		return fmt.Errorf("%d pods in the metrics API, want %d", len(list.Items), want)
	}
	for _, pm := range list.Items {
		for _, c := range pm.Containers {
			if got := c.Usage[corev1.ResourceCPU]; !nearMillis(got, cpu) {
				return fmt.Errorf("pod %s container %s: cpu %s, want %s", pm.Name, c.Name, got.String(), cpu)
			}
		}
	}
	return nil
}

// topPodsCPU checks that `kubectl top pod` shows cpu for want pods.
func topPodsCPU(ctx context.Context, ns, selector string, want int, cpu string) error {
	out, err := kubectlOutput(ctx, "top", "pod", "-n", ns, "-l", selector, "--no-headers")
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != want {
		return fmt.Errorf("kubectl top pod: %d lines, want %d:\n%s", len(lines), want, out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			return fmt.Errorf("kubectl top pod: want CPU %s:\n%s", cpu, out)
		}
		got, err := resource.ParseQuantity(f[1])
		if err != nil || !nearMillis(got, cpu) {
			return fmt.Errorf("kubectl top pod: want CPU %s:\n%s", cpu, out)
		}
	}
	return nil
}

// nearMillis says whether q is cpu within a millicore: metrics-server's
// rate from two scrapes is not exact to the nanocore, and a Quantity's
// millicores round up.
func nearMillis(q resource.Quantity, cpu string) bool {
	want := resource.MustParse(cpu)
	diff := q.MilliValue() - want.MilliValue()
	return diff >= -1 && diff <= 1
}

// scalingActive is nil when the HPA's ScalingActive condition is True.
func scalingActive(hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	for _, c := range hpa.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive {
			if c.Status == corev1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("ScalingActive %s: %s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return fmt.Errorf("no ScalingActive condition yet")
}

// hpaReadsCPU: the controller's last sync of HPA ns/name read cpu at
// percent (within one: metrics-server's rate from two scrapes is not exact
// to the millicore) and holds desired replicas.
func hpaReadsCPU(ctx context.Context, ns, name string, percent, desired int32) error {
	hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := scalingActive(hpa); err != nil {
		return err
	}
	if got := cpuUtilization(hpa); got < percent-1 || got > percent+1 || hpa.Status.CurrentReplicas != desired || hpa.Status.DesiredReplicas != desired {
		return fmt.Errorf("utilization %d%%, replicas %d (desired %d)", got, hpa.Status.CurrentReplicas, hpa.Status.DesiredReplicas)
	}
	return nil
}

// cpuUtilization is the cpu utilization the HPA controller last read (-1
// without one).
func cpuUtilization(hpa *autoscalingv2.HorizontalPodAutoscaler) int32 {
	for _, m := range hpa.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Current.AverageUtilization != nil {
			return *m.Resource.Current.AverageUtilization
		}
	}
	return -1
}
