package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pluginBinary builds the plugin for a test that runs it as a process (in
// a terminal, or to send it a signal).
func pluginBinary(t *testing.T) string {
	t.Helper()
	return filepath.Join(buildCommands(t, "kubectl-metricscale"), "kubectl-metricscale")
}

// interruptAfter runs the plugin, sends it SIGINT once a line of its
// output contains marker, and returns its output and exit code. The run is
// bounded: a plugin that does not stop within two minutes of the signal
// fails the test.
func interruptAfter(t *testing.T, marker string, args ...string) (string, int) {
	t.Helper()
	c := exec.Command(pluginBinary(t), append([]string{"--kubeconfig", env.info.Kubeconfig}, args...)...)
	pr, pw := io.Pipe()
	c.Stdout, c.Stderr = pw, pw
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), marker) {
				signalled = true
				close(seen)
			}
		}
	}()
	select {
	case <-seen:
	case <-time.After(3 * time.Minute):
		_ = c.Process.Kill()
		t.Fatalf("no line with %q within 3m:\n%s", marker, out.String())
	}
	if err := c.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = c.Process.Kill()
		t.Fatalf("still running 2m after SIGINT:\n%s", out.String())
	}
	_ = pw.Close()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// TestAddRuleInterruptedRestores: Ctrl-C once add-rule has written the rule
// and is restarting the adapter: add-rule does not stop there, it puts the
// previous config back (byte for byte, no backup left), restarts the adapter
// with it and exits 1 saying so.
func TestAddRuleInterruptedRestores(t *testing.T) {
	needSandbox(t)
	original := interlok(t)

	out, code := interruptAfter(t, "wrote ConfigMap", "add-rule", "MessageMetrics")
	t.Logf("%s", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "interrupted before the adapter ran the new rule; restoring the previous config") ||
		!strings.Contains(out, "the previous config is back") {
		t.Fatalf("the output does not say that the previous config was put back")
	}
	if got := adapterConfig(t); got != original {
		t.Fatalf("the config was not restored:\n%s", got)
	}
	if bs := backups(t); len(bs) != 0 {
		t.Fatalf("%d backups left behind", len(bs))
	}
	eventually(t, time.Minute, "the adapter is Available and does not serve MessageMetrics", func(ctx context.Context) error {
		listed, err := listedMetrics(ctx)
		if err != nil {
			return err
		}
		for _, m := range listed {
			if strings.HasSuffix(m, "/MessageMetrics") {
				return fmt.Errorf("still lists %s", m)
			}
		}
		return nil
	})
}

// TestWatchStopsOnCtrlC: watch without --until ends with exit 0 on Ctrl-C;
// with --until it exits 1, since the condition never held.
func TestWatchStopsOnCtrlC(t *testing.T) {
	needSandbox(t)
	applyScenario(t, "interlok")
	if out, code := interruptAfter(t, "interlok-autoscaler", "watch", "-n", "default", "--interval", "1s"); code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	out, code := interruptAfter(t, "interlok-autoscaler", "watch", "-n", "default", "--interval", "1s", "--until", "replicas>=99")
	if code != 1 || !strings.Contains(out, "interrupted before replicas>=99 held") {
		t.Fatalf("exit %d, want 1 naming the condition:\n%s", code, out)
	}
}

// TestAddRuleRefusesInvalidPromQL: a --metrics-query that is not valid
// PromQL once rendered is refused with the parser's error and its position
// before anything is written (exit 2, the config and its backups as they
// were).
func TestAddRuleRefusesInvalidPromQL(t *testing.T) {
	needSandbox(t)
	original := interlok(t)
	before := len(backups(t))
	var out, errOut string
	var code int
	eventually(t, time.Minute, "Prometheus has the pushed series", func(context.Context) error {
		out, errOut, code = runCmd(t, "add-rule", "MessageMetrics", "--metrics-query", "sum(<<.Series>>{<<.LabelMatchers>>")
		if strings.Contains(errOut, "Prometheus has no series") {
			return errors.New(strings.TrimSpace(errOut))
		}
		return nil
	})
	if code != 2 {
		t.Fatalf("exit %d, want 2:\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "metricsQuery is not valid PromQL") || !strings.Contains(errOut, "^") {
		t.Fatalf("the error does not show the parser's message and position:\n%s", errOut)
	}
	if got := adapterConfig(t); got != original {
		t.Fatalf("the config changed:\n%s", got)
	}
	if n := len(backups(t)); n != before {
		t.Fatalf("%d backups, want %d", n, before)
	}
}
