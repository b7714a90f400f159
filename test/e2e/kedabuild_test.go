package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// backgroundBuild is hack/tools.sh keda running beside the tests: on a first
// run KEDA's two binaries are a third of the sandbox's build, and only
// TestKEDA needs them, last.
type backgroundBuild struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan struct{}
	err     error
	took    time.Duration
}

// buildKEDAIfMissing starts hack/tools.sh keda, at a lower CPU priority
// than the sandbox, unless KEDA's binaries are in binDir already (then it
// returns nil). Its output goes to a log in dir.
func buildKEDAIfMissing(binDir, dir string) (*backgroundBuild, error) {
	missing := false
	for _, b := range sandbox.KEDABinaries {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil, nil
	}
	log, err := os.Create(filepath.Join(dir, "keda-build.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	b := &backgroundBuild{log: log.Name(), started: time.Now(), done: make(chan struct{})}
	b.cmd = exec.Command("nice", "-n", "10", filepath.Join(env.repo, "hack", "tools.sh"), "keda")
	b.cmd.Stdout, b.cmd.Stderr = log, log
	// Its own process group, to stop go build's children with it.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting hack/tools.sh keda: %w", err)
	}
	fmt.Printf("e2e: building KEDA's binaries beside the tests (hack/tools.sh keda; log %s)\n", b.log)
	go func() {
		b.err = b.cmd.Wait()
		b.took = time.Since(b.started)
		close(b.done)
	}()
	return b, nil
}

// wait waits for the build, logging progress every 30 s, and fails the test
// with the build's last lines if it failed.
func (b *backgroundBuild) wait(t *testing.T) {
	t.Helper()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-b.done:
			if b.err != nil {
				t.Fatalf("hack/tools.sh keda: %v\n%s", b.err, sandbox.TailFile(b.log, 30))
			}
			t.Logf("KEDA's binaries built in %.0fs", b.took.Seconds())
			return
		case <-tick.C:
			t.Logf("KEDA's binaries are still being built (%.0fs so far; log %s)", time.Since(b.started).Seconds(), b.log)
		}
	}
}

// stop ends the build if it still runs (the tests ended first).
func (b *backgroundBuild) stop() {
	if b == nil {
		return
	}
	select {
	case <-b.done:
		fmt.Printf("e2e: KEDA's binaries were built in %.0fs beside the tests\n", b.took.Seconds())
	default:
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
		<-b.done
		fmt.Println("e2e: stopped the build of KEDA's binaries, which had not finished")
	}
}

// needKEDA waits until KEDA runs: its binaries built, then its Deployments
// ready.
func needKEDA(t *testing.T) {
	t.Helper()
	if env.kedaBuild != nil {
		env.kedaBuild.wait(t)
	}
	if err := sandbox.WaitKEDA(context.Background(), env.rest, 3*time.Minute, t.Logf); err != nil {
		t.Fatal(err)
	}
	env.kedaReady.Store(true)
}

// requireKEDA fails a test that uses KEDA outside TestKEDA, where KEDA may
// not run yet.
func requireKEDA(t *testing.T) {
	t.Helper()
	if !env.kedaReady.Load() {
		t.Fatal("this test needs KEDA running: run it from TestKEDA, which waits for KEDA's build and Deployments")
	}
}
