package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

// sandboxLease is the Lease of the sandbox's own sidecar (deploy/sidecar).
const sandboxLease = "metricscale-sidecar"

// leaseHolder is the identity holding the sandbox sidecar's Lease.
func leaseHolder(ctx context.Context, t *testing.T) string {
	t.Helper()
	l, err := env.client.CoordinationV1().Leases("monitoring").Get(ctx, sandboxLease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestSidecarPods: the sandbox runs metricscale-sidecar as the Grafana
// chart would, from deploy/sidecar's files (two replicas, --leader-elect,
// every namespace, its ServiceAccount's RBAC only, pods on the host node).
// A labelled ConfigMap in any namespace becomes a dashboard in the folder
// its annotation names, a broken key is an Event, a change follows; the
// leader killed, the other replica applies the next change; the label
// removed, the dashboard goes.
func TestSidecarPods(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	pods, err := env.client.CoreV1().Pods("monitoring").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=metricscale-sidecar"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Fatalf("the sandbox runs %d sidecar pods, want the 2 of deploy/sidecar/deployment.yaml", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "monitoring-node" || p.Spec.ServiceAccountName != "metricscale-sidecar" {
			t.Errorf("pod %s on node %q as %q, want monitoring-node as metricscale-sidecar", p.Name, p.Spec.NodeName, p.Spec.ServiceAccountName)
		}
	}

	ns, suffix := testNamespace(t, "sidecar-pods-")
	uid := "e2e-pods-" + suffix
	folder := "Pods " + suffix
	t.Cleanup(func() {
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+uid, nil)
	})
	cms := env.client.CoreV1().ConfigMaps(ns)
	dashboard := func(title string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: ns,
				Labels: map[string]string{"grafana_dashboard": "1"}, Annotations: map[string]string{"grafana_folder": folder}},
			Data: map[string]string{"ok.json": fmt.Sprintf(`{"uid":%q,"title":%q}`, uid, title), "broken.json": `{`},
		}
	}
	waitTitle := func(title string) time.Duration {
		t.Helper()
		start := time.Now()
		eventually(t, 45*time.Second, "dashboard "+uid+" titled "+title, func(context.Context) error {
			d := storedDashboard(t, uid)
			if d == nil || d.Dashboard["title"] != title {
				return fmt.Errorf("not yet")
			}
			if d.Meta.FolderTitle != folder {
				return fmt.Errorf("in folder %q, want %q", d.Meta.FolderTitle, folder)
			}
			return nil
		})
		return time.Since(start)
	}

	if _, err := cms.Create(ctx, dashboard("v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("created: dashboard in Grafana after %s", waitTitle("v1").Round(time.Millisecond))
	eventually(t, 15*time.Second, "an InvalidDashboard Event recorded with the ServiceAccount's RBAC", func(ctx context.Context) error {
		list, err := env.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=d,reason=InvalidDashboard"})
		if err == nil && len(list.Items) == 0 {
			err = fmt.Errorf("no Event yet")
		}
		return err
	})
	if _, err := cms.Update(ctx, dashboard("v2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("changed: Grafana followed after %s", waitTitle("v2").Round(time.Millisecond))

	// Kill the leader (SIGKILL: no Lease released). Its identity is
	// HOSTNAME_PID; the other replica must take over and apply the change.
	holder := leaseHolder(ctx, t)
	m := regexp.MustCompile(`_(\d+)$`).FindStringSubmatch(holder)
	if m == nil {
		t.Fatalf("Lease holder %q: not HOSTNAME_PID", holder)
	}
	pid, _ := strconv.Atoi(m[1])
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "metricscale-sidecar") {
		t.Fatalf("Lease holder %q: process %d is not a sidecar (%v)", holder, pid, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if _, err := cms.Update(ctx, dashboard("v3"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTitle("v3")
	t.Logf("leader %s killed: the change applied %s later (lease duration 15s)", holder, time.Since(killed).Round(time.Millisecond))
	if now := leaseHolder(ctx, t); now == holder || now == "" {
		t.Errorf("the Lease is still held by %q after its holder was killed", now)
	}

	// The label removed: the dashboard goes.
	unlabelled := dashboard("v3")
	unlabelled.Labels = nil
	if _, err := cms.Update(ctx, unlabelled, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitDashboard(t, uid, false)
	t.Logf("unlabelled: dashboard gone after %s", time.Since(start).Round(time.Millisecond))
}

// TestSidecarGrafanaRestartedEmpty: Grafana stops, three ConfigMaps change
// meanwhile (passes fail and back off), Grafana comes back empty (no
// persistence): the first retry after it is back converges everything.
// A Grafana of the test's own, so the sandbox's stays up for the others.
func TestSidecarGrafanaRestartedEmpty(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	secret := make([]byte, 18)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	g := grafanaTarget{user: "admin", password: base64.RawURLEncoding.EncodeToString(secret)}
	startGrafana := func() context.CancelFunc {
		t.Helper()
		gctx, stop := context.WithCancel(ctx)
		url, err := grafanaemu.New(grafanaemu.Options{AdminUser: g.user, AdminPassword: g.password}).Start(gctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		g.url = url
		return stop
	}
	stop := startGrafana()
	defer func() { stop() }()

	ns, suffix := testNamespace(t, "sidecar-restart-")
	cms := env.client.CoreV1().ConfigMaps(ns)
	dashboard := func(i int, title string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("d%d", i), Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
			Data:       map[string]string{"d.json": fmt.Sprintf(`{"uid":"e2e-restart-%d-%s","title":%q}`, i, suffix, title)},
		}
	}
	for i := range 3 {
		if _, err := cms.Create(ctx, dashboard(i, "before"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sc := startSidecarFor(t, ns, g)
	titles := func() ([]string, error) {
		var out []string
		for i := range 3 {
			var d struct{ Dashboard struct{ Title string } }
			if err := grafanaAs(g, fmt.Sprintf("/api/dashboards/uid/e2e-restart-%d-%s", i, suffix), &d); err != nil {
				return nil, err
			}
			out = append(out, d.Dashboard.Title)
		}
		return out, nil
	}
	eventually(t, 20*time.Second, "three dashboards in the test's Grafana", func(context.Context) error {
		_, err := titles()
		return err
	})

	stop()
	for i := range 3 {
		if _, err := cms.Update(ctx, dashboard(i, "after"), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "a failed pass while Grafana is down", func(context.Context) error {
		if n := sc.metric(t, "metricscale_sidecar_converge_errors_total"); n < 2 {
			return fmt.Errorf("%v failed passes so far", n)
		}
		return nil
	})
	passes := sc.metric(t, "metricscale_sidecar_converge_passes_total")
	stop = startGrafana()
	restarted := time.Now()
	eventually(t, 90*time.Second, "the three changed dashboards in the restarted, empty Grafana", func(context.Context) error {
		got, err := titles()
		if err != nil {
			return err
		}
		for _, title := range got {
			if title != "after" {
				return fmt.Errorf("titles %v", got)
			}
		}
		return nil
	})
	// One back-off step: the first pass after Grafana came back (a failed
	// one may have been running as it came back) converged everything.
	if n := sc.metric(t, "metricscale_sidecar_converge_passes_total") - passes; n > 2 {
		t.Errorf("%v passes after Grafana came back, want the first retry (at most one more in flight) to converge", n)
	}
	t.Logf("converged %s after Grafana came back empty", time.Since(restarted).Round(time.Millisecond))
	if code, body, err := sc.get("/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz after Grafana is back: %d %s %v", code, body, err)
	}
}

// TestSidecarAPIServerRestart: kube-apiserver killed and restarted by the
// sandbox's supervisor (as kubelet restarts a static pod): the sidecar's
// /healthz fails while every list and watch fails, recovers when the API
// server is back, and a change made as it comes back arrives; the
// sandbox's own sidecar pods converge afterwards too.
func TestSidecarAPIServerRestart(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "sidecar-apiserver-")
	uid := "e2e-apiserver-" + suffix
	podUID := "e2e-apiserver-pods-" + suffix
	t.Cleanup(func() {
		for _, u := range []string{uid, podUID} {
			grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+u, nil)
		}
	})
	cms := env.client.CoreV1().ConfigMaps(ns)
	dashboard := func(title string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
			Data:       map[string]string{"d.json": fmt.Sprintf(`{"uid":%q,"title":%q}`, uid, title)},
		}
	}
	if _, err := cms.Create(ctx, dashboard("before"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sc := startSidecar(t, ns, "--owner-tag", "e2e-apiserver-"+suffix, "--api-server-down", "2s")
	waitDashboard(t, uid, true)

	b, err := os.ReadFile(filepath.Join(env.info.StateDir, "run", "kube-apiserver.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	eventually(t, 30*time.Second, "the sidecar's /healthz failing while the API server is down", func(context.Context) error {
		code, body, err := sc.get("/healthz")
		if err != nil {
			return err
		}
		if code == http.StatusOK {
			return fmt.Errorf("/healthz still 200")
		}
		if !strings.Contains(body, "the API server has failed every list and watch") {
			return fmt.Errorf("/healthz %d for another reason: %s", code, body)
		}
		t.Logf("/healthz %d: %s", code, strings.TrimSpace(body))
		return nil
	})
	eventually(t, 120*time.Second, "kube-apiserver back (restarted by the supervisor)", func(ctx context.Context) error {
		_, err := env.client.CoreV1().ConfigMaps(ns).Get(ctx, "d", metav1.GetOptions{})
		return err
	})
	t.Logf("the API server answered again %s after it was killed", time.Since(killed).Round(time.Millisecond))
	if _, err := cms.Update(ctx, dashboard("after"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the change made as the API server came back in Grafana", func(context.Context) error {
		if d := storedDashboard(t, uid); d == nil || d.Dashboard["title"] != "after" {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	eventually(t, 60*time.Second, "the sidecar's /healthz recovered", func(context.Context) error {
		code, body, err := sc.get("/healthz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("/healthz %d: %s", code, body)
		}
		return err
	})

	// The sandbox's sidecar pods (their lease renewals failed meanwhile).
	if _, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: ns, Labels: map[string]string{"grafana_dashboard": "1"}},
		Data:       map[string]string{"d.json": fmt.Sprintf(`{"uid":%q,"title":"pods"}`, podUID)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "the sandbox's sidecar pods converging after the restart", func(context.Context) error {
		if storedDashboard(t, podUID) == nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}
