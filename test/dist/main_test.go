// Package dist proves the release: TestMain builds every archive with
// hack/dist.sh (as make dist does) at a test version, then the tests check the
// archives, validate the krew manifest with krew's own validator, and install
// the plugin offline with the real krew for each platform. It needs no sandbox:
// only hack/tools.sh dist (krew, validate-krew-manifest, wine64; built or
// installed once and cached) and kubectl. make dist-test runs it, as part of
// make test.
//
// The version is v0.0.0-test.1. The tests check the archives' files, sums
// and sizes; run krew's validator on the manifest and on broken copies,
// which it must refuse; check that .krew.yaml rendered as the release bot
// renders it equals the manifest; and, for each platform (KREW_OS,
// KREW_ARCH), run `kubectl krew install --manifest --archive` offline into a
// temporary KREW_ROOT, then `kubectl metricscale version -o json` through
// kubectl's plugin discovery (linux/amd64) or under wine64 (windows/amd64),
// and check the executable format and architecture of the others
// (debug/elf, debug/macho, debug/pe).
//
// DIST_PLATFORMS (os/arch, comma- or space-separated) narrows the build to
// those platforms, as hack/dist.sh's PLATFORMS does: make test builds the
// two it executes, linux/amd64 and windows/amd64, and make dist-test all six.
// The tests expect exactly the platforms built.
package dist

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testVersion is a prerelease no real release uses.
const testVersion = "v0.0.0-test.1"

var env struct {
	repo     string
	toolsDir string // kubectl-krew, validate-krew-manifest, wine64, bcryptprimitives.dll
	distDir  string // hack/dist.sh's output
	// platforms are the plugin's platforms built (os/arch), in the
	// manifest's order.
	platforms []string
	commit    string // HEAD, as dist.sh stamps it
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
	tmp, err := os.MkdirTemp("", "metricscale-dist-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	env.distDir = filepath.Join(tmp, "dist")
	env.platforms = selectPlatforms(os.Getenv("DIST_PLATFORMS"))
	if err := setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "test/dist:", err)
		return 1
	}
	return m.Run()
}

func setUp() error {
	if _, err := exec.LookPath("kubectl"); err != nil {
		return fmt.Errorf("kubectl is not on PATH: krew runs as a kubectl plugin, install kubectl first")
	}
	start := time.Now()
	out, err := command(env.repo, nil, filepath.Join(env.repo, "hack", "tools.sh"), "dist")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		return fmt.Errorf("the Debian packages wine64, binutils-mingw-w64-x86-64 and zip are missing and this user cannot install them: %s", out)
	}
	if err != nil {
		return fmt.Errorf("hack/tools.sh dist: %w", err)
	}
	env.toolsDir = strings.TrimSpace(lastLine(out))
	fmt.Fprintf(os.Stderr, "test/dist: tools ready in %s\n", time.Since(start).Round(time.Second))

	start = time.Now()
	out, err = command(env.repo, []string{"VERSION=" + testVersion, "DIST=" + env.distDir, "PLATFORMS=" + strings.Join(env.platforms, " ")}, filepath.Join(env.repo, "hack", "dist.sh"))
	fmt.Fprint(os.Stderr, out)
	if err != nil {
		return fmt.Errorf("hack/dist.sh: %w", err)
	}
	fmt.Fprintf(os.Stderr, "test/dist: hack/dist.sh took %s\n", time.Since(start).Round(time.Second))

	head, err := command(env.repo, nil, "git", "rev-parse", "HEAD")
	if err != nil {
		return fmt.Errorf("git rev-parse HEAD: %w", err)
	}
	env.commit = strings.TrimSpace(head)
	return nil
}

// allPlatforms are the plugin's release platforms in the manifest's order.
var allPlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

// selectPlatforms returns the platforms of allPlatforms named in only (all
// when it is empty); hack/krew-manifest refuses a name it does not know.
func selectPlatforms(only string) []string {
	names := strings.FieldsFunc(only, func(r rune) bool { return r == ',' || r == ' ' })
	if len(names) == 0 {
		return allPlatforms
	}
	return slices.DeleteFunc(slices.Clone(allPlatforms), func(p string) bool { return !slices.Contains(names, p) })
}

// command runs name in dir with extra environment variables and returns its
// standard output; its standard error goes to the test's.
func command(dir string, extraEnv []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return string(out), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
