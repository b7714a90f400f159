package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one host process of the sandbox, with its log in the state
// directory and its PID recorded so that `down` can stop it by PID.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	pidPath string
	done    chan struct{} // closed when the process has exited
	exitErr error
}

// startProcess starts bin with args, logging to <state>/logs/<name>.log and
// recording its PID in <state>/run/<name>.pid.
func startProcess(state, name, bin string, args []string, env []string) (*process, error) {
	logPath := filepath.Join(state, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "==> %s %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = state
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, pidPath: filepath.Join(state, "run", name+".pid"), done: make(chan struct{})}
	if err := writePID(p.pidPath, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		logFile.Close()
		return nil, err
	}
	go func() {
		p.exitErr = cmd.Wait()
		logFile.Close()
		_ = os.Remove(p.pidPath)
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status once the process has ended (-1 for a signal).
func (p *process) exitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop asks the process to end, then kills it after grace.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last n lines of the process log.
func (p *process) tail(n int) string { return TailFile(p.logPath, n) }

// TailFile returns the last n lines of a file ("" when it cannot be read).
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writePID(path string, pid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// StopRecorded stops every process whose PID is recorded under <state>/run,
// the supervisor first so that it does not restart what is being stopped.
// A PID is signalled only if that process's command line still names the
// state directory, so a recycled PID is never touched. It returns the names
// of the processes it stopped.
func StopRecorded(state string, grace time.Duration) ([]string, error) {
	runDir := filepath.Join(state, "run")
	entries, err := os.ReadDir(runDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recs := pidRecords(runDir, entries)
	// Note which processes are ours before stopping any: the supervisor
	// stops its children itself and they remove their own PID files.
	var stopped []string
	var ours []pidRecord
	for _, r := range recs {
		if ownsPID(r.pid, state) {
			ours = append(ours, r)
			stopped = append(stopped, r.name)
		} else {
			_ = os.Remove(r.path)
		}
	}
	for _, r := range ours {
		stopPID(r.pid, grace)
		_ = os.Remove(r.path)
	}
	return stopped, nil
}

// pidRecord is a process the sandbox started, from its PID file.
type pidRecord struct {
	name string
	pid  int
	path string
}

// pidRecords reads the PID files among entries of runDir, the
// supervisor's first.
func pidRecords(runDir string, entries []os.DirEntry) []pidRecord {
	var recs []pidRecord
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pid") {
			continue
		}
		path := filepath.Join(runDir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		r := pidRecord{strings.TrimSuffix(e.Name(), ".pid"), pid, path}
		if r.name == supervisorName {
			recs = append([]pidRecord{r}, recs...)
		} else {
			recs = append(recs, r)
		}
	}
	return recs
}

// stopPID sends SIGTERM, and SIGKILL after grace.
func stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// ownsPID reports whether pid is a live process started for this state
// directory: its command line or working directory names the directory.
func ownsPID(pid int, state string) bool {
	abs, err := filepath.Abs(state)
	if err != nil {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	if bytes.Contains(cmdline, []byte(abs)) {
		return true
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return err == nil && (cwd == abs || strings.HasPrefix(cwd, abs+"/"))
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited; only its parent's wait is missing.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}
