package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/metricscale/kubectl-metricscale/pkg/cmd"
	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// fleetKubeconfig writes a kubeconfig with three contexts on the
// sandbox's cluster and user: live (the sandbox), dead (a loopback port
// that was bound and closed: connections are refused) and hung (a port
// that listens and never accepts: requests hang until the client's
// timeout).
func fleetKubeconfig(t *testing.T) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.info.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	sandbox := cfg.Contexts[cfg.CurrentContext]
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Close() })
	cluster := cfg.Clusters[sandbox.Cluster]
	for name, addr := range map[string]string{"dead": deadAddr, "hung": hung.Addr().String()} {
		c := cluster.DeepCopy()
		c.Server = "https://" + addr
		cfg.Clusters[name] = c
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: sandbox.AuthInfo, Namespace: "default"}
	}
	cfg.Contexts["live"] = sandbox
	delete(cfg.Contexts, cfg.CurrentContext)
	cfg.CurrentContext = "live"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func hasHPA(r *doctor.Report, name string) bool {
	for _, h := range r.HPAs {
		if h.Name == name {
			return true
		}
	}
	return false
}

// doctorFleet runs doctor with args on the fleet kubeconfig and returns
// its output, exit code and wall time.
func doctorFleet(t *testing.T, kubeconfig string, args ...string) (string, int, time.Duration) {
	t.Helper()
	start := time.Now()
	// This --kubeconfig comes after runCmd's, and wins.
	out, errOut, code := runCmd(t, append([]string{"doctor", "--kubeconfig", kubeconfig}, args...)...)
	took := time.Since(start)
	t.Logf("$ kubectl metricscale doctor %s: exit %d in %.1fs\n%s", strings.Join(args, " "), code, took.Seconds(), errOut)
	return out, code, took
}

// doctor over a live, a dead and a hung cluster: each is reported, the
// unreachable ones fail alone within the request timeout without holding
// the live one up, and the exit code is the worst (2).
func TestDoctorAcrossContexts(t *testing.T) {
	needSandbox(t)
	applyScenario(t, "interlok")
	kc := fleetKubeconfig(t)

	_, liveCode, liveTook := doctorFleet(t, kc, "--context", "live", "-o", "json")
	if liveCode == cmd.ExitCannotRun {
		t.Fatalf("doctor could not run on the sandbox alone")
	}

	tests := []struct {
		name    string
		args    []string
		timeout time.Duration
	}{
		{"--context live,dead,hung", []string{"--context", "live,dead,hung", "--request-timeout", "3s"}, 3 * time.Second},
		// no --request-timeout: the fleet's default, 10s
		{"--all-contexts", []string{"--all-contexts"}, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code, took := doctorFleet(t, kc, append(tt.args, "-o", "json")...)
			if code != cmd.ExitCannotRun {
				t.Errorf("exit %d, want 2 (the worst: two contexts could not run)", code)
			}
			// Loose on purpose: the contexts run at once, so the unreachable
			// ones cost one request timeout at most beside the live one.
			if limit := liveTook + tt.timeout + time.Minute; took > limit {
				t.Errorf("took %s, more than the live context alone (%s) + the request timeout + a minute", took, liveTook)
			}
			var fleet doctor.FleetReport
			if err := json.Unmarshal([]byte(out), &fleet); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			items := map[string]doctor.ContextReport{}
			var names []string
			for _, it := range fleet.Items {
				items[it.Context] = it
				names = append(names, it.Context)
			}
			if want := map[string]string{"--all-contexts": "dead,hung,live"}[tt.name]; want != "" && strings.Join(names, ",") != want {
				t.Errorf("contexts %q, want every context of the kubeconfig, sorted: %s", names, want)
			}
			if want := "live,dead,hung"; tt.name != "--all-contexts" && strings.Join(names, ",") != want {
				t.Errorf("contexts %q, want %s in the order named", names, want)
			}
			if live := items["live"]; live.Report == nil || !hasHPA(live.Report, "interlok-autoscaler") {
				t.Errorf("live: error %q, report %v; want the sandbox's report, HPA interlok-autoscaler in it", live.Error, live.Report != nil)
			}
			for _, name := range []string{"dead", "hung"} {
				if it := items[name]; it.Report != nil || !strings.Contains(it.Error, "cannot reach the Kubernetes API server") {
					t.Errorf("%s: report %v, error %q; want why it could not run", name, it.Report != nil, it.Error)
				}
			}
		})
	}

	out, code, _ := doctorFleet(t, kc, "--context", "live,dead", "--request-timeout", "3s")
	for _, want := range []string{"CONTEXT live\nHPA ", "\nCHAIN\n", "HPA default/interlok-autoscaler", "CONTEXT dead\n  doctor could not run: cannot reach the Kubernetes API server",
		"CONTEXTS\n  CONTEXT  HPAS", "\n  dead     -     -", "2 contexts, "} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if code != cmd.ExitCannotRun {
		t.Errorf("table: exit %d, want 2", code)
	}
}
