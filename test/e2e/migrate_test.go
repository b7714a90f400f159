package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// scaledObjects reads migrate keda's YAML (a v1 List).
func scaledObjects(t *testing.T, out string) []keda.ScaledObject {
	t.Helper()
	var list struct {
		APIVersion string              `json:"apiVersion"`
		Kind       string              `json:"kind"`
		Items      []keda.ScaledObject `json:"items"`
	}
	if err := yaml.UnmarshalStrict([]byte(out), &list); err != nil {
		t.Fatalf("migrate keda's output is not a List of ScaledObjects: %v\n%s", err, out)
	}
	if list.APIVersion != "v1" || list.Kind != "List" {
		t.Fatalf("output is %s %s, want v1 List", list.APIVersion, list.Kind)
	}
	return list.Items
}

// TestMigrateKEDAInterlok: on the healthy Interlok chain (100 pushed, the
// target: the HPA keeps one replica while the test reads it; the rule added
// by add-rule), migrate keda prints a ScaledObject that adopts
// interlok-autoscaler, whose one prometheus trigger's query, run now, gives
// the value the adapter serves (within 1%).
func TestMigrateKEDAInterlok(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 100)
	ctx := context.Background()

	out, errOut, code := runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default")
	t.Logf("stderr:\n%s", errOut)
	if code != 0 {
		t.Fatalf("migrate keda: exit %d\n%s%s", code, out, errOut)
	}
	sos := scaledObjects(t, out)
	if len(sos) != 1 {
		t.Fatalf("%d ScaledObjects, want 1:\n%s", len(sos), out)
	}
	so := sos[0]
	if so.Namespace != "default" || so.Annotations[keda.TransferHPAOwnershipAnnotation] != "true" || so.HPAName() != "interlok-autoscaler" {
		t.Fatalf("the ScaledObject does not adopt the HPA: %+v", so.ObjectMeta)
	}
	if r := so.Spec.ScaleTargetRef; r == nil || r.Kind != "Deployment" || r.Name != "interlok" || *so.Spec.MinReplicaCount != 1 || *so.Spec.MaxReplicaCount != 5 {
		t.Fatalf("spec %+v", so.Spec)
	}
	if len(so.Spec.Triggers) != 1 {
		t.Fatalf("triggers %+v, want one", so.Spec.Triggers)
	}
	tr := so.Spec.Triggers[0]
	if tr.Type != "prometheus" || tr.MetricType != autoscalingv2.AverageValueMetricType || tr.Metadata["threshold"] != "100" || tr.Metadata["serverAddress"] == "" {
		t.Fatalf("trigger %+v", tr)
	}
	query := tr.Metadata["query"]
	pods, err := interlokPods(ctx)
	if err != nil || len(pods) != 1 {
		t.Fatalf("interlok pods %v: %v", pods, err)
	}
	if !strings.HasPrefix(query, "sum(") || !strings.Contains(query, pods[0]) {
		t.Fatalf("query %q: want the adapter's query for pod %s, summed", query, pods[0])
	}
	// The trigger's query run now, per replica as KEDA's AverageValue is
	// read, against the adapter's value for the pod.
	vec, err := promVector(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 1 {
		t.Fatalf("query %s returns %d series, want 1", query, len(vec))
	}
	adapter := adapterPodValue(t, pods[0])
	got := float64(vec[0].Value) / float64(len(pods))
	if d := got - adapter; d > 0.01*adapter || d < -0.01*adapter {
		t.Fatalf("query gives %g per replica, the adapter serves %g", got, adapter)
	}
	if !strings.Contains(errOut, "MessageMetrics") || !strings.Contains(errOut, "ok (0.00%)") {
		t.Fatalf("summary on stderr lacks the metric's check:\n%s", errOut)
	}
}

// adapterPodValue is what the custom metrics API serves for the pod.
func adapterPodValue(t *testing.T, pod string) float64 {
	t.Helper()
	v, err := customMetricsClient(t).NamespacedMetrics("default").GetForObject(schema.GroupKind{Kind: "Pod"}, pod, "MessageMetrics", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	return v.Value.AsApproximateFloat64()
}

// TestMigrateKEDATwoSeries: with the guide's rule (metricsQuery
// MessageMetrics, no aggregation) and a second series for the same pod,
// the adapter serves one value per pod while the trigger's sum() counts
// both: migrate keda refuses with exit 2, prints nothing and writes
// nothing.
func TestMigrateKEDATwoSeries(t *testing.T) {
	needSandbox(t)
	original := interlok(t)
	ctx := context.Background()
	pushInterlok(t, 150)
	pods, err := interlokPods(ctx)
	if err != nil || len(pods) != 1 {
		t.Fatalf("interlok pods %v: %v", pods, err)
	}
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "interlok-copy", map[string]string{"k8s_pod_name": pods[0]},
		"# TYPE MessageMetrics gauge\nMessageMetrics{k8s_namespace=\"default\"} 150\n"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePushGroup(t, "job/interlok-copy/k8s_pod_name/"+pods[0]) })
	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+interlokRule)

	var out, errOut string
	var code int
	eventually(t, 2*time.Minute, "migrate keda compares both series' sum with the adapter's value", func(ctx context.Context) error {
		out, errOut, code = runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default")
		if code != 2 || !strings.Contains(errOut, "apart") {
			return fmt.Errorf("exit %d\n%s", code, errOut)
		}
		return nil
	})
	t.Logf("stderr:\n%s", errOut)
	if out != "" {
		t.Fatalf("a refused migration printed:\n%s", out)
	}
	if !strings.Contains(errOut, "300 where the adapter serves 150") || !strings.Contains(errOut, "--force") {
		t.Fatalf("the refusal does not name both values and --force:\n%s", errOut)
	}
	sos, err := kedaClient(t).List(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(sos) != 0 {
		t.Fatalf("ScaledObjects %v exist after a refused migration", sos)
	}
	// --force prints it anyway, with the warning.
	out, errOut, code = runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--force")
	if code != 0 || len(scaledObjects(t, out)) != 1 || !strings.Contains(errOut, "warning (--force)") {
		t.Fatalf("--force: exit %d\n%s%s", code, out, errOut)
	}
}
