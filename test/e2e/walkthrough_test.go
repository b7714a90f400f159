package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// The rule the Interlok guide pastes into the adapter ConfigMap with
// `kubectl edit`, at the indentation of the other rules.
const interlokRule = `- seriesQuery: '{__name__=~"MessageMetrics"}'
  resources:
    overrides:
      k8s_namespace:
        resource: namespace
      k8s_pod_name:
        resource: pod
  name:
    matches: ""
    as: "MessageMetrics"
  metricsQuery: MessageMetrics
`

func applyScenario(t *testing.T, name string) {
	t.Helper()
	s, err := sandbox.LoadScenario(filepath.Join(env.repo, "test", "e2e", "scenarios"), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(context.Background(), env.info, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func customMetricsClient(t *testing.T) custommetrics.CustomMetricsClient {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.rest)
	if err != nil {
		t.Fatal(err)
	}
	mapper := kube.NewMapper(dc)
	return custommetrics.NewForConfig(env.rest, mapper, custommetrics.NewAvailableAPIsGetter(dc))
}

// restartDeployment does what `kubectl rollout restart` does.
func restartDeployment(t *testing.T, ns, name string) {
	t.Helper()
	// A strategic merge patch carries no resourceVersion: no conflict.
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := env.client.AppsV1().Deployments(ns).Patch(context.Background(), name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestInterlokWalkthrough reproduces the Interlok guide on the real stack:
// the pushed metric reaches Prometheus, the custom metrics API does not serve
// it until the guide's rule is added and the adapter restarted, then it serves
// 150 for the pod and the real HPA controller scales interlok from 1 to 2.
func TestInterlokWalkthrough(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	interlok(t)

	pods, err := sandbox.WaitDeploymentReady(ctx, env.client, "default/interlok", time.Minute, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 {
		t.Fatalf("interlok has %d ready pods, want 1", len(pods))
	}
	pod := pods[0].Name

	eventually(t, time.Minute, "Prometheus stores MessageMetrics with the pushed labels", func(ctx context.Context) error {
		vec, err := promVector(ctx, `MessageMetrics{k8s_namespace="default"}`)
		if err != nil {
			return err
		}
		if len(vec) != 1 {
			return fmt.Errorf("want 1 series, got %v", vec)
		}
		if got := string(vec[0].Metric["k8s_pod_name"]); got != pod {
			return fmt.Errorf("k8s_pod_name = %q, want %q", got, pod)
		}
		if vec[0].Value != 150 {
			return fmt.Errorf("value %v, want 150", vec[0].Value)
		}
		return nil
	})

	cm := customMetricsClient(t)
	podGK := schema.GroupKind{Kind: "Pod"}
	sel := labels.SelectorFromSet(labels.Set{"app": "interlok"})
	// The adapter relists every 10 s: two relists later, it still does not
	// know the metric, because no rule maps k8s_namespace/k8s_pod_name.
	time.Sleep(20 * time.Second)
	_, err = cm.NamespacedMetrics("default").GetForObjects(podGK, sel, "MessageMetrics", labels.Everything())
	if !apierrors.IsNotFound(err) {
		t.Fatalf("without a rule, GET pods/*/MessageMetrics: want NotFound, got %v", err)
	}
	t.Logf("without a rule the custom metrics API answers: %v", err)

	// The guide's manual fix: paste the rule into the ConfigMap, then
	// restart the adapter.
	cmap, err := env.client.CoreV1().ConfigMaps("monitoring").Get(ctx, "prometheus-adapter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmap.Data["config.yaml"] = strings.TrimRight(cmap.Data["config.yaml"], "\n") + "\n" + interlokRule
	if _, err := env.client.CoreV1().ConfigMaps("monitoring").Update(ctx, cmap, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	restartDeployment(t, "monitoring", "prometheus-adapter")

	eventually(t, 2*time.Minute, "the custom metrics API serves MessageMetrics=150 for the pod", func(ctx context.Context) error {
		list, err := cm.NamespacedMetrics("default").GetForObjects(podGK, sel, "MessageMetrics", labels.Everything())
		if err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("want 1 item, got %d", len(list.Items))
		}
		it := list.Items[0]
		if it.DescribedObject.Name != pod || it.Value.Value() != 150 {
			return fmt.Errorf("got %s=%s, want %s=150", it.DescribedObject.Name, it.Value.String(), pod)
		}
		return nil
	})

	waitInterlokReplicas(t, 2, "the HPA controller")
	ev, err := env.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=interlok-autoscaler,reason=SuccessfulRescale"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Items) == 0 || !strings.Contains(ev.Items[0].Message, "New size: 2") {
		t.Fatalf("want a SuccessfulRescale event 'New size: 2', got %v", ev.Items)
	}
	t.Logf("event: %s %s", ev.Items[0].Reason, ev.Items[0].Message)
}

func hpaConditions(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	if hpa == nil {
		return "(no HPA)"
	}
	var out []string
	for _, c := range hpa.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(out, "; ")
}

// resetInterlok undoes the walkthrough: the adapter's original config, no
// interlok objects, no pushed MessageMetrics, no metric in the API.
// interlok applies the Interlok scenario for one test, and afterwards puts
// back the adapter's config as it was (returned), deletes add-rule's backups
// and the scenario's objects and pushed metrics.
// waitInterlokReplicas waits until who has scaled interlok to want.
func waitInterlokReplicas(t *testing.T, want int32, who string) {
	t.Helper()
	eventually(t, 2*time.Minute, fmt.Sprintf("%s scales interlok to %d", who, want), func(ctx context.Context) error {
		dep, err := env.client.AppsV1().Deployments("default").Get(ctx, "interlok", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *dep.Spec.Replicas != want {
			hpa, _ := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
			return fmt.Errorf("replicas %d; HPA conditions %v", *dep.Spec.Replicas, hpaConditions(hpa))
		}
		return nil
	})
}

func interlok(t *testing.T) string {
	t.Helper()
	original := adapterConfig(t)
	applyScenario(t, "interlok")
	t.Cleanup(func() { deleteBackups(t); resetInterlok(t, original) })
	return original
}

// interlokHPAForgotten waits until the HPA controller has forgotten the
// replica recommendations of the interlok-autoscaler resetInterlok deleted:
// it keeps them by namespace/name until its next sync of that key finds
// the HPA gone, within two sync periods of the delete; an HPA of the same
// name created sooner inherits them (a 2 kept for the 5-minute scale-down
// window). The controller shows no sign of it, so this waits out the
// remainder of those periods, and only when the delete was that recent.
func interlokHPAForgotten(t *testing.T) {
	t.Helper()
	if wait := time.Until(env.interlokHPADeleted.Add(2 * sandbox.HPASyncPeriod)); wait > 0 {
		t.Logf("waiting %.1fs for the HPA controller to forget the deleted interlok-autoscaler", wait.Seconds())
		time.Sleep(wait)
	}
}

func resetInterlok(t *testing.T, original string) {
	ctx := context.Background()
	if adapterConfig(t) != original {
		setAdapterConfig(t, original)
	}
	pods, _ := env.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=interlok"})
	for _, p := range pods.Items {
		deletePushGroup(t, "job/interlok/k8s_pod_name/"+p.Name)
	}
	fg := metav1.DeletePropagationForeground
	if env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Delete(ctx, "interlok-autoscaler", metav1.DeleteOptions{}) == nil {
		env.interlokHPADeleted = time.Now()
	}
	_ = env.client.AppsV1().Deployments("default").Delete(ctx, "interlok", metav1.DeleteOptions{PropagationPolicy: &fg})
	waitGone(t, "deployment interlok", func(ctx context.Context) error {
		_, err := env.client.AppsV1().Deployments("default").Get(ctx, "interlok", metav1.GetOptions{})
		return err
	})
	cm := customMetricsClient(t)
	waitGone(t, "MessageMetrics in the custom metrics API", func(ctx context.Context) error {
		_, err := cm.NamespacedMetrics("default").GetForObjects(schema.GroupKind{Kind: "Pod"}, labels.Everything(), "MessageMetrics", labels.Everything())
		if apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
}

// TestDoctorInterlok: on the Interlok guide's broken chain, doctor names the
// unmapped k8s_namespace/k8s_pod_name labels (MS201) with the add-rule
// command and the rule's YAML; once that rule is in the ConfigMap and the
// adapter restarted, the real adapter serves the metric, doctor reports the
// chain healthy (exit 0) and the HPA controller scales to 2.
func TestDoctorInterlok(t *testing.T) {
	needSandbox(t)
	original := interlok(t)

	f, rep := waitForFinding(t, "interlok-autoscaler", "MS201")
	if chain := doctor.ChainPicture(rep.HPAs[0].Metrics[0].Chain); chain != "prometheus ✔ → rule ✘ → api · → hpa ✘" {
		t.Fatalf("chain %s", chain)
	}
	fix := f.Fix
	if want := "kubectl metricscale add-rule MessageMetrics --namespace-label k8s_namespace --pod-label k8s_pod_name"; fix.Command != want {
		t.Fatalf("fix command %q, want %q", fix.Command, want)
	}
	t.Logf("doctor's fix:\n$ %s\n%s", fix.Command, fix.YAML)
	// --summary: the same cause, grouped, with its one fix.
	out, _, code := runCmd(t, "doctor", "-n", "default", "--summary")
	t.Logf("doctor --summary (exit %d):\n%s", code, out)
	if code != 1 || !strings.Contains(out, "CAUSES") || !strings.Contains(out, "MS201") || !strings.Contains(out, "$ "+fix.Command) || strings.Contains(out, "HPA default/") {
		t.Fatalf("doctor --summary: exit %d, want the causes with MS201 and its command, and no per-HPA section", code)
	}
	doctorKubectlFormats(t, rep)

	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+fix.YAML)
	waitHealthy(t, "interlok-autoscaler", "150")
	waitInterlokReplicas(t, 2, "the HPA controller")
}

// doctorKubectlFormats runs doctor on interlok-autoscaler with kubectl's
// -o jsonpath, go-template and name: the templates read the fields of -o
// json (rep, its report now), and the exit code is still doctor's.
func doctorKubectlFormats(t *testing.T, rep *doctor.Report) {
	t.Helper()
	cases := []struct {
		output, want string
	}{
		{"jsonpath={.summary.errors}", strconv.Itoa(rep.Summary.Errors)},
		{`go-template={{range .hpas}}{{.namespace}}/{{.name}} {{len .metrics}}{{"\n"}}{{end}}`, fmt.Sprintf("default/interlok-autoscaler %d\n", len(rep.HPAs[0].Metrics))},
		{"name", "horizontalpodautoscaler.autoscaling/interlok-autoscaler\n"},
	}
	for _, c := range cases {
		out, errOut, code := runCmd(t, "doctor", "interlok-autoscaler", "-n", "default", "-o", c.output)
		if code != 1 || out != c.want {
			t.Fatalf("doctor -o %s: exit %d, stdout %q, want exit 1 and %q\n%s", c.output, code, out, c.want, errOut)
		}
	}
	if rep.Summary.Errors == 0 {
		t.Fatalf("doctor exits 1 with no errors counted: %+v", rep.Summary)
	}
}

// The Kong guide's rule, but with overrides on the plain namespace/service
// labels, which name the scrape target since it was scraped without
// honor_labels.
const kongBrokenRule = `- seriesQuery: '{__name__=~"^kong_upstream_latency_ms_(sum|count)",kubernetes_namespace!="",kubernetes_name!="",kubernetes_kind!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      service: {resource: service}
  name:
    as: kong_upstream_latency_ms_60s_average
  metricsQuery: sum(rate(kong_upstream_latency_ms_sum{<<.LabelMatchers>>}[60s:10s])) by (<<.GroupBy>>)
`

// TestDoctorKong: the Kong rule maps the scrape target's namespace/service,
// so the metric lands on kong/kong-proxy; doctor names the exported_*
// labels (MS206) and prints the corrected rule, which makes the real adapter
// serve the metric for Service echo.
func TestDoctorKong(t *testing.T) {
	needSandbox(t)
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(context.Background(), "echo", metav1.GetOptions{}); err != nil {
		applyScenario(t, "kong")
	}
	original := adapterConfig(t)
	t.Cleanup(func() { setAdapterConfig(t, original) })
	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+kongBrokenRule)

	// The first MS206 may come before the restarted adapter serves the
	// metric for the wrong objects; the corrected rule comes with the one
	// that sees the rule at work.
	f, _ := waitForFindingWith(t, "echo", "MS206", func(f *doctor.Finding) bool { return f.Fix != nil && f.Fix.YAML != "" })
	fix := f.Fix
	t.Logf("doctor's fix: %s\n%s", fix.Description, fix.YAML)
	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+fix.YAML)
	waitHealthy(t, "echo", "")
}

// TestDoctorPromFake: with the chart's default rules off and a rule that
// maps only namespace and pod, the Object metric on Service prom-fake is
// served for pods but not for the Service; doctor says so (MS211) and its
// rule makes the real adapter serve it for the Service.
func TestDoctorPromFake(t *testing.T) {
	needSandbox(t)
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(context.Background(), "nginx", metav1.GetOptions{}); err != nil {
		applyScenario(t, "promfake")
	}
	original := adapterConfig(t)
	t.Cleanup(func() { setAdapterConfig(t, original) })
	podsOnly := `rules:
- seriesQuery: '{__name__="prom_fake_value",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`
	setAdapterConfig(t, podsOnly)
	f, _ := waitForFinding(t, "nginx", "MS211")
	fix := f.Fix
	if want := "kubectl metricscale add-rule prom_fake_value --namespace-label namespace --resource service=service"; fix.Command != want {
		t.Fatalf("fix command %q, want %q", fix.Command, want)
	}
	setAdapterConfig(t, podsOnly+fix.YAML)
	waitHealthy(t, "nginx", "10")

	// The Object metric's selector reaches the adapter's query: endpoint
	// nope matches no series, endpoint web does.
	selectorFails(t, "nginx", "object", "endpoint", "nope", "web", "FailedGetObjectMetric", "MS302", "metricLabelSelector", "10")
}

// TestAdapterDownMakesAPIServiceUnavailable stops the adapter (its Deployment
// scaled to zero, so the host agent stops the process) and expects the
// aggregation layer to report FailedDiscoveryCheck; then it brings it back.
func TestAdapterDownMakesAPIServiceUnavailable(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	agg := aggregator.NewForConfigOrDie(env.rest)
	scale := func(n int32) {
		// An earlier test's restart may still be rolling: re-read on conflict.
		err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
			s, err := env.client.AppsV1().Deployments("monitoring").GetScale(ctx, "prometheus-adapter", metav1.GetOptions{})
			if err != nil {
				return err
			}
			s.Spec.Replicas = n
			_, err = env.client.AppsV1().Deployments("monitoring").UpdateScale(ctx, "prometheus-adapter", s, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	available := func(ctx context.Context) (*apiregistrationv1.APIServiceCondition, error) {
		as, err := agg.ApiregistrationV1().APIServices().Get(ctx, "v1beta1.custom.metrics.k8s.io", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		for _, c := range as.Status.Conditions {
			if c.Type == apiregistrationv1.Available {
				return &c, nil
			}
		}
		return nil, fmt.Errorf("no Available condition")
	}
	scale(0)
	t.Cleanup(func() {
		scale(1)
		eventually(t, 2*time.Minute, "the APIService is Available again", func(ctx context.Context) error {
			c, err := available(ctx)
			if err != nil {
				return err
			}
			if c.Status != apiregistrationv1.ConditionTrue {
				return fmt.Errorf("%s %s: %s", c.Status, c.Reason, c.Message)
			}
			return nil
		})
	})
	eventually(t, 2*time.Minute, "the APIService reports FailedDiscoveryCheck", func(ctx context.Context) error {
		c, err := available(ctx)
		if err != nil {
			return err
		}
		if c.Status != apiregistrationv1.ConditionFalse || c.Reason != "FailedDiscoveryCheck" {
			return fmt.Errorf("Available=%s %s", c.Status, c.Reason)
		}
		t.Logf("Available=False %s: %s", c.Reason, c.Message)
		return nil
	})
	err := env.client.Discovery().RESTClient().Get().AbsPath("/apis/custom.metrics.k8s.io/v1beta1").Do(ctx).Error()
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("GET /apis/custom.metrics.k8s.io/v1beta1 with the adapter down: want ServiceUnavailable, got %v", err)
	}
}
