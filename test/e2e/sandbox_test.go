package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// TestSandboxUpReportsAFailingComponent starts a second sandbox beside the
// shared one, with a kube-apiserver that exits at once: `up` must exit
// non-zero, print that component's log tail, and leave no process running.
func TestSandboxUpReportsAFailingComponent(t *testing.T) {
	needSandbox(t)
	if env.toolsDir == "" {
		t.Skip("needs the tool binaries (reusing a sandbox via METRICSCALE_SANDBOX)")
	}
	bin := t.TempDir()
	entries, err := os.ReadDir(env.toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(env.toolsDir, e.Name()), filepath.Join(bin, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	broken := filepath.Join(bin, "kube-apiserver")
	_ = os.Remove(broken)
	script := "#!/bin/sh\necho 'Error: invalid argument \"bogus\" for \"--service-cluster-ip-range\"' >&2\nexit 1\n"
	if err := os.WriteFile(broken, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	start := time.Now()
	// --keda-later: KEDA's binaries may still be building, as for TestMain's sandbox.
	out, err := exec.Command(env.sandboxCmd, "up", "--state-dir", state, "--bin-dir", bin, "--timeout", "2m", "--keda-later").CombinedOutput()
	t.Logf("sandbox up (%.1fs):\n%s", time.Since(start).Seconds(), out)
	if err == nil {
		t.Fatal("sandbox up succeeded with a broken kube-apiserver")
	}
	for _, want := range []string{"etcd", "ready in", "FAILED: kube-apiserver", "kube-apiserver exited", `invalid argument "bogus"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if sandbox.Running(state) {
		t.Error("the supervisor is still running")
	}
	pids, _ := filepath.Glob(filepath.Join(state, "run", "*.pid"))
	if len(pids) != 0 {
		t.Errorf("PID files left: %v", pids)
	}
}
