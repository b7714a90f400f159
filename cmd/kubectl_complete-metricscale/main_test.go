package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The test binary stands in for the plugin when this variable is set: it
// prints its arguments, one per line, and exits 3.
const helperEnv = "KUBECTL_COMPLETE_METRICSCALE_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		for _, a := range os.Args[1:] {
			fmt.Printf("[%s]\n", a)
		}
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestFindPlugin(t *testing.T) {
	name := plugin
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	beside := t.TempDir()
	if err := os.WriteFile(filepath.Join(beside, name), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(beside, "kubectl_complete-metricscale"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	// krew links one binary of a plugin into its bin directory: a link to
	// this program elsewhere still finds the plugin beside what it points at.
	linkedFrom := t.TempDir()
	linked := filepath.Join(linkedFrom, "kubectl_complete-metricscale")
	if err := os.Symlink(filepath.Join(beside, "kubectl_complete-metricscale"), linked); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	onPath := func(string) (string, error) { return "/usr/local/bin/kubectl-metricscale", nil }
	notOnPath := func(string) (string, error) { return "", errors.New("executable file not found in $PATH") }
	tests := []struct {
		name     string
		self     string
		lookPath func(string) (string, error)
		want     string
		wantErr  string
	}{
		{"beside wins over PATH", filepath.Join(beside, "kubectl_complete-metricscale"), onPath, filepath.Join(beside, name), ""},
		{"beside the link's target", linked, notOnPath, filepath.Join(beside, name), ""},
		{"PATH when not beside", filepath.Join(empty, "other"), onPath, "/usr/local/bin/kubectl-metricscale", ""},
		{"no executable path", "", onPath, "/usr/local/bin/kubectl-metricscale", ""},
		{"nowhere", filepath.Join(empty, "other"), notOnPath, "", "neither beside this program nor on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findPlugin(tt.self, tt.lookPath)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The words kubectl passes, the empty word being completed included, reach
// the plugin after __complete, and its exit code comes back.
func TestRunPassesWordsAndExitCode(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(helperEnv, "1")
	var out, errOut bytes.Buffer
	code := run(self, []string{"doctor", "-n", ""}, strings.NewReader(""), &out, &errOut)
	if want := "[__complete]\n[doctor]\n[-n]\n[]\n"; out.String() != want || code != 3 {
		t.Fatalf("exit %d, output %q (stderr %q); want exit 3 and %q", code, out.String(), errOut.String(), want)
	}
	if code := run(filepath.Join(t.TempDir(), "missing"), nil, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "running") {
		t.Fatalf("a plugin that cannot start: exit %d, stderr %q", code, errOut.String())
	}
}
