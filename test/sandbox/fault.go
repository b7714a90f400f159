package sandbox

import (
	"os"
	"path/filepath"
	"strings"
)

// Tests force a host process to fail at its next start (a broken image, a
// crash at start-up) by leaving a fault file: faults/<binary> in the state
// directory, holding the message the process prints before it exits 1. The
// fault is used once.

func faultPath(stateDir, binary string) string { return filepath.Join(stateDir, "faults", binary) }

// FailNextStart makes the next start of binary (e.g. "prometheus-adapter")
// print message and exit 1.
func FailNextStart(stateDir, binary, message string) error {
	p := faultPath(stateDir, binary)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(message), 0o644)
}

// ClearFault removes a fault that was not used.
func ClearFault(stateDir, binary string) { _ = os.Remove(faultPath(stateDir, binary)) }

// takeFault consumes the fault for binary, if there is one.
func takeFault(stateDir, binary string) (string, bool) {
	p := faultPath(stateDir, binary)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	if os.Remove(p) != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}
