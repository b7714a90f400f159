package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// The sidecar bench's shape: dashboard ConfigMaps of about 50 KB each, in
// folders, in one namespace of their own, under a label of their own (the
// sandbox's own sidecar watches grafana_dashboard everywhere).
const (
	sidecarDashboards = 500
	sidecarFolders    = 20
	sidecarBytes      = 50 << 10
	sidecarNamespace  = "bench-sidecar"
	sidecarLabel      = "bench_dashboard"
)

// sidecarBench runs bin/metricscale-sidecar against a Grafana API emulator
// served by bench alone, over sidecarDashboards labelled ConfigMaps in the
// sandbox: the time from start with an empty Grafana to the first full
// converge (/readyz), the requests per dashboard, the sidecar's peak RSS,
// and the latency of one change with all of them present. It removes the
// namespace, the emulator and the process at the end.
type sidecarBench struct {
	info   sandbox.Info
	client kubernetes.Interface
	bin    string
	mode   grafanaemu.Mode // the Grafana version emulated
}

func (b *sidecarBench) run(ctx context.Context, waitScale float64) (err error) {
	fmt.Printf("\nsidecar: %d dashboard ConfigMaps of ~%d KB in %d folders, converged from an empty Grafana %s (an emulator in this process)\n",
		sidecarDashboards, sidecarBytes>>10, sidecarFolders, b.mode)
	if _, err := os.Stat(b.bin); err != nil {
		return fmt.Errorf("the sidecar binary: %w (make build)", err)
	}
	defer func() { err = errors.Join(err, b.removeNamespace(context.Background())) }()
	if err := b.createConfigMaps(ctx); err != nil {
		return err
	}
	emu := grafanaemu.New(grafanaemu.Options{Mode: b.mode, AdminUser: "admin", AdminPassword: "bench-password"})
	ectx, stopEmu := context.WithCancel(ctx)
	defer stopEmu()
	grafanaURL, err := emu.Start(ectx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	sc, err := b.startSidecar(grafanaURL)
	if err != nil {
		return err
	}
	defer func() { sc.stop(err != nil) }()
	if err := b.firstConverge(ctx, sc, emu, grafanaURL, waitScale); err != nil {
		return err
	}
	if err := b.oneChange(ctx, emu, grafanaURL, waitScale); err != nil {
		return err
	}
	close(sc.stopMem)
	p := <-sc.peak
	fmt.Printf("  the sidecar's peak RSS: %.1f MB (VmHWM, target ≤ 100 MB; at the largest of %d samples: %.1f MB anonymous, %.1f MB the binary's file-backed pages)\n",
		mb(p.hwm), p.samples, mb(p.at.Anonymous), mb(p.at.File()))
	return nil
}

// benchSidecar is the sidecar process under bench, sampled for memory.
type benchSidecar struct {
	cmd     *exec.Cmd
	addr    string
	log     *os.File
	started time.Time
	stopMem chan struct{}
	peak    <-chan memPeak
}

// startSidecar runs the sidecar binary against grafanaURL, its log in a
// temporary file, its memory sampled from its start.
func (b *sidecarBench) startSidecar(grafanaURL string) (*benchSidecar, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	log, err := os.CreateTemp("", "metricscale-bench-sidecar-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.bin, "--kubeconfig", b.info.Kubeconfig, "--listen-address", addr,
		"--namespace", sidecarNamespace, "--label", sidecarLabel, "--datasource-label=", "--owner-tag", "metricscale-bench")
	cmd.Env = append(os.Environ(), "GRAFANA_URL="+grafanaURL, "GRAFANA_USER=admin", "GRAFANA_PASSWORD=bench-password")
	cmd.Stdout, cmd.Stderr = log, log
	sc := &benchSidecar{cmd: cmd, addr: addr, log: log, started: time.Now(), stopMem: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		log.Close()
		os.Remove(log.Name())
		return nil, err
	}
	sc.peak = sampleMemory(cmd.Process.Pid, 20*time.Millisecond, sc.stopMem)
	return sc, nil
}

// stop interrupts the sidecar, prints its log's last lines when the bench
// failed, and removes the log.
func (sc *benchSidecar) stop(failed bool) {
	_ = sc.cmd.Process.Signal(os.Interrupt)
	_ = sc.cmd.Wait()
	if failed {
		if b, err := os.ReadFile(sc.log.Name()); err == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			fmt.Printf("  the sidecar's log (last lines):\n%s\n", strings.Join(lines[max(0, len(lines)-15):], "\n"))
		}
	}
	sc.log.Close()
	os.Remove(sc.log.Name())
}

// firstConverge waits for the sidecar's /readyz and checks that Grafana
// holds every dashboard, printing the time and requests it took.
func (b *sidecarBench) firstConverge(ctx context.Context, sc *benchSidecar, emu *grafanaemu.Server, grafanaURL string, waitScale float64) error {
	ready := func(ctx context.Context) (bool, string, error) {
		resp, err := http.Get("http://" + sc.addr + "/readyz")
		if err != nil {
			return false, "not serving yet", nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, "readyz " + resp.Status, nil
	}
	if err := waitFor(ctx, "the first full converge (/readyz)", time.Duration(waitScale*float64(2*time.Minute)), 10*time.Millisecond, ready, nil); err != nil {
		return err
	}
	converge := time.Since(sc.started)
	stats := emu.Stats()
	var found []struct{ UID string }
	if err := emulatorGet(grafanaURL, "/api/search?type=dash-db&tag=metricscale-bench&limit=5000", &found); err != nil {
		return err
	}
	if len(found) != sidecarDashboards {
		return fmt.Errorf("Grafana holds %d dashboards after the first converge, want %d", len(found), sidecarDashboards)
	}
	fmt.Printf("  from start to converged: %s (target ≤ 10s); %d requests (%d writes), %.2f per dashboard\n",
		converge.Round(time.Millisecond), stats.Reads+stats.Writes, stats.Writes, float64(stats.Reads+stats.Writes)/sidecarDashboards)
	return nil
}

// oneChange changes one dashboard's ConfigMap with all of them present and
// prints how soon, and with how many requests, Grafana holds the change.
func (b *sidecarBench) oneChange(ctx context.Context, emu *grafanaemu.Server, grafanaURL string, waitScale float64) error {
	cm, err := b.client.CoreV1().ConfigMaps(sidecarNamespace).Get(ctx, "dash-000", metav1.GetOptions{})
	if err != nil {
		return err
	}
	cm.Data["dashboard.json"] = dashboardJSON(0, "bench 000 changed")
	// Watched at the emulator's side (its saves), so the bench's own
	// reads neither delay nor count against the sidecar.
	emu.ResetStats()
	changed := time.Now()
	if _, err := b.client.CoreV1().ConfigMaps(sidecarNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return err
	}
	saved := func(context.Context) (bool, string, error) {
		n := dashboardSaves(emu.Stats())
		return n > 0, fmt.Sprintf("%d dashboard saves", n), nil
	}
	if err := waitFor(ctx, "the change in Grafana", time.Duration(waitScale*float64(time.Minute)), 2*time.Millisecond, saved, nil); err != nil {
		return err
	}
	latency := time.Since(changed)
	after := emu.Stats()
	// The save was counted as it arrived: read the title once it is stored.
	title := func(context.Context) (bool, string, error) {
		var got struct{ Dashboard struct{ Title string } }
		err := emulatorGet(grafanaURL, "/api/dashboards/uid/bench-000", &got)
		return err == nil && got.Dashboard.Title == "bench 000 changed", "title " + got.Dashboard.Title, err
	}
	if err := waitFor(ctx, "the changed title in Grafana", 10*time.Second, 5*time.Millisecond, title, nil); err != nil {
		return err
	}
	fmt.Printf("  one change with %d present: in Grafana after %s (%d requests, %d writes)\n",
		sidecarDashboards, latency.Round(time.Millisecond), after.Reads+after.Writes, after.Writes)
	return nil
}

// dashboardJSON is the chain dashboard under uid bench-NNN with title,
// padded with a description to about sidecarBytes.
func dashboardJSON(i int, title string) string {
	all, err := dashboards.All()
	if err != nil {
		panic(err) // the embedded dashboards are checked by their own tests
	}
	var body map[string]any
	if err := json.Unmarshal(all[0].JSON, &body); err != nil {
		panic(err)
	}
	body["uid"], body["title"] = fmt.Sprintf("bench-%03d", i), title
	b, _ := json.Marshal(body)
	if pad := sidecarBytes - len(b); pad > 0 {
		body["description"] = strings.Repeat("x", pad)
		b, _ = json.Marshal(body)
	}
	return string(b)
}

func (b *sidecarBench) createConfigMaps(ctx context.Context) error {
	if _, err := b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sidecarNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	start := time.Now()
	err := parallel(ctx, sidecarDashboards, 8, func(ctx context.Context, i int) error {
		_, err := b.client.CoreV1().ConfigMaps(sidecarNamespace).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("dash-%03d", i), Labels: map[string]string{sidecarLabel: "1"},
				Annotations: map[string]string{"grafana_folder": fmt.Sprintf("bench folder %02d", i%sidecarFolders)}},
			Data: map[string]string{"dashboard.json": dashboardJSON(i, fmt.Sprintf("bench %03d", i))},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("  %d ConfigMaps created in %s\n", sidecarDashboards, time.Since(start).Round(time.Millisecond))
	return nil
}

// removeNamespace deletes the bench's namespace and waits until it is
// gone, so that a next run (another Grafana mode) can create it again.
func (b *sidecarBench) removeNamespace(ctx context.Context) error {
	err := b.client.CoreV1().Namespaces().Delete(ctx, sidecarNamespace, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	gone := func(ctx context.Context) (bool, string, error) {
		_, err := b.client.CoreV1().Namespaces().Get(ctx, sidecarNamespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "namespace " + sidecarNamespace + " terminating", err
	}
	return waitFor(ctx, "namespace "+sidecarNamespace+" removed", 2*time.Minute, 200*time.Millisecond, gone, nil)
}

// dashboardSaves counts the dashboard writes of stats: through the legacy
// /api, or through /apis (Grafana 12+).
func dashboardSaves(st grafanaemu.Stats) int {
	n := st.ByRoute["POST /api/dashboards/db"]
	for route, count := range st.ByRoute {
		if strings.HasPrefix(route, "PUT /apis/dashboard.grafana.app/") || strings.HasPrefix(route, "POST /apis/dashboard.grafana.app/") {
			n += count
		}
	}
	return n
}

// emulatorGet reads one JSON answer of the bench's emulator as its admin.
func emulatorGet(base, path string, v any) error {
	return grafanaemu.Get(base, "admin", "bench-password", path, v)
}
