// Command kubectl_complete-metricscale completes `kubectl metricscale <TAB>`.
// kubectl (1.26 or later) runs kubectl_complete-<plugin> from PATH with the
// words typed after the plugin's name and prints what it answers, in cobra's
// __complete protocol. This runs `kubectl-metricscale __complete WORDS...`:
// the plugin beside this binary first (as an archive or krew installs them),
// else the one on PATH, and passes its output and exit code through. It is a
// Go program rather than a shell script so that it works on Windows too.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// plugin is the plugin's command name.
const plugin = "kubectl-metricscale"

func main() {
	self, err := os.Executable()
	if err != nil {
		self = ""
	}
	path, err := findPlugin(self, exec.LookPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubectl_complete-metricscale:", err)
		os.Exit(1)
	}
	os.Exit(run(path, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// findPlugin returns the plugin beside self (the running binary, or the
// file a symlink to it points at), else the one lookPath finds on PATH.
func findPlugin(self string, lookPath func(string) (string, error)) (string, error) {
	name := plugin
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	var dirs []string
	if self != "" {
		dirs = append(dirs, filepath.Dir(self))
		if real, err := filepath.EvalSymlinks(self); err == nil && filepath.Dir(real) != dirs[0] {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	p, err := lookPath(plugin)
	if err != nil {
		return "", fmt.Errorf("%s is neither beside this program nor on PATH (%v): install both binaries in one directory on PATH", name, err)
	}
	return p, nil
}

// run runs the plugin's completion with args and returns its exit code.
func run(path string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := exec.Command(path, append([]string{"__complete"}, args...)...)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, stderr
	err := c.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintf(stderr, "kubectl_complete-metricscale: running %s: %v\n", path, err)
	return 1
}
