// Package e2e runs metricscale's end-to-end tests against the real sandbox:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok,
// Prometheus, Pushgateway and prometheus-adapter on loopback. TestMain brings
// one sandbox up for the whole package (or reuses the one named by
// METRICSCALE_SANDBOX) and takes it down at the end.
//
// scenarios/<name> holds the seed guides as scenarios: manifests.yaml (a
// template) and scenario.yaml (what to wait for, what to push).
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// env is the sandbox every test uses.
var env struct {
	info   sandbox.Info
	rest   *rest.Config
	client kubernetes.Interface
	repo   string
	// set when TestMain started the sandbox itself
	toolsDir   string
	sandboxCmd string
	// interlokHPADeleted is when resetInterlok last deleted the HPA.
	interlokHPADeleted time.Time
	// kedaBuild builds KEDA's binaries beside the tests when they were not
	// built yet (nil otherwise); kedaReady is set by TestKEDA once KEDA runs.
	kedaBuild *backgroundBuild
	kedaReady atomic.Bool
}

// skipReason is set when there is no sandbox and that is not a failure (the
// sandbox's packages cannot be installed here and CI is not "true").
var skipReason string

// needSandbox skips the test when there is no sandbox. Every test calls it
// first (TestEveryTestNeedsTheSandbox checks).
func needSandbox(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// go test runs a package's tests in its directory (runtime.Caller's
	// file names are module paths under -trimpath, as make builds).
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.repo = filepath.Clean(filepath.Join(wd, "..", ".."))

	stateDir := os.Getenv("METRICSCALE_SANDBOX")
	if stateDir == "" {
		binDir, err := tools()
		if errors.Is(err, errCannotInstall) && os.Getenv("CI") != "true" {
			// Every test reports SKIP with the reason (go test -v shows it)
			// rather than the package passing without running any.
			skipReason = fmt.Sprintf("no sandbox: %v", err)
			fmt.Fprintf(os.Stderr, "SKIP e2e: %v\n", err)
			return m.Run()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		tmp, err := os.MkdirTemp("", "metricscale-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		stateDir = filepath.Join(tmp, "sandbox")
		if env.kedaBuild, err = buildKEDAIfMissing(binDir, tmp); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer env.kedaBuild.stop()
		sbin := filepath.Join(tmp, "sandbox-cmd")
		env.toolsDir, env.sandboxCmd = binDir, sbin
		if out, err := exec.Command("go", "build", "-o", sbin, filepath.Join(env.repo, "hack", "sandbox")).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building the sandbox command: %v\n%s", err, out)
			return 1
		}
		start := time.Now()
		// --keda-later: TestKEDA waits for KEDA, after every other test.
		up := exec.Command(sbin, "up", "--state-dir", stateDir, "--bin-dir", binDir, "--project-bin-dir", filepath.Join(env.repo, "bin"), "--keda-later")
		up.Stdout, up.Stderr = os.Stdout, os.Stderr
		err = up.Run()
		defer func() {
			down := exec.Command(sbin, "down", "--state-dir", stateDir)
			down.Stdout, down.Stderr = os.Stdout, os.Stderr
			_ = down.Run()
			if os.Getenv("METRICSCALE_KEEP_SANDBOX_STATE") == "" {
				_ = os.RemoveAll(tmp)
			}
		}()
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: the sandbox did not come up:", err)
			return 1
		}
		fmt.Printf("e2e: sandbox up in %.1fs, %s\n", time.Since(start).Seconds(), memoryReport(stateDir))
	}
	info, err := sandbox.ReadInfo(stateDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	env.info = info
	if env.rest, err = clientcmd.BuildConfigFromFlags("", info.Kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	env.client = kubernetes.NewForConfigOrDie(env.rest)
	code := m.Run()
	if code == 0 {
		fmt.Printf("e2e: after the tests, %s\n", memoryReport(stateDir))
	} else {
		fmt.Printf("e2e: sandbox logs are in %s/logs (set METRICSCALE_KEEP_SANDBOX_STATE=1 to keep them)\n", stateDir)
	}
	return code
}

var errCannotInstall = errors.New("cannot install the sandbox's packages")

// tools runs hack/tools.sh base, which installs and builds what the sandbox
// needs but KEDA (cached after the first run), and returns the binary
// directory. Exit code 3 means the Debian packages are missing and this user
// cannot install them.
func tools() (string, error) {
	if d := os.Getenv("METRICSCALE_TOOLS_BIN"); d != "" {
		return d, nil
	}
	cmd := exec.Command(filepath.Join(env.repo, "hack", "tools.sh"), "base")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return "", fmt.Errorf("%w: not root and Prometheus/Pushgateway are not installed (see the message above)", errCannotInstall)
	}
	if err != nil {
		return "", fmt.Errorf("hack/tools.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// memoryReport sums the resident memory of the sandbox's processes.
func memoryReport(stateDir string) string {
	pids, _ := filepath.Glob(filepath.Join(stateDir, "run", "*.pid"))
	var total int64
	var parts []string
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/status")
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(status), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb
				parts = append(parts, fmt.Sprintf("%s=%dMB", strings.TrimSuffix(filepath.Base(p), ".pid"), kb/1024))
			}
		}
	}
	return fmt.Sprintf("sandbox RSS %d MB over %d processes (%s)", total/1024, len(parts), strings.Join(parts, " "))
}

// eventually polls cond until it returns nil or timeout passes, logging
// progress every 10 s, and fails the test with cond's last error.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	lastLog := start
	var err error
	for time.Since(start) < timeout {
		if err = cond(ctx); err == nil {
			t.Logf("%s after %.1fs", what, time.Since(start).Seconds())
			return
		}
		if time.Since(lastLog) > 10*time.Second {
			t.Logf("still waiting for %s: %v", what, err)
			lastLog = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: not reached after %s: %v", what, timeout, err)
}
