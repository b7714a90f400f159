package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/cmd"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// runCmd runs `kubectl metricscale ARGS` in-process against the sandbox and
// returns stdout, stderr and the exit code.
func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := cmd.NewCmdMetricscale(streams)
	root.SetArgs(append([]string{"--kubeconfig", env.info.Kubeconfig}, args...))
	err := root.Execute()
	if err != nil {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), cmd.ExitCode(err)
}

// backups lists the backup ConfigMaps of the adapter's config.
func backups(t *testing.T) []configstore.Backup {
	t.Helper()
	s := &configstore.Store{Client: env.client, Namespace: "monitoring", Name: "prometheus-adapter", Key: "config.yaml"}
	bs, err := s.Backups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func deleteBackups(t *testing.T) {
	for _, b := range backups(t) {
		_ = env.client.CoreV1().ConfigMaps("monitoring").Delete(context.Background(), b.Name, metav1.DeleteOptions{})
	}
}

// listedMetrics is what the custom metrics API lists.
func listedMetrics(ctx context.Context) ([]string, error) {
	rl, err := env.client.Discovery().ServerResourcesForGroupVersion("custom.metrics.k8s.io/v1beta1")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rl.APIResources {
		out = append(out, r.Name)
	}
	return out, nil
}

func waitReplicas(t *testing.T, ns, name string, want int32) {
	t.Helper()
	eventually(t, 2*time.Minute, fmt.Sprintf("the HPA controller scales %s to %d", name, want), func(ctx context.Context) error {
		dep, err := env.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *dep.Spec.Replicas != want {
			return fmt.Errorf("replicas %d", *dep.Spec.Replicas)
		}
		return nil
	})
}

// TestAddRuleInterlok: the Interlok walkthrough in one command. The HPA
// says <unknown> (doctor: MS201, with the add-rule command as the fix);
// running that command writes the rule, restarts the real adapter and
// returns once the metrics API serves 150 for the pod; doctor then reports
// the chain healthy and the HPA controller scales interlok from 1 to 2.
// Running it again changes nothing; rollback restores the config.
func TestAddRuleInterlok(t *testing.T) {
	needSandbox(t)
	original := interlok(t)

	f, _ := waitForFinding(t, "interlok-autoscaler", "MS201")
	args := strings.Fields(strings.TrimPrefix(f.Fix.Command, "kubectl metricscale "))
	if args[0] != "add-rule" {
		t.Fatalf("doctor's fix is not an add-rule command: %q", f.Fix.Command)
	}

	// A dry run says so first, shows the rule once and writes nothing.
	out, errOut, code := runCmd(t, append(args, "--dry-run=client")...)
	rule := "- seriesQuery: '{__name__=\"MessageMetrics\",k8s_namespace!=\"\",k8s_pod_name!=\"\"}'"
	if code != 0 || strings.Count(out, rule) != 1 || !strings.HasPrefix(out, "dry run (client): nothing is written") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if adapterConfig(t) != original || len(backups(t)) != 0 {
		t.Fatal("the dry run wrote something")
	}

	start := time.Now()
	out, errOut, code = runCmd(t, args...)
	t.Logf("$ kubectl metricscale %s  (%.1fs)\n%s%s", strings.Join(args, " "), time.Since(start).Seconds(), out, errOut)
	if code != 0 {
		t.Fatalf("add-rule: exit %d", code)
	}
	for _, want := range []string{"successfully rolled out", "the metrics API serves MessageMetrics", "150", "type: Pods"} {
		if !strings.Contains(out, want) {
			t.Fatalf("add-rule output lacks %q", want)
		}
	}
	cm := customMetricsClient(t)
	list, err := cm.NamespacedMetrics("default").GetForObjects(schema.GroupKind{Kind: "Pod"}, labels.SelectorFromSet(labels.Set{"app": "interlok"}), "MessageMetrics", labels.Everything())
	if err != nil || len(list.Items) != 1 || list.Items[0].Value.Value() != 150 {
		t.Fatalf("right after add-rule the API serves %v, %v", list, err)
	}
	if bs := backups(t); len(bs) != 1 || bs[0].Data["config.yaml"] != original || bs[0].Reason != "add-rule MessageMetrics" {
		t.Fatalf("want one backup holding the original config, got %+v", bs)
	}

	waitHealthy(t, "interlok-autoscaler", "150")
	waitReplicas(t, "default", "interlok", 2)

	out, _, code = runCmd(t, args...)
	if code != 0 || !strings.HasPrefix(out, "nothing to do: MessageMetrics is already served by rules[") || strings.Contains(out, "WARNING") {
		t.Fatalf("second add-rule: exit %d\n%s", code, out)
	}

	out, errOut, code = runCmd(t, "rollback")
	if code != 0 || !strings.Contains(out, "restored ConfigMap monitoring/prometheus-adapter") {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	if adapterConfig(t) != original || len(backups(t)) != 0 {
		t.Fatal("rollback did not restore the original config and drop its backup")
	}
	_, errOut, code = runCmd(t, "rollback")
	if code != 2 || !strings.Contains(errOut, "nothing to roll back") {
		t.Fatalf("rollback without backups: exit %d, %s", code, errOut)
	}
}

// TestAddRulePromFakeService: with a config that serves prom_fake_value
// only for pods, add-rule --resource service=service makes the real adapter
// serve it for Service prom-fake (an Object metric), and doctor reports the
// nginx HPA healthy.
func TestAddRulePromFakeService(t *testing.T) {
	needSandbox(t)
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(context.Background(), "nginx", metav1.GetOptions{}); err != nil {
		applyScenario(t, "promfake")
	}
	original := adapterConfig(t)
	t.Cleanup(func() { deleteBackups(t); setAdapterConfig(t, original) })
	setAdapterConfig(t, `# pods only: the Service has no rule
rules:
- seriesQuery: '{__name__="prom_fake_value",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`)
	waitForFinding(t, "nginx", "MS211")
	out, errOut, code := runCmd(t, "add-rule", "prom_fake_value", "--resource", "service=service")
	t.Logf("%s%s", out, errOut)
	if code != 0 || !strings.Contains(out, "services  prom-fake") {
		t.Fatalf("add-rule: exit %d", code)
	}
	if cfg := adapterConfig(t); !strings.HasPrefix(cfg, "# pods only: the Service has no rule\n") {
		t.Fatalf("the comment at the top of the config was lost:\n%s", cfg)
	}
	waitHealthy(t, "nginx", "10")

	// The Service's value rises to 15 against a target of 10: the real HPA
	// controller scales nginx from 1 to 2 on the Object metric add-rule made.
	t.Cleanup(func() { pushPromFake(t, 10) })
	if dep, _ := env.client.AppsV1().Deployments("default").Get(context.Background(), "nginx", metav1.GetOptions{}); *dep.Spec.Replicas != 1 {
		t.Fatalf("nginx should start with 1 replica, has %d", *dep.Spec.Replicas)
	}
	pushPromFake(t, 15)
	waitReplicas(t, "default", "nginx", 2)
}

// TestAddRuleCounter: a counter pushed with k8s_namespace/k8s_pod_name
// labels, which the default rules (they serve every *_total with
// namespace/pod labels) do not map: add-rule serves its rate under
// the name without _total, writes an HPA with --hpa, and the HPA
// controller scales the Deployment from 1 to 2.
func TestAddRuleCounter(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	original := adapterConfig(t)
	const name = "orders"
	t.Cleanup(func() {
		deleteBackups(t)
		_ = env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Delete(ctx, name, metav1.DeleteOptions{})
		_ = env.client.AppsV1().Deployments("default").Delete(ctx, name, metav1.DeleteOptions{})
		setAdapterConfig(t, original)
	})
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.example/orders:1"}},
				},
			},
		},
	}
	if _, err := env.client.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pods, err := sandbox.WaitDeploymentReady(ctx, env.client, "default/"+name, time.Minute, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	pod := pods[0].Name
	// A counter that grows by 10 per second.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			body := fmt.Sprintf("# TYPE orders_processed_total counter\norders_processed_total{k8s_namespace=\"default\",k8s_pod_name=%q} %d\n", pod, i*10)
			_ = sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "orders", map[string]string{"instance": pod}, body)
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done; deletePushGroup(t, "job/orders/instance/"+pod) })

	eventually(t, 2*time.Minute, "add-rule finds the counter's series", func(ctx context.Context) error {
		out, errOut, code := runCmd(t, "add-rule", "orders_processed_total", "--dry-run=client")
		if code != 0 {
			return fmt.Errorf("exit %d: %s%s", code, out, errOut)
		}
		return nil
	})
	out, errOut, code := runCmd(t, "add-rule", "orders_processed_total", "--hpa", name, "--target", "5", "-n", "default")
	t.Logf("%s%s", out, errOut)
	if code != 0 {
		t.Fatalf("add-rule: exit %d", code)
	}
	for _, want := range []string{"orders_processed_total ends in _total", "rate(", "labels k8s_namespace → namespace, k8s_pod_name → pod", "created HPA default/orders",
		"its request, as the HPA controller sends it, answers orders-", "GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/orders_processed?labelSelector=app%3Dorders"} {
		if !strings.Contains(out, want) {
			t.Fatalf("add-rule output lacks %q", want)
		}
	}
	waitReplicas(t, "default", name, 2)
	rep, _ := runDoctor(t, "-n", "default", name)
	if len(rep.HPAs) != 1 || !rep.HPAs[0].Metrics[0].Healthy || rep.HPAs[0].Metrics[0].Name != "orders_processed" {
		t.Fatalf("doctor on the new HPA: %+v", rep.HPAs)
	}
}

// TestAddRuleNeedsNamespaceLabel: series that name their pod by a label of
// the team's own choosing and their namespace by another. add-rule given
// only the pod label refuses the rule (one without a namespace serves no
// HPA), names the flag that fixes it and writes nothing, dry run or not;
// with both labels its dry run proposes the rule.
func TestAddRuleNeedsNamespaceLabel(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	original := adapterConfig(t)
	body := "# TYPE newbie_backlog gauge\nnewbie_backlog{team_namespace=\"default\"} 7\n"
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "newbie", map[string]string{"team_pod": "newbie-1"}, body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePushGroup(t, "job/newbie/team_pod/newbie-1") })
	const refusal = "no label of the series names a namespace"
	for _, dryRun := range []string{"--dry-run=client", "--dry-run=none"} {
		var out, errOut string
		var code int
		eventually(t, time.Minute, "add-rule "+dryRun+" refuses a rule without a namespace label", func(ctx context.Context) error {
			out, errOut, code = runCmd(t, "add-rule", "newbie_backlog", "--pod-label", "team_pod", dryRun)
			if code != cmd.ExitCannotRun || !strings.Contains(errOut, refusal) {
				return fmt.Errorf("exit %d\n%s%s", code, out, errOut)
			}
			return nil
		})
		if !strings.Contains(errOut, "team_namespace") || !strings.Contains(errOut, "--namespace-label") || strings.Contains(out, "will serve") {
			t.Fatalf("%s: the refusal does not name the label and the flag, or serves anyway:\n%s%s", dryRun, out, errOut)
		}
	}
	if adapterConfig(t) != original {
		t.Fatal("a refused add-rule changed the adapter's config")
	}
	out, errOut, code := runCmd(t, "add-rule", "newbie_backlog", "--pod-label", "team_pod", "--namespace-label", "team_namespace", "--dry-run=client")
	if code != 0 || !strings.HasPrefix(out, "dry run (client): nothing is written") || !strings.Contains(out, "team_namespace: {resource: namespace}") {
		t.Fatalf("with both labels: exit %d\n%s%s", code, out, errOut)
	}
}

// TestAddRuleRestoresWhenAdapterFails: the adapter is forced to fail at its
// next start; add-rule sees the new pod crash, puts the previous config
// back, restarts the adapter again and exits 1 with the pod's last words;
// the adapter then serves the metrics it served before, and only them.
func TestAddRuleRestoresWhenAdapterFails(t *testing.T) {
	needSandbox(t)
	original := adapterConfig(t)
	applyScenario(t, "interlok")
	t.Cleanup(func() {
		sandbox.ClearFault(env.info.StateDir, "prometheus-adapter")
		deleteBackups(t)
		resetInterlok(t, original)
	})
	addRuleServes(t, "MessageMetrics")
	served := adapterConfig(t)

	const forced = "forced failure: the adapter cannot start"
	if err := sandbox.FailNextStart(env.info.StateDir, "prometheus-adapter", forced); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "add-rule", "MessageMetrics", "--api-name", "MessageMetricsCopy")
	t.Logf("%s%s", out, errOut)
	if code != 1 {
		t.Fatalf("add-rule with a failing adapter: exit %d, want 1", code)
	}
	if !strings.Contains(errOut, forced) || !strings.Contains(errOut, "the previous config is back") {
		t.Fatalf("the error does not show the pod's last words and the restore:\n%s", errOut)
	}
	if got := adapterConfig(t); got != served {
		t.Fatalf("the config was not restored:\n%s", got)
	}
	if bs := backups(t); len(bs) != 1 {
		t.Fatalf("want only the first add-rule's backup left, got %d", len(bs))
	}
	eventually(t, time.Minute, "the adapter serves MessageMetrics again, and not the new metric", func(ctx context.Context) error {
		listed, err := listedMetrics(ctx)
		if err != nil {
			return err
		}
		all := "," + strings.Join(listed, ",") + ","
		if !strings.Contains(all, ",pods/MessageMetrics,") || strings.Contains(all, "MessageMetricsCopy") {
			return fmt.Errorf("listed %v", listed)
		}
		return nil
	})
	waitHealthy(t, "interlok-autoscaler", "150")
}

// TestConfigStoreConcurrentWriter: another client changes the ConfigMap
// between the read and the write; the write conflicts, the edit is applied
// again to the newer config, and both changes survive. The backup holds
// exactly what was replaced.
func TestConfigStoreConcurrentWriter(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	const name = "concurrent-writer"
	_ = env.client.CoreV1().ConfigMaps("default").Delete(ctx, name, metav1.DeleteOptions{})
	if _, err := env.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Data:       map[string]string{"config.yaml": "rules: []\n", "other": "kept"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	store := &configstore.Store{Client: env.client, Namespace: "default", Name: name, Key: "config.yaml"}
	t.Cleanup(func() {
		bs, _ := store.Backups(ctx)
		for _, b := range bs {
			_ = env.client.CoreV1().ConfigMaps("default").Delete(ctx, b.Name, metav1.DeleteOptions{})
		}
		_ = env.client.CoreV1().ConfigMaps("default").Delete(ctx, name, metav1.DeleteOptions{})
	})
	calls := 0
	edit := func(current string) (string, error) {
		calls++
		if calls == 1 {
			// The other writer, after this edit read the ConfigMap.
			cm, err := env.client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			cm.Data["config.yaml"] = "# written by someone else\n" + cm.Data["config.yaml"]
			if _, err := env.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				return "", err
			}
		}
		return rules.Insert(current, rules.Custom, "seriesQuery: '{__name__=\"x\",namespace!=\"\",pod!=\"\"}'\nresources: {template: <<.Resource>>}\n")
	}
	res, err := store.Update(ctx, edit, "test", configstore.DryRunNone)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := env.client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := cm.Data["config.yaml"]
	if res.Attempts != 2 || !strings.HasPrefix(got, "# written by someone else\n") || !strings.Contains(got, `__name__="x"`) || cm.Data["other"] != "kept" {
		t.Fatalf("attempts %d, config:\n%s", res.Attempts, got)
	}
	bs, err := store.Backups(ctx)
	if err != nil || len(bs) != 1 || bs[0].Data["config.yaml"] != "# written by someone else\nrules: []\n" {
		t.Fatalf("backups %+v, %v", bs, err)
	}
	t.Logf("the write conflicted once and was re-applied; the ConfigMap now holds:\n%s", got)

	// Rollback restores what the edit replaced: the other writer's version.
	if _, err := store.Restore(ctx, "", configstore.DryRunNone); err != nil {
		t.Fatal(err)
	}
	cm, _ = env.client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{})
	if cm.Data["config.yaml"] != "# written by someone else\nrules: []\n" {
		t.Fatalf("restored %q", cm.Data["config.yaml"])
	}
}

// TestAddRuleExternal: an HPA on an External metric that no externalRules
// entry serves: doctor names it (MS201) with an add-rule --external
// command; that command makes the real adapter serve it, doctor reports the
// chain healthy, and the HPA controller scales worker up (90 messages, 30
// per replica).
func TestAddRuleExternal(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	original := adapterConfig(t)
	applyScenario(t, "queue")
	t.Cleanup(func() {
		deleteBackups(t)
		_ = env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Delete(ctx, "worker", metav1.DeleteOptions{})
		_ = env.client.AppsV1().Deployments("default").Delete(ctx, "worker", metav1.DeleteOptions{})
		deletePushGroup(t, "job/queue/queue/orders")
		setAdapterConfig(t, original)
		// Without externalRules the adapter serves no external API: the
		// APIService would stay unavailable for the tests after this one.
		agg := aggregator.NewForConfigOrDie(env.rest)
		_ = agg.ApiregistrationV1().APIServices().Delete(ctx, "v1beta1.external.metrics.k8s.io", metav1.DeleteOptions{})
	})
	f, _ := waitForFinding(t, "worker", "MS201")
	if want := "kubectl metricscale add-rule queue_messages_ready --external --namespace-label namespace"; f.Fix.Command != want {
		t.Fatalf("fix command %q, want %q", f.Fix.Command, want)
	}
	args := strings.Fields(strings.TrimPrefix(f.Fix.Command, "kubectl metricscale "))
	var out, errOut string
	var code int
	// The adapter's window is its relist interval (10 s here): a series
	// pushed a moment ago may not be scraped yet. Exit 2 wrote nothing.
	eventually(t, time.Minute, "add-rule --external runs", func(ctx context.Context) error {
		if out, errOut, code = runCmd(t, args...); code == 2 {
			return fmt.Errorf("exit 2: %s", errOut)
		}
		return nil
	})
	t.Logf("$ %s\n%s%s", f.Fix.Command, out, errOut)
	if code != 0 || !strings.Contains(out, "the metrics API serves queue_messages_ready") || !strings.Contains(out, "type: External") {
		t.Fatalf("add-rule --external: exit %d", code)
	}
	// An External metric with an AverageValue target: simulate, run the
	// moment the metric is served, names the replicas the controller sets.
	simulateAgrees(t, "default", "worker", "worker", 15*time.Second)
	// 90 messages over the 3 replicas: the HPA reads 30 per pod.
	waitHealthy(t, "worker", "30")
	eventually(t, 2*time.Minute, "the HPA controller scales worker up", func(ctx context.Context) error {
		dep, err := env.client.AppsV1().Deployments("default").Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *dep.Spec.Replicas < 2 {
			return fmt.Errorf("replicas %d", *dep.Spec.Replicas)
		}
		return nil
	})

	// The External metric's selector reaches the adapter's query: queue
	// nope matches no series, queue orders does.
	selectorFails(t, "worker", "external", "queue", "nope", "orders", "FailedGetExternalMetric", "MS307", "labelSelector", "")
}
