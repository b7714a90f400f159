package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kubectl's --profile writes a pprof profile (gzipped protobuf) when the
// command ends, also when it fails; an unknown profile is refused.
func TestProfileFlags(t *testing.T) {
	kc := kubeconfig(t, "https://127.0.0.1:1")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"cpu, a command that succeeds", []string{"version", "--profile", "cpu"}, ""},
		{"heap, a command that fails", []string{"doctor", "--kubeconfig", kc, "--profile", "heap"}, "cannot reach the Kubernetes API server"},
		{"goroutine", []string{"version", "--profile", "goroutine"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "p.pprof")
			_, _, err := execute(append(tt.args, "--profile-output", out)...)
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			b, rerr := os.ReadFile(out)
			if rerr != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
				t.Fatalf("profile %d bytes (%v), want a gzipped pprof profile", len(b), rerr)
			}
		})
	}
	out := filepath.Join(t.TempDir(), "p.pprof")
	if _, _, err := execute("version", "--profile", "nope", "--profile-output", out); err == nil || !strings.Contains(err.Error(), `--profile "nope"`) {
		t.Fatalf("err %v, want --profile refused", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a refused --profile wrote %s (%v)", out, err)
	}
}
