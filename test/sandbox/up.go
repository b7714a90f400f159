package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Running reports whether a supervisor for stateDir is alive.
func Running(stateDir string) bool {
	b, err := os.ReadFile(filepath.Join(stateDir, "run", supervisorName+".pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && alive(pid) && ownsPID(pid, stateDir)
}

// Up starts a detached supervisor (`self run ...`) for cfg and follows its
// progress on cfg.Progress until the stack is ready, fails, or timeout
// passes. On failure it stops whatever was started.
func Up(ctx context.Context, cfg Config, self []string, timeout time.Duration) (Info, error) {
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return Info{}, err
	}
	cfg.StateDir = abs
	if cfg.ProjectBinDir, err = filepath.Abs(cfg.ProjectBinDir); err != nil {
		return Info{}, err
	}
	out := cfg.Progress
	if out == nil {
		out = io.Discard
	}
	if Running(abs) {
		info, err := ReadInfo(abs)
		if err == nil {
			fmt.Fprintf(out, "sandbox already running in %s\n", abs)
			return info, nil
		}
	}
	// Processes left behind by a supervisor that was killed would hold on
	// to this directory's PID files: stop them first.
	if left, _ := StopRecorded(abs, 10*time.Second); len(left) > 0 {
		fmt.Fprintf(out, "stopped %d processes left from an earlier run: %v\n", len(left), left)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return Info{}, err
	}
	progressPath := filepath.Join(abs, progressFile)
	_ = os.Remove(progressPath)
	logPath := filepath.Join(abs, "supervisor.log")
	exited, err := startSupervisor(cfg, self, logPath)
	if err != nil {
		return Info{}, err
	}
	info, err := awaitReady(ctx, &progressFollower{path: progressPath, out: out}, exited, logPath, timeout)
	if err != nil {
		fmt.Fprintln(out, "stopping what was started ...")
		_, _ = StopRecorded(abs, 10*time.Second)
	}
	return info, err
}

// startSupervisor starts `self run` for cfg in its own session, its output
// in logPath; the channel closes when it exits.
func startSupervisor(cfg Config, self []string, logPath string) (<-chan struct{}, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// The supervisor holds its own descriptor of the log.
	defer logFile.Close()
	args := append(append([]string{}, self[1:]...), "--state-dir", cfg.StateDir, "--bin-dir", cfg.BinDir, "--project-bin-dir", cfg.ProjectBinDir)
	if cfg.KEDALater {
		args = append(args, "--keda-later")
	}
	cmd := exec.Command(self[0], args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = cfg.StateDir
	// setsid: the stack outlives this command and a Ctrl-C in
	// the terminal that ran `up`.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the sandbox supervisor: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return exited, nil
}

// awaitReady follows the supervisor's progress until it reports READY
// (then the sandbox's Info), FAILED, exits, ctx ends or timeout passes.
func awaitReady(ctx context.Context, p *progressFollower, exited <-chan struct{}, logPath string, timeout time.Duration) (Info, error) {
	stateDir := filepath.Dir(logPath)
	failedErr := fmt.Errorf("the sandbox failed to start (logs in %s)", filepath.Join(stateDir, "logs"))
	deadline := time.Now().Add(timeout)
	for {
		ready, failed := p.follow()
		if ready {
			return ReadInfo(stateDir)
		}
		if failed {
			// The rest of the message follows on indented lines.
			time.Sleep(200 * time.Millisecond)
			p.follow()
			return Info{}, failedErr
		}
		select {
		case <-exited:
			if _, failed := p.follow(); failed {
				return Info{}, failedErr
			}
			return Info{}, fmt.Errorf("the sandbox supervisor exited early; last lines of %s:\n%s", logPath, TailFile(logPath, 20))
		case <-ctx.Done():
			return Info{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return Info{}, fmt.Errorf("the sandbox was not ready after %s (logs in %s)", timeout, filepath.Join(stateDir, "logs"))
		}
	}
}

// progressFollower prints the supervisor's new progress lines.
type progressFollower struct {
	path   string
	offset int64
	out    io.Writer
}

// follow prints the new progress lines and reports READY or FAILED.
func (p *progressFollower) follow() (ready, failed bool) {
	lines, next := readNewLines(p.path, p.offset)
	p.offset = next
	for _, l := range lines {
		fmt.Fprintln(p.out, l)
		switch {
		case strings.HasPrefix(l, readyMarker):
			ready = true
		case strings.HasPrefix(l, failedMarker):
			failed = true
		}
	}
	return ready, failed
}

// readNewLines returns the complete lines of path after offset.
func readNewLines(path string, offset int64) ([]string, int64) {
	f, err := os.Open(path)
	if err != nil {
		return nil, offset
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset
	}
	var lines []string
	r := bufio.NewReader(f)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return lines, offset // a partial line is read again next time
		}
		offset += int64(len(l))
		lines = append(lines, strings.TrimRight(l, "\n"))
	}
}
