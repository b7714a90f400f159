package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/util/retry"

	"github.com/metricscale/kubectl-metricscale/pkg/cmd"
	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// runDoctor runs `kubectl metricscale doctor -o json ARGS` in-process
// against the sandbox and returns the report and the exit code.
func runDoctor(t *testing.T, args ...string) (*doctor.Report, int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := cmd.NewCmdMetricscale(streams)
	root.SetArgs(append([]string{"doctor", "--kubeconfig", env.info.Kubeconfig, "-o", "json"}, args...))
	err := root.Execute()
	code := cmd.ExitCode(err)
	if code == cmd.ExitCannotRun {
		t.Fatalf("doctor could not run: %v\n%s", err, errOut.String())
	}
	var rep doctor.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, out.String())
	}
	return &rep, code
}

// findingsOf returns every finding of the named HPA (its own and its metrics').
func findingsOf(rep *doctor.Report, hpa string) []doctor.Finding {
	var out []doctor.Finding
	for _, h := range rep.HPAs {
		if h.Name != hpa {
			continue
		}
		out = append(out, h.Findings...)
		for _, m := range h.Metrics {
			out = append(out, m.Findings...)
		}
	}
	return out
}

func findCode(fs []doctor.Finding, code string) *doctor.Finding {
	for i := range fs {
		if fs[i].Code == code {
			return &fs[i]
		}
	}
	return nil
}

func codesOf(fs []doctor.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return strings.Join(out, ",")
}

// adapterConfig reads and writes config.yaml of the adapter ConfigMap.
func adapterConfig(t *testing.T) string {
	t.Helper()
	cm, err := env.client.CoreV1().ConfigMaps("monitoring").Get(context.Background(), "prometheus-adapter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["config.yaml"]
}

func setAdapterConfig(t *testing.T, config string) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cm, err := env.client.CoreV1().ConfigMaps("monitoring").Get(ctx, "prometheus-adapter", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["config.yaml"] = config
		_, err = env.client.CoreV1().ConfigMaps("monitoring").Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	restartDeployment(t, "monitoring", "prometheus-adapter")
	// The next step starts from a finished rollout.
	if _, err := sandbox.WaitDeploymentReady(ctx, env.client, "monitoring/prometheus-adapter", 2*time.Minute, testWriter{t}); err != nil {
		t.Fatal(err)
	}
}

// promVector runs an instant query on the sandbox's Prometheus; a result
// that is not a vector is an error.
func promVector(ctx context.Context, query string) (model.Vector, error) {
	pc, err := promapi.NewClient(promapi.Config{Address: env.info.PrometheusURL})
	if err != nil {
		return nil, err
	}
	v, _, err := promv1.NewAPI(pc).Query(ctx, query, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", query, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: want a vector, got %s", query, v.Type())
	}
	return vec, nil
}

// deletePushGroup removes one Pushgateway group (job plus grouping labels).
func deletePushGroup(t *testing.T, path string) {
	t.Helper()
	httpDelete(t, env.info.PushgatewayURL+"/metrics/"+path)
}

// httpDelete sends DELETE to url and requires a 2xx answer.
func httpDelete(t *testing.T, url string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE %s: %s", url, resp.Status)
	}
}

func waitGone(t *testing.T, what string, get func(ctx context.Context) error) {
	t.Helper()
	eventually(t, 2*time.Minute, what+" is gone", func(ctx context.Context) error {
		if err := get(ctx); err == nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
}

// waitForFinding runs doctor on one HPA in default until it exits 1 with a
// finding of code that has a fix, and returns that finding and the report.
func waitForFinding(t *testing.T, hpa, code string) (*doctor.Finding, *doctor.Report) {
	t.Helper()
	return waitForFindingWith(t, hpa, code, func(f *doctor.Finding) bool { return f.Fix != nil })
}

// waitForFindingWith is waitForFinding for a finding that satisfies want
// (the chain may show a first, less precise finding while the adapter
// relists).
func waitForFindingWith(t *testing.T, hpa, code string, want func(*doctor.Finding) bool) (*doctor.Finding, *doctor.Report) {
	t.Helper()
	var found *doctor.Finding
	var report *doctor.Report
	eventually(t, 2*time.Minute, "doctor names "+code+" for "+hpa, func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", "default", hpa)
		var f *doctor.Finding
		for _, x := range findingsOf(rep, hpa) {
			if x.Code == code && want(&x) {
				f = &x
				break
			}
		}
		if exit != 1 || f == nil {
			return fmt.Errorf("exit %d, findings %s", exit, codesOf(findingsOf(rep, hpa)))
		}
		found, report = f, rep
		return nil
	})
	return found, report
}

// waitHealthy runs doctor on one HPA in default until it exits 0 with a
// healthy metric whose current value is current ("" for any).
func waitHealthy(t *testing.T, hpa, current string) {
	t.Helper()
	eventually(t, 2*time.Minute, "doctor reports "+hpa+" healthy", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "-n", "default", hpa)
		m := rep.HPAs[0].Metrics[0]
		if exit != 0 || !m.Healthy || (current != "" && m.Current != current) {
			return fmt.Errorf("exit %d, current %q, chain %s, findings %s", exit, m.Current, doctor.ChainPicture(m.Chain), codesOf(findingsOf(rep, hpa)))
		}
		t.Logf("%s: %s = %s (target %s)", hpa, m.Name, m.Current, m.Target)
		return nil
	})
}

// testNamespace creates a namespace named prefix + a random suffix, deleted
// when the test ends, and returns it with the suffix (for other names).
func testNamespace(t *testing.T, prefix string) (ns, suffix string) {
	t.Helper()
	suffix = strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ns = prefix + suffix
	if _, err := env.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns, suffix
}

// pushPromFake pushes prom_fake_value=value for every prom-fake pod, as
// the promfake scenario's exporter would, through the Service's labels.
func pushPromFake(t *testing.T, value int) {
	t.Helper()
	pods, err := env.client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=prom-fake"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("prom-fake pods: %v", err)
	}
	for _, p := range pods.Items {
		body := fmt.Sprintf("# TYPE prom_fake_value gauge\nprom_fake_value{namespace=\"default\",service=\"prom-fake\",pod=%q,endpoint=\"web\"} %d\n", p.Name, value)
		if err := sandbox.PushMetrics(context.Background(), env.info.PushgatewayURL, "prom-fake", map[string]string{"instance": p.Name}, body); err != nil {
			t.Fatal(err)
		}
	}
}
