package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// grafanaDo sends one call to the sandbox's Grafana as its admin and
// returns the status and body.
func grafanaDo(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	pass, err := env.info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	return grafanaDoAt(t, grafanaTarget{env.info.GrafanaURL, env.info.GrafanaUser, pass}, method, path, body)
}

// grafanaDoAt sends one request to the Grafana g as its admin.
func grafanaDoAt(t *testing.T, g grafanaTarget, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, g.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(g.user, g.password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// storedDashboard is GET /api/dashboards/uid/UID; nil when Grafana has none.
func storedDashboard(t *testing.T, uid string) *struct {
	Dashboard map[string]any
	Meta      struct{ FolderTitle string }
} {
	t.Helper()
	code, body := grafanaDo(t, http.MethodGet, "/api/dashboards/uid/"+uid, nil)
	if code == http.StatusNotFound {
		return nil
	}
	var d struct {
		Dashboard map[string]any
		Meta      struct{ FolderTitle string }
	}
	if code != http.StatusOK || json.Unmarshal(body, &d) != nil {
		t.Fatalf("GET dashboard %s: %d %s", uid, code, body)
	}
	return &d
}

// waitDashboard waits up to 10s for Grafana to have (or not have) the dashboard.
func waitDashboard(t *testing.T, uid string, present bool) {
	t.Helper()
	what := "dashboard " + uid + " in Grafana"
	if !present {
		what = "dashboard " + uid + " gone from Grafana"
	}
	eventually(t, 10*time.Second, what, func(context.Context) error {
		if (storedDashboard(t, uid) != nil) != present {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// dashboardSaves counts POST /api/dashboards/db at the emulator so far.
func dashboardSaves(t *testing.T) int {
	t.Helper()
	var stats struct{ ByRoute map[string]int }
	grafanaGet(t, env.info.GrafanaURL, "/emulator/stats", &stats)
	return stats.ByRoute["POST /api/dashboards/db"]
}

// runningSidecar is bin/metricscale-sidecar started by a test.
type runningSidecar struct {
	addr   string
	cmd    *exec.Cmd
	killed bool
	mu     sync.Mutex
	logs   bytes.Buffer
}

// kill ends the sidecar with SIGKILL: no chance to release anything.
func (s *runningSidecar) kill(t *testing.T) {
	t.Helper()
	s.killed = true
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
}

func (s *runningSidecar) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func (s *runningSidecar) get(path string) (int, string, error) {
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// metric reads one sample of the sidecar's /metrics (0 when absent).
func (s *runningSidecar) metric(t *testing.T, name string) float64 {
	t.Helper()
	_, body, err := s.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// startSidecar runs bin/metricscale-sidecar on namespace ns with args;
// the test's end stops it with SIGTERM and prints its log on failure.
func startSidecar(t *testing.T, ns string, args ...string) *runningSidecar {
	t.Helper()
	pass, err := env.info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	return startSidecarFor(t, ns, grafanaTarget{env.info.GrafanaURL, env.info.GrafanaUser, pass}, args...)
}

// grafanaTarget is a Grafana (the sandbox's emulator, or one a test runs)
// and its admin login.
type grafanaTarget struct{ url, user, password string }

// testDashboardLabel is the label of the dashboards of the sidecars tests
// start themselves: the sandbox's own sidecar watches grafana_dashboard in
// every namespace, and two sidecars must not write the same objects.
const (
	testDashboardLabel  = "e2e_dashboard"
	testDataSourceLabel = "e2e_datasource"
)

// startSidecarFor runs bin/metricscale-sidecar on namespace ns against g,
// watching testDashboardLabel and testDataSourceLabel unless args give
// --label or --datasource-label.
func startSidecarFor(t *testing.T, ns string, g grafanaTarget, args ...string) *runningSidecar {
	t.Helper()
	bin := filepath.Join(env.repo, "bin", "metricscale-sidecar")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v (run make build first)", bin, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &runningSidecar{addr: l.Addr().String()}
	l.Close()
	pass := g.password
	cmd := exec.Command(bin, append([]string{"--kubeconfig", env.info.Kubeconfig, "--listen-address", s.addr, "--label", testDashboardLabel, "--datasource-label", testDataSourceLabel}, args...)...)
	cmd.Env = append(os.Environ(), "NAMESPACE="+ns, "GRAFANA_URL="+g.url, "GRAFANA_USER="+g.user, "GRAFANA_PASSWORD="+pass)
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil && !s.killed {
			t.Errorf("the sidecar did not stop cleanly on SIGTERM: %v", err)
		}
		if t.Failed() {
			t.Logf("sidecar log:\n%s", s.logs.String())
		}
		if strings.Contains(s.logs.String(), pass) {
			t.Error("the sidecar's log shows Grafana's password")
		}
	})
	eventually(t, 30*time.Second, "the sidecar ready", func(context.Context) error {
		code, body, err := s.get("/readyz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("readyz %d: %s", code, body)
		}
		return err
	})
	return s
}

// TestSidecarConvergesFromConfigMaps: a labelled ConfigMap becomes a
// dashboard in the folder its annotation names; a burst of 20 updates is a
// handful of passes; a dashboard deleted in Grafana comes back at resync; a
// foreign dashboard with the same uid is left alone; a labelled Secret is a
// dashboard until deleted; the ConfigMap relabelled or deleted, its
// dashboard is gone.
func TestSidecarConvergesFromConfigMaps(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "sidecar-")
	uid, foreignUID, folder := "e2e-sidecar-"+suffix, "e2e-foreign-"+suffix, "Sidecar "+suffix
	t.Cleanup(func() {
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+foreignUID, nil)
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+uid, nil)
	})
	if code, body := grafanaDo(t, http.MethodPost, "/api/dashboards/db", map[string]any{
		"dashboard": map[string]any{"uid": foreignUID, "title": "made by hand " + suffix}}); code != http.StatusOK {
		t.Fatalf("creating the foreign dashboard: %d %s", code, body)
	}

	cms := env.client.CoreV1().ConfigMaps(ns)
	dashboardsOf := func(title string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "dashboards", Namespace: ns,
				Labels: map[string]string{testDashboardLabel: "1"}, Annotations: map[string]string{"grafana_folder": folder}},
			Data: map[string]string{
				"mine.json":  fmt.Sprintf(`{"uid":%q,"title":%q,"panels":[]}`, uid, title),
				"clash.json": fmt.Sprintf(`{"uid":%q,"title":"not the foreign one"}`, foreignUID),
			},
		}
	}
	// An unlabelled ConfigMap is not even cached (server-side selector).
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns},
		Data: map[string]string{"x.json": `{"uid":"e2e-unlabelled-` + suffix + `","title":"x"}`}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	sc := startSidecar(t, ns, "--resync", "3s", "--owner-tag", "e2e-sidecar-"+suffix, "--resource", "both")

	start := time.Now()
	if _, err := cms.Create(ctx, dashboardsOf("Mine v0"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uid, true)
	t.Logf("ConfigMap → dashboard in %s", time.Since(start).Round(time.Millisecond))
	if d := storedDashboard(t, uid); d.Meta.FolderTitle != folder {
		t.Errorf("the dashboard is in folder %q, want %q", d.Meta.FolderTitle, folder)
	}
	if d := storedDashboard(t, foreignUID); d == nil || d.Dashboard["title"] != "made by hand "+suffix {
		t.Errorf("the foreign dashboard was overwritten: %+v", d)
	}
	if storedDashboard(t, "e2e-unlabelled-"+suffix) != nil {
		t.Error("an unlabelled ConfigMap became a dashboard")
	}
	if n := sc.metric(t, `metricscale_sidecar_dashboards{state="foreign"}`); n != 1 {
		t.Errorf("foreign dashboards metric = %v, want 1", n)
	}

	waitEvent(t, ns, "ConfigMap", "dashboards", "ForeignDashboard")

	// A burst of 20 updates: a handful of passes and saves, not 20.
	passes, saves := sc.metric(t, "metricscale_sidecar_converge_passes_total"), dashboardSaves(t)
	for i := 1; i <= 20; i++ {
		if _, err := cms.Update(ctx, dashboardsOf(fmt.Sprintf("Mine v%d", i)), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the last of 20 updates in Grafana", func(context.Context) error {
		if d := storedDashboard(t, uid); d == nil || d.Dashboard["title"] != "Mine v20" {
			return fmt.Errorf("dashboard: %+v", d)
		}
		return nil
	})
	time.Sleep(time.Second) // let a pass still running end
	burstPasses := sc.metric(t, "metricscale_sidecar_converge_passes_total") - passes
	burstSaves := dashboardSaves(t) - saves
	t.Logf("20 updates: %v passes, %d dashboard saves", burstPasses, burstSaves)
	// Slow machine: the API server may spread 20 updates over several
	// debounce windows and a resync may fall in; 20 would mean one per event.
	if burstPasses < 1 || burstPasses > 6 || burstSaves < 1 || burstSaves > 6 {
		t.Errorf("20 updates made %v passes and %d saves, want 1 to 6 each", burstPasses, burstSaves)
	}

	// Deleted in Grafana: back at the next resync (3s).
	if code, body := grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+uid, nil); code != http.StatusOK {
		t.Fatalf("deleting the dashboard in Grafana: %d %s", code, body)
	}
	eventually(t, 15*time.Second, "the dashboard back after resync", func(context.Context) error {
		if storedDashboard(t, uid) == nil {
			return fmt.Errorf("no dashboard %s", uid)
		}
		return nil
	})

	// A resync with nothing changed writes nothing.
	saves = dashboardSaves(t)
	passes = sc.metric(t, "metricscale_sidecar_converge_passes_total")
	eventually(t, 15*time.Second, "a resync pass", func(context.Context) error {
		if sc.metric(t, "metricscale_sidecar_converge_passes_total") <= passes {
			return fmt.Errorf("no pass yet")
		}
		return nil
	})
	if n := dashboardSaves(t) - saves; n != 0 {
		t.Errorf("a no-op resync saved %d dashboards, want 0", n)
	}

	// A labelled Secret is a dashboard too; deleted, its dashboard goes.
	secretUID := "e2e-secret-" + suffix
	secrets := env.client.CoreV1().Secrets(ns)
	if _, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dashboard", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
		Data: map[string][]byte{"s.json": []byte(fmt.Sprintf(`{"uid":%q,"title":"from a Secret"}`, secretUID))}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+secretUID, nil) })
	waitDashboard(t, secretUID, true)
	if err := secrets.Delete(ctx, "dashboard", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, secretUID, false)

	// The ConfigMap's label removed: its dashboard goes; the foreign one stays.
	unlabelled := dashboardsOf("Mine v20")
	unlabelled.Labels = nil
	if _, err := cms.Update(ctx, unlabelled, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uid, false)
	if storedDashboard(t, foreignUID) == nil {
		t.Error("the foreign dashboard was deleted")
	}
	// Labelled again, then deleted: back, then gone.
	if _, err := cms.Update(ctx, dashboardsOf("Mine v21"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uid, true)
	if err := cms.Delete(ctx, "dashboards", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uid, false)
	if code, body, err := sc.get("/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz: %d %s %v", code, body, err)
	}
}

// TestSidecarLeaderElection: two replicas with --leader-elect; the leader
// is killed (no chance to release its Lease) and the other applies a new
// change within the lease duration.
func TestSidecarLeaderElection(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "sidecar-le-")
	uids := []string{"e2e-le-a-" + suffix, "e2e-le-b-" + suffix}
	t.Cleanup(func() {
		for _, uid := range uids {
			grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+uid, nil)
		}
	})
	const lease = 4 * time.Second
	args := []string{"--leader-elect", "--leader-elect-lease-duration", lease.String(), "--owner-tag", "e2e-le-" + suffix}
	replicas := []*runningSidecar{startSidecar(t, ns, args...), startSidecar(t, ns, args...)}
	var leader, follower *runningSidecar
	eventually(t, 2*lease, "one leader", func(context.Context) error {
		leader, follower = nil, nil
		for _, r := range replicas {
			if r.metric(t, "metricscale_sidecar_leader") == 1 {
				if leader != nil {
					return fmt.Errorf("two leaders")
				}
				leader = r
			} else {
				follower = r
			}
		}
		if leader == nil {
			return fmt.Errorf("no leader yet")
		}
		return nil
	})
	cms := env.client.CoreV1().ConfigMaps(ns)
	labelled := func(name, uid string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
			Data: map[string]string{"d.json": fmt.Sprintf(`{"uid":%q,"title":%q}`, uid, uid)}}
	}
	if _, err := cms.Create(ctx, labelled("a", uids[0]), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uids[0], true)

	leader.kill(t)
	start := time.Now()
	if _, err := cms.Create(ctx, labelled("b", uids[1]), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*lease+5*time.Second, "the other replica applied the change", func(context.Context) error {
		if storedDashboard(t, uids[1]) == nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	// The lease expires at most one lease duration after the last renewal;
	// then a retry period, one debounce and a pass (slow machine: 3s).
	if took := time.Since(start); took > lease+3*time.Second {
		t.Errorf("the change arrived %s after the leader was killed, want within the lease duration %s and a pass", took.Round(time.Millisecond), lease)
	}
	if follower.metric(t, "metricscale_sidecar_leader") != 1 {
		t.Error("the change arrived but the other replica does not say it leads")
	}
}
