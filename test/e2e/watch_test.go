package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/watch"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// pushInterlok pushes MessageMetrics=value for every interlok pod, as the
// guide's JMeter load does through the Pushgateway.
func pushInterlok(t *testing.T, value int) {
	t.Helper()
	pods, err := env.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=interlok"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("interlok pods: %v, %v", pods, err)
	}
	body := fmt.Sprintf("# TYPE MessageMetrics gauge\nMessageMetrics{k8s_namespace=\"default\"} %d\n", value)
	for _, p := range pods.Items {
		if err := sandbox.PushMetrics(context.Background(), env.info.PushgatewayURL, "interlok", map[string]string{"k8s_pod_name": p.Name}, body); err != nil {
			t.Fatal(err)
		}
	}
}

// healthyInterlok sets the Interlok scenario up with its pod pushing value,
// the rule added and the chain healthy.
func healthyInterlok(t *testing.T, value int) {
	t.Helper()
	interlok(t)
	pushInterlok(t, value)
	// The scenario pushed 150 first: once the rule is added, an adapter
	// still reading 150 from Prometheus would make the HPA scale to 2, and
	// it would not come back within the test.
	waitPrometheusInterlok(t, value)
	addRuleServes(t, "MessageMetrics")
	waitHealthy(t, "interlok-autoscaler", fmt.Sprint(value))
}

// waitPrometheusInterlok waits until Prometheus has every interlok series at value.
func waitPrometheusInterlok(t *testing.T, value int) {
	t.Helper()
	eventually(t, time.Minute, fmt.Sprintf("Prometheus has MessageMetrics at %d", value), func(ctx context.Context) error {
		vec, err := promVector(ctx, `MessageMetrics{k8s_namespace="default"}`)
		if err != nil {
			return err
		}
		if len(vec) == 0 {
			return errors.New("no series yet")
		}
		for _, s := range vec {
			if int(s.Value) != value {
				return fmt.Errorf("got %v", vec)
			}
		}
		return nil
	})
}

// addRuleServes runs add-rule until it gets past its checks (exit 2 wrote
// nothing: the series may not be scraped yet) and requires it to serve.
func addRuleServes(t *testing.T, args ...string) {
	t.Helper()
	var out, errOut string
	var code int
	eventually(t, 2*time.Minute, "add-rule "+strings.Join(args, " ")+" gets past its checks", func(ctx context.Context) error {
		if out, errOut, code = runCmd(t, append([]string{"add-rule"}, args...)...); code == 2 {
			return fmt.Errorf("exit 2: %s", errOut)
		}
		return nil
	})
	if code != 0 {
		t.Fatalf("add-rule %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
}

// TestWatchInterlok: during the Interlok walkthrough (rule added with
// add-rule, 150 pushed), watch --until 'replicas>=2' exits 0 once the real
// HPA controller has scaled, and its lines show the value 150, the target
// 100 and the replicas going from 1 to 2. Then 50 is pushed and the JSON
// stream shows the value fall.
func TestWatchInterlok(t *testing.T) {
	needSandbox(t)
	interlok(t)
	pushInterlok(t, 150)
	if dep, err := env.client.AppsV1().Deployments("default").Get(context.Background(), "interlok", metav1.GetOptions{}); err != nil || *dep.Spec.Replicas != 1 {
		t.Fatalf("interlok should start with 1 replica: %v", err)
	}
	// watch runs from before the repair until the controller has scaled.
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		out, errOut, code := runCmd(t, "watch", "interlok-autoscaler", "-n", "default", "--interval", "2s", "--until", "replicas>=2", "--timeout", "3m")
		done <- result{out, errOut, code}
	}()
	addRuleServes(t, "MessageMetrics")
	res := <-done
	out, errOut, code := res.out, res.errOut, res.code
	t.Logf("watch --until 'replicas>=2' (%.1fs, exit %d):\n%s%s", time.Since(start).Seconds(), code, out, errOut)
	if code != 0 {
		t.Fatalf("watch: exit %d, want 0", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "TIME") || len(lines) < 2 {
		t.Fatalf("no header or no rows")
	}
	var sawOne, sawTwo bool
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 9 || f[1] != "default/interlok-autoscaler" {
			continue
		}
		// TIME HPA TYPE METRIC PROMETHEUS API TARGET avg REPLICAS ...
		if f[3] != "MessageMetrics" || f[6] != "100" {
			t.Fatalf("unexpected row: %q", l)
		}
		if f[5] == "150" && strings.HasPrefix(f[8], "1→") {
			sawOne = true
		}
		if strings.HasPrefix(f[8], "2→") {
			sawTwo = true
		}
	}
	if !sawOne || !sawTwo {
		t.Fatalf("the lines do not show value 150 with 1 replica and then 2 replicas")
	}
	if deps, _ := env.client.AppsV1().Deployments("default").Get(context.Background(), "interlok", metav1.GetOptions{}); *deps.Spec.Replicas != 2 {
		t.Fatalf("watch ended, but interlok has %d replicas", *deps.Spec.Replicas)
	}

	pushInterlok(t, 50)
	out, errOut, code = runCmd(t, "watch", "interlok-autoscaler", "-n", "default", "--interval", "2s", "--until", "value<=50", "--timeout", "2m", "-o", "json")
	if code != 0 {
		t.Fatalf("watch -o json --until value<=50: exit %d\n%s%s", code, out, errOut)
	}
	var last watch.Event
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev watch.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not one JSON object per line: %q: %v", l, err)
		}
		if ev.Row != nil {
			last = ev
		}
	}
	if last.Row == nil || last.Row.API != "50" || last.Row.Prometheus != "50" || last.Row.Target != "100 avg" {
		t.Fatalf("last JSON row %+v", last.Row)
	}
	watchKubectlFormats(t)
}

// watchKubectlFormats: with interlok-autoscaler at 50, watch -o jsonpath,
// go-template and name print their template once per change: the row at
// 50, then, once 80 is pushed, only what changed until the API serves 80.
func watchKubectlFormats(t *testing.T) {
	t.Helper()
	run := func(output, until string) ([]string, error) {
		out, errOut, code := runCmd(t, "watch", "interlok-autoscaler", "-n", "default", "--interval", "2s", "--until", until, "--timeout", "2m", "-o", output)
		t.Logf("watch -o %s --until %s (exit %d):\n%s", output, until, code, out)
		if code != 0 || out == "" {
			return nil, fmt.Errorf("watch -o %s --until %s: exit %d\n%s%s", output, until, code, out, errOut)
		}
		return strings.Split(strings.TrimSuffix(out, "\n"), "\n"), nil
	}

	// The whole row or the status, a line each, from 50 to 80: a line the
	// same as the one before would be a print without a change.
	type result struct {
		lines []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		lines, err := run(`jsonpath={.row}{.status}{"\n"}`, "value>=80")
		done <- result{lines, err}
	}()
	time.Sleep(6 * time.Second) // the first polls (every 2s) print the row at 50
	pushInterlok(t, 80)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	var apis []string
	for i, l := range res.lines {
		if i > 0 && l == res.lines[i-1] {
			t.Fatalf("-o jsonpath printed %q twice in a row: a print without a change", l)
		}
		if strings.HasPrefix(l, "{") {
			var row watch.Row
			if err := json.Unmarshal([]byte(l), &row); err != nil || row.HPA != "interlok-autoscaler" {
				t.Fatalf("-o jsonpath={.row}: %q is not the row's JSON: %v", l, err)
			}
			apis = append(apis, row.API)
		}
	}
	if len(apis) < 2 || apis[0] != "50" || apis[len(apis)-1] != "80" {
		t.Fatalf("-o jsonpath: the API values of the rows printed are %v, want 50 first and 80 last", apis)
	}

	lines, err := run(`go-template={{if .row}}{{.row.namespace}}/{{.row.hpa}} {{.row.api}}{{"\n"}}{{end}}`, "value>=80")
	if err != nil {
		t.Fatal(err)
	}
	if l := lines[len(lines)-1]; l != "default/interlok-autoscaler 80" {
		t.Fatalf("-o go-template: last line %q, want default/interlok-autoscaler 80", l)
	}

	if lines, err = run("name", "value>=80"); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if l != "horizontalpodautoscaler.autoscaling/interlok-autoscaler" {
			t.Fatalf("-o name: %q, want the HPA of each change", l)
		}
	}
}

// TestWatchTerminal runs watch on a real terminal (tmux) and reads the
// screen: one title, one header, the HPA's row with its values, redrawn in
// place rather than scrolled.
func TestWatchTerminal(t *testing.T) {
	needSandbox(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (hack/tools.sh installs it)")
		}
		t.Skip("tmux is not installed")
	}
	interlok(t)
	addRuleServes(t, "MessageMetrics")
	bin := pluginBinary(t)
	session := fmt.Sprintf("metricscale-e2e-%d", os.Getpid())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// 120 columns: the full row is wider, so the screen must cut it.
	tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40",
		fmt.Sprintf("env KUBECONFIG=%s TERM=xterm-256color %s watch interlok-autoscaler -n default --interval 1s; sleep 60", env.info.Kubeconfig, bin))
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", session).Run() })

	var screen string
	eventually(t, time.Minute, "the screen shows the HPA's values", func(ctx context.Context) error {
		screen = tmux("capture-pane", "-p", "-J", "-t", session)
		for _, l := range strings.Split(screen, "\n") {
			if f := strings.Fields(l); len(f) > 5 && f[0] == "default/interlok-autoscaler" && f[3] == "MessageMetrics" && f[4] == "150" && f[5] == "150" {
				return nil
			}
		}
		return fmt.Errorf("screen:\n%s", screen)
	})
	// Three more polls: the screen is redrawn, not scrolled.
	time.Sleep(3 * time.Second)
	// -J joins lines the terminal wrapped: a line longer than the pane
	// would show here.
	screen = tmux("capture-pane", "-p", "-J", "-t", session)
	t.Logf("screen:\n%s", screen)
	for _, l := range strings.Split(screen, "\n") {
		if len([]rune(l)) > 120 {
			t.Fatalf("a line is wider than the terminal: %q", l)
		}
	}
	if n := strings.Count(screen, "kubectl metricscale watch: namespace default"); n != 1 {
		t.Fatalf("%d titles on the screen, want 1 (redrawn in place)", n)
	}
	if n := strings.Count(screen, "PROMETHEUS"); n != 1 {
		t.Fatalf("%d headers on the screen, want 1", n)
	}
	for _, want := range []string{"HPA", "SCALE TARGET", "API", "Deployment/interlok", "100 avg"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("the screen lacks %q", want)
		}
	}
	if strings.Contains(screen, "\x1b") || strings.Contains(screen, "[0m") {
		t.Fatal("escape sequences leak onto the screen")
	}
	withColour := tmux("capture-pane", "-p", "-e", "-t", session)
	if !strings.Contains(withColour, "\x1b[") {
		t.Fatal("no colour on a colour terminal")
	}
}

// TestWatchPollsOncePerMetric: four HPAs in one namespace read the same
// Pods metric of the same scale target, so the HPA controller makes the same
// request for each; one poll asks the custom metrics API once for them, and
// the scale subresource once per HPA only on the first poll.
func TestWatchPollsOncePerMetric(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	interlok(t)
	addRuleServes(t, "MessageMetrics")

	// Three more HPAs on the same metric and target: the same request.
	base, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Other tests' HPAs may live in default too: watch these four.
	names := []string{"interlok-autoscaler"}
	for i := 1; i <= 3; i++ {
		h := base.DeepCopy()
		h.ObjectMeta = metav1.ObjectMeta{Name: fmt.Sprintf("interlok-copy-%d", i), Namespace: "default"}
		h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
		if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, h, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		name := h.Name
		names = append(names, name)
		t.Cleanup(func() {
			_ = env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Delete(ctx, name, metav1.DeleteOptions{})
		})
	}

	var mu sync.Mutex
	requests := map[string]int{}
	cfg := rest.CopyConfig(env.rest)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			requests[r.URL.Path]++
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	clients, err := kube.NewClients(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := watch.NewLive(*clients, watch.Options{Namespace: "default", HPANames: names})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := live.Start(runCtx); err != nil {
		t.Fatal(err)
	}
	count := func(substr string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for p, c := range requests {
			if strings.Contains(p, substr) {
				n += c
			}
		}
		return n
	}
	const values = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics"
	// Scale reads: one per HPA on the first poll, none on the second (the
	// selector is kept per HPA generation).
	wantScales := map[int]int{1: 4, 2: 0}
	for poll := 1; poll <= 2; poll++ {
		before, scalesBefore := count(values), count("/scale")
		if err := live.Poll(runCtx); err != nil {
			t.Fatal(err)
		}
		rows := live.Rows()
		if len(rows) != 4 {
			t.Fatalf("%d rows, want 4", len(rows))
		}
		got, scales := count(values)-before, count("/scale")-scalesBefore
		t.Logf("poll %d: %d metrics API request(s) for 4 rows, %d scale reads; requests %v", poll, got, scales, requests)
		if got != 1 {
			t.Fatalf("poll %d asked the custom metrics API %d times for one metric of 4 HPAs, want 1", poll, got)
		}
		if scales != wantScales[poll] {
			t.Fatalf("poll %d read the scale subresource %d times, want %d", poll, scales, wantScales[poll])
		}
	}
	// The adapter was found through its APIService, not by listing every
	// Deployment of the cluster.
	if n := count("/apis/apps/v1/deployments"); n != 0 {
		t.Fatalf("listed all Deployments %d times to find the adapter", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
