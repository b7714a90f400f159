package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/migrate"
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
	interlokHPAForgotten(t) // this test needs interlok at one pod
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
	// The Deployment's pod-name pattern, not today's pod, so the trigger
	// outlives the next rollout.
	if !strings.HasPrefix(query, "sum(") || !strings.Contains(query, `k8s_pod_name=~"interlok-[`) || strings.Contains(query, pods[0]) {
		t.Fatalf("query %q: want the adapter's query for interlok's pod-name pattern, summed", query)
	}
	if !strings.Contains(errOut, "MessageMetrics") || !strings.Contains(errOut, "ok (0.00%)") || strings.Contains(errOut, "note:") {
		t.Fatalf("summary on stderr lacks the metric's check, or has a note:\n%s", errOut)
	}
	if _, ok := so.Annotations[migrate.NotesAnnotation]; ok {
		t.Fatalf("a note on a trigger that outlives rollouts: %v", so.Annotations)
	}
	queryGivesAdapterValue(t, query, pods[0])
	migrateKubectlFormats(t, so.Name, query)

	// A rollout replaces the pod: the same query reads the new pod once
	// it pushes (the old pod's Pushgateway group deleted, as doctor's
	// MS302 fix says).
	newPod := rolloutInterlok(t, fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"metricscale.io/rollout":%q}}}}}`, time.Now().Format(time.RFC3339Nano)))
	pushInterlok(t, 100)
	eventually(t, 2*time.Minute, "Prometheus has the new pod's value and not the old pod's", func(ctx context.Context) error {
		vec, err := promVector(ctx, `MessageMetrics{k8s_namespace="default"}`)
		if err != nil {
			return err
		}
		if len(vec) != 1 || string(vec[0].Metric["k8s_pod_name"]) != newPod {
			return fmt.Errorf("series %v", vec)
		}
		return nil
	})
	queryGivesAdapterValue(t, query, newPod)
}

// rolloutInterlok patches interlok's Deployment with patch (a strategic
// merge patch of its template), waits until its one pod is replaced and
// deletes the old pod's Pushgateway group (doctor's MS302 fix). It returns
// the new pod's name.
func rolloutInterlok(t *testing.T, patch string) string {
	t.Helper()
	ctx := context.Background()
	old, err := interlokPods(ctx)
	if err != nil || len(old) != 1 {
		t.Fatalf("interlok pods %v: %v", old, err)
	}
	if _, err := env.client.AppsV1().Deployments("default").Patch(ctx, "interlok", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var newPod string
	eventually(t, 2*time.Minute, "the rollout replaces interlok's pod", func(ctx context.Context) error {
		now, err := interlokPods(ctx)
		if err != nil {
			return err
		}
		all, err := env.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=interlok"})
		if err != nil {
			return err
		}
		if len(now) != 1 || now[0] == old[0] || len(all.Items) != 1 {
			return fmt.Errorf("running pods %v, %d in all", now, len(all.Items))
		}
		newPod = now[0]
		return nil
	})
	deletePushGroup(t, "job/interlok/k8s_pod_name/"+old[0])
	return newPod
}

// migrateKubectlFormats runs migrate keda on interlok-autoscaler again with
// kubectl's -o jsonpath, go-template and name: the templates read the List
// -o json prints (its ScaledObject name, whose trigger runs query).
func migrateKubectlFormats(t *testing.T, name, query string) {
	t.Helper()
	cases := []struct {
		output, want string
	}{
		{"jsonpath={.items[0].spec.triggers[0].metadata.query}", query},
		{`go-template={{range .items}}{{.metadata.namespace}}/{{.metadata.name}} {{len .spec.triggers}}{{"\n"}}{{end}}`, "default/" + name + " 1\n"},
		{"name", "scaledobject.keda.sh/" + name + "\n"},
	}
	for _, c := range cases {
		out, errOut, code := runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "-o", c.output)
		if code != 0 || out != c.want {
			t.Fatalf("migrate keda -o %s: exit %d, stdout %q, want exit 0 and %q\n%s", c.output, code, out, c.want, errOut)
		}
		if !strings.Contains(errOut, "ok (0.00%)") {
			t.Fatalf("migrate keda -o %s: the check is not on stderr:\n%s", c.output, errOut)
		}
	}
}

// queryGivesAdapterValue runs a migrated trigger's query for interlok's one
// pod and compares it with what the adapter serves for that pod.
func queryGivesAdapterValue(t *testing.T, query, pod string) {
	t.Helper()
	eventually(t, time.Minute, "the adapter serves "+pod, func(ctx context.Context) error {
		_, err := customMetricsClient(t).NamespacedMetrics("default").GetForObject(schema.GroupKind{Kind: "Pod"}, pod, "MessageMetrics", labels.Everything())
		return err
	})
	vec, err := promVector(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 1 {
		t.Fatalf("query %s returns %d series, want 1", query, len(vec))
	}
	adapter := adapterPodValue(t, pod)
	if got := float64(vec[0].Value); got < 0.99*adapter || got > 1.01*adapter {
		t.Fatalf("query %s gives %g, the adapter serves %g for pod %s", query, got, adapter, pod)
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

// testMigrateKEDATwoSeries: with the guide's rule (metricsQuery
// MessageMetrics, no aggregation) and a second series for the same pod,
// the adapter serves one value per pod while the trigger's sum() counts
// both: migrate keda refuses with exit 2, prints nothing and writes
// nothing.
func testMigrateKEDATwoSeries(t *testing.T) {
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

// TestMigrateKEDASomePods: the guide's load (150) on interlok's one pod
// makes the HPA controller scale it to 2, and the new pod pushes nothing.
// The adapter serves the pod that has a value (150, the HPA's average)
// where the trigger's sum over the 2 replicas gives 75: migrate keda
// refuses, saying why as doctor does (MS304), not with a guess; doctor
// reports MS304 on the same chain.
func TestMigrateKEDASomePods(t *testing.T) {
	needSandbox(t)
	interlokHPAForgotten(t)
	original := interlok(t)
	pushInterlok(t, 150)
	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+interlokRule)
	var errOut string
	eventually(t, 4*time.Minute, "the HPA scales interlok to 2 and migrate keda names the pods without a series", func(ctx context.Context) error {
		var code int
		_, errOut, code = runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default")
		if code != 2 || !strings.Contains(errOut, "gives 75 where the adapter serves 150") ||
			!strings.Contains(errOut, "because only 1 of the 2 pods have a series") || !strings.Contains(errOut, "MS304") {
			return fmt.Errorf("exit %d\n%s", code, errOut)
		}
		return nil
	})
	if strings.Contains(errOut, "for example a selector") {
		t.Fatalf("the refusal still guesses:\n%s", errOut)
	}
	eventually(t, time.Minute, "doctor reports MS304 on interlok-autoscaler", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", "default", "interlok-autoscaler")
		if fs := findingsOf(rep, "interlok-autoscaler"); findCode(fs, "MS304") == nil {
			return fmt.Errorf("exit %d, findings %s", exit, codesOf(fs))
		}
		return nil
	})
}

// testMigrateKEDAApplyRollback: on the healthy Interlok chain with
// external.metrics.k8s.io on the adapter and no other HPA holding it,
// migrate keda --apply moves that APIService to KEDA's metrics server
// (KEDA's spec, the adapter's kept in the backup annotation), creates the
// ScaledObject and exits 0 once KEDA drives the HPA: the ScaledObject is
// Ready, the same HPA object (same UID) is now controlled by it and reads
// from KEDA the value the adapter serves (within 1%); the real HPA
// controller, fed by KEDA, scales interlok 1→2 when the guide's load (150)
// is pushed. --rollback then leaves no ScaledObject and the same HPA with
// its original spec (a Pods metric), read from the adapter again, and the
// APIService back on the adapter's spec exactly.
func testMigrateKEDAApplyRollback(t *testing.T) {
	needSandbox(t)
	interlokHPAForgotten(t) // this test checks a scale from 1 to 2
	healthyInterlok(t, 100)
	useExternalMetrics(t, sandbox.ExternalMetricsAdapter)
	ctx := context.Background()
	apis := aggregator.NewForConfigOrDie(env.rest).ApiregistrationV1().APIServices()
	adapterSpec, err := sandbox.ExternalMetricsSpec(sandbox.ExternalMetricsAdapter, env.info.Ports)
	if err != nil {
		t.Fatal(err)
	}
	hpas := env.client.AutoscalingV2().HorizontalPodAutoscalers("default")
	kc := kedaClient(t)
	before, err := hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep, err := env.client.AppsV1().Deployments("default").Get(ctx, "interlok", metav1.GetOptions{}); err != nil || *dep.Spec.Replicas != 1 {
		t.Fatalf("interlok must start with 1 replica for the 1→2 check: %v", err)
	}
	// After a failure before the rollback: no ScaledObject may outlive the
	// test (its HPA goes with it, as resetInterlok wants).
	t.Cleanup(func() { deleteScaledObject(t, "default", "interlok-autoscaler") })

	// KEDA's operator runs the query itself, as a host process, where the
	// adapter's cluster DNS name for Prometheus does not resolve.
	out, errOut, code := runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--apply", "--server-address", env.info.PrometheusURL)
	t.Logf("--apply stdout:\n%sstderr:\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("migrate keda --apply: exit %d", code)
	}
	if !strings.Contains(out, "scaledobject.keda.sh/interlok-autoscaler created") || !strings.Contains(errOut, "Ready; HPA interlok-autoscaler reads s0-prometheus = ") ||
		!strings.Contains(errOut, "APIService v1beta1.external.metrics.k8s.io, monitoring/prometheus-adapter (prometheus-adapter): moves-to-keda") ||
		!strings.Contains(errOut, "moved from monitoring/prometheus-adapter to KEDA's metrics server keda/keda-metrics-apiserver") {
		t.Fatalf("--apply does not say what it created, what it waited for, the APIService plan and the move")
	}
	moved, err := apis.Get(ctx, sandbox.ExternalMetricsAPIService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// KEDA's spec, plus the caBundle KEDA's operator injected.
	kedaSpec, err := sandbox.ExternalMetricsSpec(sandbox.ExternalMetricsKEDA, env.info.Ports)
	if err != nil {
		t.Fatal(err)
	}
	kedaSpec.CABundle = moved.Spec.CABundle
	if !apiequality.Semantic.DeepEqual(moved.Spec, kedaSpec) || len(moved.Spec.CABundle) == 0 || !strings.Contains(moved.Annotations[migrate.APIServiceBackupAnnotation], `"insecureSkipTLSVerify":true`) {
		t.Fatalf("after --apply the APIService is %+v, annotations %v; want KEDA's spec with its caBundle and the adapter's in the backup", moved.Spec, moved.Annotations)
	}
	so, err := kc.Get(ctx, "default", "interlok-autoscaler")
	if err != nil {
		t.Fatal(err)
	}
	if !so.IsTrue(keda.ConditionReady) || so.Labels[migrate.ManagedByLabel] != migrate.ManagedBy || so.Annotations[migrate.BackupAnnotation] == "" {
		t.Fatalf("ScaledObject conditions %+v, labels %v, annotations %v", so.Status.Conditions, so.Labels, so.Annotations)
	}
	hpa, err := hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(hpa); hpa.UID != before.UID || owner == nil || owner.Kind != "ScaledObject" || owner.Name != so.Name {
		t.Fatalf("HPA UID %s (was %s), controller %+v: want the same HPA, adopted by the ScaledObject", hpa.UID, before.UID, owner)
	}
	pods, err := interlokPods(ctx)
	if err != nil || len(pods) != 1 {
		t.Fatalf("interlok pods %v: %v", pods, err)
	}
	fromKEDA, ok := migrate.CurrentExternal(hpa, keda.ExternalMetricName(0, "prometheus"))
	adapter := adapterPodValue(t, pods[0])
	if d := fromKEDA - adapter; !ok || d > 0.01*adapter || d < -0.01*adapter {
		t.Fatalf("the HPA reads %g from KEDA (%v), the adapter serves %g; current metrics %+v", fromKEDA, ok, adapter, hpa.Status.CurrentMetrics)
	}

	pushInterlok(t, 150)
	waitInterlokReplicas(t, 2, "the HPA controller, fed by KEDA (150 per pod, target 100),")
	if _, err := sandbox.WaitDeploymentReady(ctx, env.client, "default/interlok", time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	pushInterlok(t, 150) // the new pod too: the adapter serves each pod's value

	out, errOut, code = runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--rollback")
	t.Logf("--rollback stdout:\n%sstderr:\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("migrate keda --rollback: exit %d", code)
	}
	if !strings.Contains(out, "horizontalpodautoscaler.autoscaling/interlok-autoscaler restored") || !strings.Contains(errOut, "reads its metrics again") ||
		!strings.Contains(errOut, "restored from annotation "+migrate.APIServiceBackupAnnotation+": monitoring/prometheus-adapter") {
		t.Fatal("--rollback does not say what it restored and waited for")
	}
	back, err := apis.Get(ctx, sandbox.ExternalMetricsAPIService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := back.Annotations[migrate.APIServiceBackupAnnotation]; ok || !apiequality.Semantic.DeepEqual(back.Spec, adapterSpec) {
		t.Fatalf("after --rollback the APIService is %+v, annotations %v; want the adapter's spec %+v", back.Spec, back.Annotations, adapterSpec)
	}
	after, err := hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || len(after.OwnerReferences) != 0 || !apiequality.Semantic.DeepEqual(after.Spec, before.Spec) || after.Spec.Metrics[0].Type != autoscalingv2.PodsMetricSourceType {
		t.Fatalf("after the rollback: UID %s (was %s), owners %+v, spec %+v\nwant spec %+v", after.UID, before.UID, after.OwnerReferences, after.Spec, before.Spec)
	}
	if !apiequality.Semantic.DeepEqual(after.Labels, before.Labels) || !apiequality.Semantic.DeepEqual(after.Annotations, before.Annotations) {
		t.Fatalf("labels %v annotations %v, want %v %v", after.Labels, after.Annotations, before.Labels, before.Annotations)
	}
	if sos, err := kc.List(ctx, "default"); err != nil || len(sos) != 0 {
		t.Fatalf("ScaledObjects after the rollback: %v, %v", sos, err)
	}
}

// testMigrateKEDAPromFake: the HPA walkthrough's Object metric (HPA nginx,
// prom_fake_value on Service prom-fake, target Value 10, 10 pushed) with
// external.metrics.k8s.io handed to KEDA. migrate keda --apply exits 0 with
// a Value trigger; the same HPA reads from KEDA the adapter's value (within
// 1%) and keeps its replicas; doubling the value (20) makes the HPA
// controller, fed by KEDA, double them (1→2 from the scenario's start);
// --rollback leaves no ScaledObject and the same HPA with its Object metric,
// read from the adapter again.
func testMigrateKEDAPromFake(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	hpas := env.client.AutoscalingV2().HorizontalPodAutoscalers("default")
	if _, err := hpas.Get(ctx, "nginx", metav1.GetOptions{}); err != nil {
		applyScenario(t, "promfake")
	}
	pushPromFake(t, 10)
	t.Cleanup(func() { pushPromFake(t, 10) })
	waitHealthy(t, "nginx", "10")
	useKEDAForExternalMetrics(t)
	kc := kedaClient(t)
	t.Cleanup(func() {
		if deleteScaledObject(t, "default", "nginx") {
			// KEDA's HPA went with it: the scenario's comes back.
			applyScenario(t, "promfake")
		}
	})
	before, err := hpas.Get(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := env.client.AppsV1().Deployments("default").Get(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	replicas := *dep.Spec.Replicas // 1 from the scenario; more if an earlier test scaled it
	if replicas > before.Spec.MaxReplicas/2 {
		t.Fatalf("nginx has %d replicas: doubling them would pass maxReplicas %d", replicas, before.Spec.MaxReplicas)
	}

	// -o json, as kubectl apply -o json: the ScaledObject created, as the
	// API server returned it, on stdout; the progress on stderr.
	out, errOut, code := runCmd(t, "migrate", "keda", "nginx", "-n", "default", "--apply", "--server-address", env.info.PrometheusURL, "-o", "json")
	t.Logf("--apply -o json stdout:\n%sstderr:\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("migrate keda --apply: exit %d", code)
	}
	var printed keda.ScaledObject
	if err := json.Unmarshal([]byte(out), &printed); err != nil || printed.Kind != "ScaledObject" || printed.Name != "nginx" || printed.UID == "" ||
		printed.Annotations[migrate.BackupAnnotation] == "" || len(printed.ManagedFields) != 0 {
		t.Fatalf("--apply -o json printed no ScaledObject as created (%v): %+v", err, printed.ObjectMeta)
	}
	if !strings.Contains(errOut, "scaledobject.keda.sh/nginx created") {
		t.Fatal("--apply -o json does not say on stderr what it created")
	}
	so, err := kc.Get(ctx, "default", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if so.UID != printed.UID {
		t.Fatalf("printed ScaledObject UID %s, the cluster's %s", printed.UID, so.UID)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].MetricType != autoscalingv2.ValueMetricType || so.Spec.Triggers[0].Metadata["threshold"] != "10" {
		t.Fatalf("triggers %+v: want one Value trigger, threshold 10", so.Spec.Triggers)
	}
	hpa, err := hpas.Get(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(hpa); hpa.UID != before.UID || owner == nil || owner.Kind != "ScaledObject" || owner.Name != so.Name {
		t.Fatalf("HPA UID %s (was %s), controller %+v: want the same HPA, adopted by the ScaledObject", hpa.UID, before.UID, owner)
	}
	adapter, err := customMetricsClient(t).NamespacedMetrics("default").GetForObject(schema.GroupKind{Kind: "Service"}, "prom-fake", "prom_fake_value", labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	want := adapter.Value.AsApproximateFloat64()
	fromKEDA, ok := migrate.CurrentExternal(hpa, keda.ExternalMetricName(0, "prometheus"))
	if d := fromKEDA - want; !ok || d > 0.01*want || d < -0.01*want {
		t.Fatalf("the HPA reads %g from KEDA (%v), the adapter serves %g; current metrics %+v", fromKEDA, ok, want, hpa.Status.CurrentMetrics)
	}
	// The HPA, fed by KEDA, keeps the replicas: its desired count is
	// the current one.
	eventually(t, time.Minute, "the HPA fed by KEDA settles on the current replicas", func(ctx context.Context) error {
		h, err := hpas.Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if h.Status.DesiredReplicas != replicas || h.Status.LastScaleTime != nil && h.Status.LastScaleTime.After(so.CreationTimestamp.Time) {
			return fmt.Errorf("desired %d, last scaled %v", h.Status.DesiredReplicas, h.Status.LastScaleTime)
		}
		return nil
	})

	pushPromFake(t, 20)
	waitReplicas(t, "default", "nginx", 2*replicas)

	out, errOut, code = runCmd(t, "migrate", "keda", "nginx", "-n", "default", "--rollback")
	t.Logf("--rollback stdout:\n%sstderr:\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("migrate keda --rollback: exit %d", code)
	}
	after, err := hpas.Get(ctx, "nginx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || len(after.OwnerReferences) != 0 || !apiequality.Semantic.DeepEqual(after.Spec, before.Spec) || after.Spec.Metrics[0].Type != autoscalingv2.ObjectMetricSourceType {
		t.Fatalf("after the rollback: UID %s (was %s), owners %+v, spec %+v\nwant spec %+v", after.UID, before.UID, after.OwnerReferences, after.Spec, before.Spec)
	}
	if sos, err := kc.List(ctx, "default"); err != nil || len(sos) != 0 {
		t.Fatalf("ScaledObjects after the rollback: %v, %v", sos, err)
	}
	eventually(t, time.Minute, "the HPA reads its Object metric from the adapter again", func(ctx context.Context) error {
		h, err := hpas.Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, m := range h.Status.CurrentMetrics {
			if m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil && m.Object.Current.Value != nil && m.Object.Current.Value.Value() == 20 {
				return nil
			}
		}
		return fmt.Errorf("current metrics %+v", h.Status.CurrentMetrics)
	})
}

// testMigrateKEDAApplyHeld: with external.metrics.k8s.io on the adapter and
// an HPA not migrated that reads an External metric from it, migrate keda
// --apply for interlok exits 2 naming that HPA and what to do, and writes
// nothing: no ScaledObject, the APIService as it was.
func testMigrateKEDAApplyHeld(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 100)
	useExternalMetrics(t, sandbox.ExternalMetricsAdapter)
	createQueueHPA(t, "held-worker", "held")
	ctx := context.Background()
	apis := aggregator.NewForConfigOrDie(env.rest).ApiregistrationV1().APIServices()
	before, err := apis.Get(ctx, sandbox.ExternalMetricsAPIService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	out, errOut, code := runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--apply", "--server-address", env.info.PrometheusURL)
	t.Logf("--apply stdout:\n%sstderr:\n%s", out, errOut)
	if code != 2 || out != "" {
		t.Fatalf("migrate keda --apply with a held APIService: exit %d, want 2 and nothing on stdout", code)
	}
	if !strings.Contains(errOut, "nothing applied: APIService v1beta1.external.metrics.k8s.io stays with the adapter: HPA(s) default/held-worker read External metrics") ||
		!strings.Contains(errOut, "migrate them in the same run, or pass --force") || !strings.Contains(errOut, "held by HPA(s): default/held-worker") {
		t.Fatal("the refusal does not name the HPA that holds the APIService and what to do")
	}
	if sos, err := kedaClient(t).List(ctx, "default"); err != nil || len(sos) != 0 {
		t.Fatalf("ScaledObjects after a refused --apply: %v, %v", sos, err)
	}
	after, err := apis.Get(ctx, sandbox.ExternalMetricsAPIService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Its status may change (the aggregator's checks); its spec and
	// annotations may not.
	if !apiequality.Semantic.DeepEqual(after.Spec, before.Spec) || !apiequality.Semantic.DeepEqual(after.Annotations, before.Annotations) {
		t.Fatalf("a refused --apply changed the APIService: %+v %v, was %+v %v", after.Spec, after.Annotations, before.Spec, before.Annotations)
	}
}
