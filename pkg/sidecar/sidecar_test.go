package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

func testConfig() Config {
	return Config{Namespaces: []string{"team"}, Selector: "grafana_dashboard", Kinds: []string{KindConfigMap, KindSecret},
		FolderAnnotations: []string{"grafana_folder"}, OwnerTag: "metricscale-sidecar",
		Quiet: 20 * time.Millisecond, MaxWait: 200 * time.Millisecond, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		WatchSilence: time.Minute, APIDown: 30 * time.Second, GrafanaDown: time.Minute}
}

// running is a sidecar against a fake API server and a Grafana emulator.
type running struct {
	kube    *fake.Clientset
	grafana *grafana.Client
	emu     *grafanaemu.Server
	sidecar *Sidecar
}

func start(t *testing.T, cfg Config) *running {
	t.Helper()
	emu := grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: "pw"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return startWith(t, cfg, srv.URL, emu)
}

// startWith runs a sidecar against the Grafana at url.
func startWith(t *testing.T, cfg Config, url string, emu *grafanaemu.Server) *running {
	t.Helper()
	g, err := grafana.New(grafana.Config{URL: url, Credentials: grafana.BasicCredentials("admin", "pw")})
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientset()
	// The fake API server drops what changes between an informer's list
	// and its watch (a real one replays it from the list's resourceVersion):
	// the test changes objects only once every watch is open.
	watches := make(chan struct{}, 16)
	kube.PrependWatchReactor("*", func(k8stesting.Action) (bool, watch.Interface, error) {
		watches <- struct{}{}
		return false, nil, nil
	})
	s, err := New(kube, g, cfg, slog.New(slog.NewTextHandler(testLog{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("Run: %v", err)
		}
	})
	for range s.informers {
		select {
		case <-watches:
		case <-time.After(5 * time.Second):
			t.Fatal("the informers opened no watch in 5s")
		}
	}
	return &running{kube: kube, grafana: g, emu: emu, sidecar: s}
}

func (r *running) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *running) dashboard(uid string) *grafana.StoredDashboard {
	d, err := r.grafana.Dashboard(context.Background(), uid)
	if err != nil {
		return nil
	}
	return d
}

func dashboardConfigMap(name, folder string, data map[string]string) *corev1.ConfigMap {
	// The fake API server sets no uid; Events need one.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: types.UID(name + "-uid"), Labels: map[string]string{"grafana_dashboard": "1"}}, Data: data}
	if folder != "" {
		cm.Annotations = map[string]string{"grafana_folder": folder}
	}
	return cm
}

func TestSidecarConverges(t *testing.T) {
	ctx := context.Background()
	r := start(t, testConfig())
	cms := r.kube.CoreV1().ConfigMaps("team")

	// A foreign dashboard: never overwritten, never deleted.
	if _, err := r.grafana.SaveDashboard(ctx, grafana.DashboardSave{Body: map[string]any{"uid": "foreign", "title": "by hand"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, dashboardConfigMap("cm", "Team A", map[string]string{
		"a.json": `{"uid":"a","title":"A"}`, "clash.json": `{"uid":"foreign","title":"mine"}`,
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.kube.CoreV1().Secrets("team").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", UID: "s-uid",
		Labels: map[string]string{"grafana_dashboard": "1"}}, Data: map[string][]byte{"s.json": []byte(`{"uid":"s","title":"from a Secret"}`)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "dashboards a and s in Grafana", func() bool { return r.dashboard("a") != nil && r.dashboard("s") != nil })
	if a := r.dashboard("a"); a.Meta.FolderTitle != "Team A" {
		t.Errorf("dashboard a is in folder %q, want Team A", a.Meta.FolderTitle)
	}
	r.eventually(t, "ready", r.sidecar.Ready)
	if f := r.dashboard("foreign"); f.Body["title"] != "by hand" {
		t.Errorf("the foreign dashboard was overwritten: %v", f.Body)
	}

	// The key goes away: its dashboard is deleted; the foreign one stays.
	if _, err := cms.Update(ctx, dashboardConfigMap("cm", "Team A", map[string]string{"clash.json": `{"uid":"foreign","title":"mine"}`}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "dashboard a deleted", func() bool { return r.dashboard("a") == nil })
	if r.dashboard("foreign") == nil || r.dashboard("s") == nil {
		t.Error("a dashboard that is still wanted or not owned was deleted")
	}

	// A broken key keeps the dashboard it gave.
	if _, err := r.kube.CoreV1().Secrets("team").Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", UID: "s-uid",
		Labels: map[string]string{"grafana_dashboard": "1"}}, Data: map[string][]byte{"s.json": []byte(`{"uid":"s",`)}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	passes := r.passes()
	r.eventually(t, "a pass after the Secret changed", func() bool { return r.passes() > passes })
	if r.dashboard("s") == nil {
		t.Error("a key that stopped parsing lost its dashboard")
	}

	// Events say why on the objects: the clash and the broken key, without the Secret's contents.
	r.eventually(t, "Events on the ConfigMap and the Secret", func() bool {
		list, err := r.kube.CoreV1().Events("team").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		got := map[string]bool{}
		for _, e := range list.Items {
			if strings.Contains(e.Message, `"s",`) {
				t.Errorf("an Event shows the Secret's contents: %s", e.Message)
			}
			got[e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+" "+e.Reason] = e.InvolvedObject.UID != ""
		}
		return got["ConfigMap/cm "+ReasonForeignDashboard] && got["Secret/s "+ReasonInvalidDashboard]
	})

	// Health and metrics.
	if p := r.sidecar.Problems(); len(p) != 0 {
		t.Errorf("unhealthy: %v", p)
	}
	metrics := r.scrape()
	for _, want := range []string{
		`metricscale_sidecar_actions_total{action="deleted",kind="dashboard"} 1`,
		`metricscale_sidecar_dashboards{state="foreign"} 1`,
		`metricscale_sidecar_dashboards{state="invalid"} 1`,
		`metricscale_sidecar_objects{holds="dashboards",kind="Secret"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

func (r *running) passes() int {
	for _, line := range strings.Split(r.scrape(), "\n") {
		if v, ok := strings.CutPrefix(line, "metricscale_sidecar_converge_passes_total "); ok {
			var n int
			_, _ = fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

func TestSidecarHealth(t *testing.T) {
	now := time.Unix(1000, 0)
	cfg := testConfig()
	s, err := New(fake.NewClientset(), nil, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	for _, in := range s.informers {
		in.now = s.now
	}
	code := func() int {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if code() != http.StatusServiceUnavailable {
		t.Error("healthy before the informers synced")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, in := range s.informers {
		go in.inf.RunWithContext(ctx)
	}
	deadline := time.Now().Add(5 * time.Second)
	for code() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after sync: %v", s.Problems())
		}
		time.Sleep(10 * time.Millisecond)
	}
	now = now.Add(cfg.WatchSilence + time.Second)
	if p := s.Problems(); len(p) != len(s.informers) || !strings.Contains(p[0], "no answer from the API server for 1m1s") {
		t.Errorf("after a silent watch: %v", p)
	}
	if p := s.LiveProblems(); len(p) != len(s.informers) {
		t.Errorf("/livez passes with a watch that hangs while nothing fails (a restart may mend it): %v", p)
	}
	now = time.Unix(1000, 0)
	for _, in := range s.informers {
		in.heard()
		in.failed(errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"))
	}
	now = now.Add(cfg.APIDown)
	if p := s.Problems(); len(p) != 0 {
		t.Errorf("unhealthy after failing for exactly --api-server-down: %v", p)
	}
	now = now.Add(time.Second)
	if p := s.Problems(); len(p) != len(s.informers) || !strings.Contains(p[0], "the API server has failed every list and watch for 31s (last error: dial tcp") {
		t.Errorf("after the API server failed for longer than --api-server-down: %v", p)
	}
	if p := s.LiveProblems(); len(p) != 0 {
		t.Errorf("/livez fails while the API server is down, which no restart mends: %v", p)
	}
	now = time.Unix(1000, 0)
	s.grafanaFailed(grafana.ErrUnreachable)
	now = now.Add(cfg.GrafanaDown + time.Second)
	for _, in := range s.informers {
		in.heard()
	}
	if p := s.Problems(); len(p) != 1 || !strings.HasPrefix(p[0], "Grafana unreachable for 1m1s") {
		t.Errorf("after Grafana was down: %v", p)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/livez %d while Grafana is down, which no restart mends: %s", rec.Code, rec.Body)
	}
	s.grafanaUp()
	if code() != http.StatusOK {
		t.Errorf("not healthy once Grafana is back: %v", s.Problems())
	}
}

func TestSidecarAdoptsAFolderOfTheSameTitle(t *testing.T) {
	ctx := context.Background()
	r := start(t, testConfig())
	if _, err := r.grafana.CreateFolder(ctx, "by-hand", "Team B", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := r.kube.CoreV1().ConfigMaps("team").Create(ctx, dashboardConfigMap("cm", "Team B", map[string]string{"b.json": `{"uid":"b","title":"B"}`}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "dashboard b in Grafana", func() bool { return r.dashboard("b") != nil })
	if uid := r.dashboard("b").Meta.FolderUID; uid != "by-hand" {
		t.Errorf("dashboard b is in folder %q, want the existing by-hand", uid)
	}
	roots, err := r.grafana.RootFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 {
		t.Errorf("Grafana has %d root folders, want the one made by hand", len(roots))
	}
}

func TestSidecarUnhealthyWhileGrafanaIsDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close() // nothing listens there any more
	cfg := testConfig()
	cfg.GrafanaDown = 100 * time.Millisecond
	r := startWith(t, cfg, url, nil)
	r.eventually(t, "unhealthy: Grafana unreachable", func() bool {
		p := r.sidecar.Problems()
		return len(p) == 1 && strings.HasPrefix(p[0], "Grafana unreachable for ")
	})
	if r.sidecar.Ready() {
		t.Error("ready without a pass")
	}
}

// Grafana stops, three ConfigMaps change meanwhile, Grafana comes back
// empty (no persistence): everything is back within one back-off step.
func TestSidecarCatchesUpWithAGrafanaRestartedEmpty(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	serve := func(l net.Listener) *http.Server {
		srv := &http.Server{Handler: grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: "pw"})}
		go func() { _ = srv.Serve(l) }()
		return srv
	}
	srv := serve(l)
	r := startWith(t, testConfig(), "http://"+addr, nil)
	cms := r.kube.CoreV1().ConfigMaps("team")
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cms.Create(ctx, dashboardConfigMap(name, "F", map[string]string{"d.json": `{"uid":"` + name + `","title":"` + name + ` v1"}`}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r.eventually(t, "three dashboards", func() bool { return r.dashboard("a") != nil && r.dashboard("b") != nil && r.dashboard("c") != nil })

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := cms.Update(ctx, dashboardConfigMap(name, "F", map[string]string{"d.json": `{"uid":"` + name + `","title":"` + name + ` v2"}`}), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r.eventually(t, "a failed pass while Grafana is down", func() bool {
		return strings.Contains(r.scrape(), "metricscale_sidecar_converge_errors_total 1")
	})
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv = serve(l)
	t.Cleanup(func() { _ = srv.Close() })
	start := time.Now()
	r.eventually(t, "the three dashboards back, changed, in their folder", func() bool {
		for _, name := range []string{"a", "b", "c"} {
			d := r.dashboard(name)
			if d == nil || d.Body["title"] != name+" v2" || d.Meta.FolderTitle != "F" {
				return false
			}
		}
		return true
	})
	// RetryMax is 200ms: one back-off step, one debounce and one pass.
	if took := time.Since(start); took > time.Second {
		t.Errorf("caught up after %s, want within one back-off step", took)
	}
}

// scrape is the sidecar's /metrics text.
func (r *running) scrape() string {
	rec := httptest.NewRecorder()
	r.sidecar.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// testLog sends the sidecar's log to the test's, shown when it fails.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Once against a loopback Grafana that refuses connections gives up with
// ErrBeforeGrafana after BeforeGrafana (the chart's init container, which
// Grafana starts after); one that answers is waited for and converged.
func TestOnceBeforeGrafana(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	cfg := testConfig()
	cfg.BeforeGrafana = 300 * time.Millisecond
	g, err := grafana.New(grafana.Config{URL: closed, Credentials: grafana.BasicCredentials("admin", "pw")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(fake.NewClientset(), g, cfg, slog.New(slog.NewTextHandler(testLog{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Once(context.Background()); !errors.Is(err, ErrBeforeGrafana) {
		t.Fatalf("Once against %s = %v, want ErrBeforeGrafana", closed, err)
	}

	emu := grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: "pw"})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	g, err = grafana.New(grafana.Config{URL: srv.URL, Credentials: grafana.BasicCredentials("admin", "pw")})
	if err != nil {
		t.Fatal(err)
	}
	if s, err = New(fake.NewClientset(), g, cfg, slog.New(slog.NewTextHandler(testLog{t}, nil))); err != nil {
		t.Fatal(err)
	}
	if err := s.Once(context.Background()); err != nil {
		t.Fatalf("Once against a Grafana that answers = %v", err)
	}
}

func TestOnLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://localhost:3000": true, "http://127.0.0.1:3000/grafana": true, "https://[::1]:3000": true,
		"http://grafana.monitoring:80": false, "http://10.0.0.1:3000": false, "://bad": false,
	} {
		if got := onLoopback(u); got != want {
			t.Errorf("onLoopback(%q) = %v, want %v", u, got, want)
		}
	}
}
