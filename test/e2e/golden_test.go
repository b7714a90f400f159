package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// TestCommandsGolden runs doctor, add-rule, migrate keda, grafana provision and watch through their commands
// (NewCmdMetricscale with injected streams, as the binary does) against the
// real chain, on an HPA of its own: golden_backlog pushed for the one pod
// of Deployment shop, in namespace golden, with no rule that maps it; then
// the rule added. It compares what a person reads with testdata/*.golden
// once what changes from run to run is masked (pod names, clock times,
// ports). go test ./test/e2e
// -run TestCommandsGolden -update rewrites them; review the diff before
// committing it.
//
// Only the part of doctor's report that concerns the HPA named is compared:
// the CHAIN block and the cluster-wide findings depend on what other tests
// left in the shared sandbox (rules, HPAs, APIServices), and other tests
// check them.
func TestCommandsGolden(t *testing.T) {
	needSandbox(t)
	ns := goldenChain(t)
	hpa := ns + "/shop"
	waitDoctor(t, ns, "MS401 and MS201", func(rep *doctor.Report, exit int) error {
		// MS401 quotes the controller's condition: its first sync.
		if fs := findingsOf(rep, "shop"); exit != 1 || findCode(fs, "MS401") == nil || findCode(fs, "MS201") == nil {
			return fmt.Errorf("exit %d, findings %s", exit, codesOf(fs))
		}
		return nil
	})
	out, errOut, code := runCmd(t, "doctor", "shop", "-n", ns)
	checkGolden(t, "doctor-broken.table", code, 1, hpaSection(t, out, errOut, hpa))

	args := []string{"add-rule", "golden_backlog", "--namespace-label", "k8s_namespace", "--pod-label", "k8s_pod_name"}
	out, errOut, code = runCmd(t, append(args, "--dry-run=client")...)
	checkGolden(t, "addrule-dryrun", code, 0, out+errOut)

	addRuleServes(t, args[1:]...)
	waitDoctor(t, ns, "shop healthy at 50", func(rep *doctor.Report, exit int) error {
		if m := rep.HPAs[0].Metrics[0]; exit != 0 || !m.Healthy || m.Current != "50" {
			return fmt.Errorf("exit %d, current %q, findings %s", exit, m.Current, codesOf(findingsOf(rep, "shop")))
		}
		return nil
	})
	out, errOut, code = runCmd(t, "doctor", "shop", "-n", ns, "-o", "wide")
	checkGolden(t, "doctor-healthy.wide", code, 0, hpaSection(t, out, errOut, hpa))

	// migrate keda's ScaledObject, and its check of the HPA's metric; the
	// APIService plan below it depends on the sandbox's other HPAs.
	out, errOut, code = runCmd(t, "migrate", "keda", "shop", "-n", ns, "--server-address", env.info.PrometheusURL)
	checkGolden(t, "migrate-keda", code, 0, out+linesAbout(errOut, hpa))

	// grafana provision into a Grafana of its own (an emulator started
	// here, empty): the dry run's lines, then the run's, then nothing to do.
	grafanaOfItsOwn(t)
	provisionArgs := []string{"grafana", "provision", "-n", ns, "--from-cluster"}
	out, errOut, code = runCmd(t, append(provisionArgs, "--dry-run")...)
	checkGolden(t, "provision-dryrun", code, 0, out+errOut)
	out, errOut, code = runCmd(t, provisionArgs...)
	checkGolden(t, "provision", code, 0, out+errOut)
	out, errOut, code = runCmd(t, provisionArgs...)
	checkGolden(t, "provision-again", code, 0, out+errOut)

	watchArgs := []string{"watch", "shop", "-n", ns, "--interval", "2s", "--until", "value<=50", "--timeout", "1m"}
	out, errOut, code = runCmd(t, watchArgs...)
	checkGolden(t, "watch.table", code, 0, out+errOut)
	out, errOut, code = runCmd(t, append(watchArgs, "-o", "json")...)
	checkGolden(t, "watch.json", code, 0, out+errOut)
}

// goldenChain sets up TestCommandsGolden's chain and returns its namespace;
// the adapter's config is put back at the end.
func goldenChain(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	original := adapterConfig(t)
	// A fixed name: the tables' columns are as wide as in the golden files.
	ns := "golden"
	if _, err := env.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	t.Cleanup(func() { deleteBackups(t); setAdapterConfig(t, original) })
	kwokDeploymentIn(t, ns, "shop", 1, nil)
	pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("shop's pods: %v, %v", pods, err)
	}
	pod := pods.Items[0].Name
	body := fmt.Sprintf("# TYPE golden_backlog gauge\ngolden_backlog{k8s_namespace=%q} 50\n", ns)
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "golden", map[string]string{"k8s_pod_name": pod}, body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePushGroup(t, "job/golden/k8s_pod_name/"+pod) })
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"}}}
	simPods(1, 5)(&hpa.Spec)
	hpa.Spec.Metrics[0].Pods.Metric.Name = "golden_backlog"
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "Prometheus has golden_backlog", func(ctx context.Context) error {
		vec, err := promVector(ctx, fmt.Sprintf(`golden_backlog{k8s_namespace=%q}`, ns))
		if err != nil || len(vec) != 1 {
			return fmt.Errorf("%v, %v", vec, err)
		}
		return nil
	})
	return ns
}

// waitDoctor runs doctor -o json on HPA shop of ns until cond holds.
func waitDoctor(t *testing.T, ns, what string, cond func(*doctor.Report, int) error) {
	t.Helper()
	eventually(t, 2*time.Minute, "doctor reports "+what, func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", ns, "shop")
		return cond(rep, exit)
	})
}

// hpaSection returns the lines of doctor's table that concern one HPA:
// from its "HPA ns/name" header to the next block that is not its own.
// The summary line is left out: its counts include the cluster's findings.
func hpaSection(t *testing.T, out, errOut, hpa string) string {
	t.Helper()
	lines := strings.Split(out, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "HPA "+hpa+" ") })
	if start < 0 {
		t.Fatalf("doctor printed no section for HPA %s:\n%s%s", hpa, out, errOut)
	}
	end := start + 1
	for end < len(lines) && !(lines[end] == "" && end+1 < len(lines) && !strings.HasPrefix(lines[end+1], " ")) {
		end++
	}
	return strings.Join(lines[start:end], "\n") + "\n" + errOut
}

// grafanaOfItsOwn starts an empty Grafana API emulator for the test and
// points grafana provision at it through the environment.
func grafanaOfItsOwn(t *testing.T) {
	t.Helper()
	srv := httptest.NewServer(grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: "e2e-golden-password"}))
	t.Cleanup(srv.Close)
	t.Setenv("GRAFANA_URL", srv.URL)
	t.Setenv("GRAFANA_USER", "admin")
	t.Setenv("GRAFANA_PASSWORD", "e2e-golden-password")
	t.Setenv("GRAFANA_TOKEN", "")
}

// linesAbout keeps a table's header line and the lines that name hpa.
func linesAbout(table, hpa string) string {
	var keep []string
	for i, l := range strings.Split(table, "\n") {
		if i == 0 || strings.Contains(l, hpa) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n") + "\n"
}

// masks replace what differs from run to run with a fixed word.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\bshop-[0-9a-f]{6,10}-[0-9a-z]{5}\b`), "shop-POD"},
	{regexp.MustCompile(`\b\d\d:\d\d:\d\d\b`), "HH:MM:SS"},
	{regexp.MustCompile(`"time":"[^"]*"`), `"time":"TIME"`},
	{regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b`), "TIMESTAMP"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ms|s)\b`), "DURATION"},
	{regexp.MustCompile(`(localhost|127\.0\.0\.1|\.svc):\d{2,5}\b`), "$1:PORT"},
	// How often the controller repeated an event depends on how many syncs
	// ran before doctor did.
	{regexp.MustCompile(` \(x\d+\)`), ""},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return s
}

// checkGolden compares a command's masked output and exit code with
// testdata/NAME.golden, or writes it there with -update.
func checkGolden(t *testing.T, name string, code, wantCode int, output string) {
	t.Helper()
	got := fmt.Sprintf("exit %d\n%s", code, mask(output))
	path := filepath.Join(env.repo, "test", "e2e", "testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./test/e2e -run TestCommandsGolden -update writes it)", err)
	}
	if code != wantCode || got != string(want) {
		t.Errorf("%s: exit %d (want %d), output differs from %s:\n%s", name, code, wantCode, path, got)
	}
}
