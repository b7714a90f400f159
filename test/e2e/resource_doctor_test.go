package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/pkg/hpastatus"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// TestDoctorResourceMetrics: doctor on cpu HPAs read by the real HPA
// controller from metrics-server. A container without a cpu request under a
// Utilization target is named (MS415) and the `kubectl set resources` fix,
// run as printed, heals the HPA; a ContainerResource metric on a Deployment
// of two containers is healthy with the value the controller read; with
// the resource metrics APIService removed doctor exits 1 naming it
// (MS122), and the APIService it prints, applied, heals it.
func TestDoctorResourceMetrics(t *testing.T) {
	needSandbox(t)
	ns, _ := testNamespace(t, "doctor-cpu-")
	twoContainers(t, ns, "lean")
	twoContainers(t, ns, "split")
	resourceHPA(t, ns, "lean", autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}})
	resourceHPA(t, ns, "split", autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}})

	// split: the controller reads app's 40m of 100m.
	eventually(t, 3*time.Minute, "HPA split reads 40% of container app's request", func(ctx context.Context) error {
		return hpaReads(ctx, ns, "split", 40)
	})
	rep, code := runDoctor(t, "split", "-n", ns)
	m := resourceMetricOf(t, rep, "split")
	// metrics-server's rate may be a millicore off: 39–41%.
	if code != 0 || !m.Healthy || m.Type != "ContainerResource" || m.Object != "Container/app" || !slices.Contains([]string{"39%", "40%", "41%"}, m.Current) ||
		!strings.Contains(m.Request, "/apis/metrics.k8s.io/v1beta1/namespaces/"+ns+"/pods") {
		t.Fatalf("doctor split: exit %d, metric %+v: want 0, healthy, ContainerResource of container app at 40%% (±1), the controller's request", code, m)
	}

	// lean: container proxy has no cpu request.
	f := waitForFindingIn(t, ns, "lean", "MS415")
	// About proxy's 40m now, rounded up to 10m: metrics-server's rate may be a millicore off.
	want := "kubectl set resources deployment/lean -n " + ns + " -c proxy --requests=cpu="
	if f.Fix == nil || !strings.HasPrefix(f.Fix.Command, want) || !strings.Contains(f.Message, "container proxy has no cpu request") {
		t.Fatalf("MS415 %q, fix %+v: want container proxy named and the fix %q", f.Message, f.Fix, want)
	}
	kubectl(t, strings.Fields(strings.TrimPrefix(f.Fix.Command, "kubectl "))...)
	eventually(t, 4*time.Minute, "HPA lean computes replicas once proxy has a request", func(ctx context.Context) error {
		hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "lean", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return scalingActive(hpa)
	})
	if rep, code := runDoctor(t, "lean", "-n", ns); code != 0 || !resourceMetricOf(t, rep, "lean").Healthy {
		t.Fatalf("doctor lean after the fix: exit %d, findings %s", code, codesOf(findingsOf(rep, "lean")))
	}

	// The resource metrics APIService removed: doctor names it and the
	// APIService to apply, which heals it.
	removeResourceAPIService(t)
	rep, code = runDoctor(t, "split", "-n", ns)
	f = findCode(rep.Findings, "MS122")
	if code != 1 || f == nil || f.Fix == nil || !strings.Contains(f.Fix.YAML, "name: "+sandbox.MetricsServerName) {
		t.Fatalf("doctor split without the APIService: exit %d, findings %s: want 1 and MS122 with metrics-server's APIService", code, codesOf(rep.Findings))
	}
	if got := findCode(findingsOf(rep, "split"), "MS407"); got == nil || !strings.Contains(got.Message, "no APIService registers metrics.k8s.io") {
		t.Fatalf("the cpu metric should say the resource metrics API is missing: %s", codesOf(findingsOf(rep, "split")))
	}
	out, _, _ := runCmd(t, "doctor", "split", "-n", ns)
	if !strings.Contains(out, "APIService v1beta1.metrics.k8s.io") || !strings.Contains(out, "absent (MS122 below)") {
		t.Fatalf("the CHAIN block should point at MS122 for the absent APIService:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "apiservice.yaml")
	if err := os.WriteFile(file, []byte(f.Fix.YAML), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", file)
	eventually(t, 2*time.Minute, "doctor split exits 0 with the APIService doctor printed", func(ctx context.Context) error {
		rep, code := runDoctor(t, "split", "-n", ns)
		if code != 0 {
			return fmt.Errorf("exit %d: %s %s", code, codesOf(rep.Findings), codesOf(findingsOf(rep, "split")))
		}
		return nil
	})
}

// twoContainers creates Deployment name in ns of one kwok pod with
// containers app (cpu request 100m) and proxy (none), each using 40m.
func twoContainers(t *testing.T, ns, name string) {
	t.Helper()
	labels := map[string]string{"app": name}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{sandbox.UsageCPUAnnotation: "40m"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: "registry.example/app:1", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}},
					{Name: "proxy", Image: "registry.example/proxy:1"},
				}},
			},
		},
	}
	ctx := context.Background()
	if _, err := env.client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.WaitDeploymentReady(ctx, env.client, ns+"/"+name, 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

// resourceHPA creates HPA name on Deployment name (1 to 3 replicas) with
// one metric.
func resourceHPA(t *testing.T, ns, name string, metric autoscalingv2.MetricSpec) {
	t.Helper()
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{metric},
		},
	}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// hpaReads is nil once the HPA's controller computed replicas from a
// utilization of pct (±1) at its last sync.
func hpaReads(ctx context.Context, ns, name string, pct int32) error {
	hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := scalingActive(hpa); err != nil {
		return err
	}
	// The HPA's one metric, read as the controller wrote it (utilization
	// for a Utilization target).
	if v, ok := hpastatus.CurrentValue(hpa, hpa.Spec.Metrics[0]); ok && v >= float64(pct-1) && v <= float64(pct+1) {
		return nil
	}
	return fmt.Errorf("current metrics %+v, want %d%%", hpa.Status.CurrentMetrics, pct)
}

// resourceMetricOf is the one metric of the named HPA in a report.
func resourceMetricOf(t *testing.T, rep *doctor.Report, name string) doctor.MetricReport {
	t.Helper()
	for _, h := range rep.HPAs {
		if h.Name == name && len(h.Metrics) == 1 {
			return h.Metrics[0]
		}
	}
	t.Fatalf("no HPA %s with one metric in the report", name)
	return doctor.MetricReport{}
}

// waitForFindingIn waits until doctor on HPA name in ns reports code, and
// returns that finding.
func waitForFindingIn(t *testing.T, ns, name, code string) *doctor.Finding {
	t.Helper()
	var f *doctor.Finding
	eventually(t, 3*time.Minute, "doctor "+name+" reports "+code, func(ctx context.Context) error {
		rep, _ := runDoctor(t, name, "-n", ns)
		if f = findCode(findingsOf(rep, name), code); f == nil {
			return fmt.Errorf("findings %s", codesOf(findingsOf(rep, name)))
		}
		return nil
	})
	return f
}

// removeResourceAPIService deletes metrics-server's APIService and puts the
// sandbox's back at the end of the test, whatever the test did.
func removeResourceAPIService(t *testing.T) {
	t.Helper()
	agg, err := aggregator.NewForConfig(env.rest)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apis := agg.ApiregistrationV1().APIServices()
	orig, err := apis.Get(ctx, sandbox.ResourceMetricsAPIService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := apis.Delete(ctx, orig.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cur, err := apis.Get(ctx, orig.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			restored := orig.DeepCopy()
			restored.ResourceVersion, restored.UID = "", ""
			_, err = apis.Create(ctx, restored, metav1.CreateOptions{})
		case err == nil:
			cur.Spec = orig.Spec
			_, err = apis.Update(ctx, cur, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("restoring APIService %s: %v", orig.Name, err)
		}
	})
}
