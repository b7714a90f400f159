package dist

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

// TestValidateManifest runs krew's own validator (cmd/validate-krew-manifest
// of sigs.k8s.io/krew v0.4.4) on the rendered manifest, and on broken copies of
// it, which it must refuse: proof that it really runs. -skip-install: its
// install step downloads each uri; TestKrewInstall installs from the archives.
func TestValidateManifest(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(env.distDir, "metricscale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	linuxAMD64 := "        os: linux\n        arch: amd64\n"
	windowsAMD64 := "        os: windows\n        arch: amd64\n"
	sum := readManifest(t).Spec.Platforms[0].Sha256
	tests := []struct {
		name     string
		manifest string
		wantErr  string // in the validator's output; "" = must pass
	}{
		{name: "rendered", manifest: string(good)},
		{
			name:     "overlapping selectors",
			manifest: strings.Replace(string(good), windowsAMD64, linuxAMD64, 1),
			wantErr:  "overlapping selectors",
		},
		{
			name:     "no version",
			manifest: strings.Replace(string(good), "  version: "+testVersion+"\n", "", 1),
			wantErr:  "version",
		},
		{
			name:     "a truncated sha256",
			manifest: strings.Replace(string(good), "sha256: "+sum, "sha256: "+sum[:12], 1),
			wantErr:  "`sha256` value " + sum[:12] + " is not valid",
		},
		{
			name:     "a name other than the file's",
			manifest: strings.Replace(string(good), "  name: metricscale\n", "  name: metric-scale\n", 1),
			wantErr:  `plugin should be named "metricscale"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantErr != "" && tc.manifest == string(good) {
				t.Fatal("the broken manifest is the rendered one: the replacement found nothing")
			}
			// The validator takes the plugin's name from the file's.
			path := filepath.Join(t.TempDir(), "metricscale.yaml")
			if err := os.WriteFile(path, []byte(tc.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(filepath.Join(env.toolsDir, "validate-krew-manifest"), "-manifest", path, "-skip-install").CombinedOutput()
			t.Logf("validate-krew-manifest:\n%s", out)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("krew's validator refused the manifest: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatal("krew's validator accepted a broken manifest")
			case tc.wantErr != "" && !strings.Contains(string(out), tc.wantErr):
				t.Fatalf("refused, but not for %q", tc.wantErr)
			}
		})
	}
}

// TestReleaseBotTemplate renders the committed .krew.yaml as krew-release-bot
// does for a tag (Go templates, addURIAndSha with the archive's sha256) and
// compares it with make dist's manifest, comments aside: the bot publishes the
// manifest this test validates and installs.
func TestReleaseBotTemplate(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(env.repo, ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sums := readChecksums(t)
	tag := struct{ TagName string }{testVersion}
	addURIAndSha := func(uriTemplate, tagName string) (string, error) {
		var uri bytes.Buffer
		if err := template.Must(template.New("uri").Parse(uriTemplate)).Execute(&uri, struct{ TagName string }{tagName}); err != nil {
			return "", err
		}
		sum, ok := sums[uri.String()[strings.LastIndex(uri.String(), "/")+1:]]
		if !ok && len(env.platforms) == len(allPlatforms) {
			return "", fmt.Errorf("%s is not an archive of make dist", uri.String())
		}
		if !ok {
			sum = notBuilt
		}
		return "uri: " + uri.String() + "\n    sha256: " + sum, nil
	}
	tmpl, err := template.New(".krew.yaml").Funcs(template.FuncMap{"addURIAndSha": addURIAndSha}).Parse(string(src))
	if err != nil {
		t.Fatalf(".krew.yaml: %v", err)
	}
	var rendered bytes.Buffer
	if err := tmpl.Execute(&rendered, tag); err != nil {
		t.Fatalf(".krew.yaml: %v", err)
	}
	dist, err := os.ReadFile(filepath.Join(env.distDir, "metricscale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(env.platforms) < len(allPlatforms) {
		// Some platforms were built: the template's other platforms are
		// left out, and the rest compared field by field.
		var got, want manifest
		if err := yaml.UnmarshalStrict(rendered.Bytes(), &got); err != nil {
			t.Fatalf(".krew.yaml rendered: %v", err)
		}
		if err := yaml.UnmarshalStrict(dist, &want); err != nil {
			t.Fatal(err)
		}
		got.Spec.Platforms = slices.DeleteFunc(got.Spec.Platforms, func(p platform) bool { return p.Sha256 == notBuilt })
		if !reflect.DeepEqual(got, want) {
			t.Errorf(".krew.yaml rendered for %s, the platforms built:\n%+v\nmake dist's manifest:\n%+v", testVersion, got, want)
		}
		return
	}
	if got, want := withoutComments(rendered.String()), withoutComments(string(dist)); got != want {
		t.Errorf(".krew.yaml rendered for %s:\n%s\nmake dist's manifest:\n%s", testVersion, got, want)
	}
}

// notBuilt stands for the sha256 of an archive DIST_PLATFORMS left out.
const notBuilt = "not-built"

func withoutComments(s string) string {
	var kept []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "#") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// krewRoot is a fresh KREW_ROOT whose bin directory, with kubectl-krew's,
// leads PATH: kubectl finds `krew` and then the installed `metricscale` there.
func krewRoot(t *testing.T) (root string, environ []string) {
	t.Helper()
	root = t.TempDir()
	krewBin := t.TempDir()
	if err := os.Symlink(filepath.Join(env.toolsDir, "kubectl-krew"), filepath.Join(krewBin, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	environ = []string{
		"KREW_ROOT=" + root,
		"PATH=" + filepath.Join(root, "bin") + string(os.PathListSeparator) + krewBin + string(os.PathListSeparator) + os.Getenv("PATH"),
		// krew asks GitHub for its latest release now and then: no traffic leaves the machine.
		"KREW_NO_UPGRADE_CHECK=1",
	}
	return root, environ
}

// krewInstall runs `kubectl krew install --manifest --archive` offline and
// returns the directory krew installed the plugin into.
func krewInstall(t *testing.T, root string, environ []string, p platform) string {
	t.Helper()
	cmd := exec.Command("kubectl", "krew", "install", "--manifest="+filepath.Join(env.distDir, "metricscale.yaml"), "--archive="+p.archive())
	cmd.Env = append(os.Environ(), environ...)
	out, err := cmd.CombinedOutput()
	t.Logf("kubectl krew install (%s/%s):\n%s", p.os(), p.arch(), out)
	if err != nil {
		t.Fatalf("kubectl krew install: %v", err)
	}
	// krew prints the manifest's caveats after installing.
	if !strings.Contains(string(out), "docs/install.md") {
		t.Errorf("krew did not print the caveats")
	}
	dir := filepath.Join(root, "store", "metricscale", testVersion)
	// validate-krew-manifest's own install check: a LICENSE is installed.
	if _, err := os.Stat(filepath.Join(dir, "LICENSE")); err != nil {
		t.Errorf("LICENSE is not installed: %v", err)
	}
	return dir
}

// TestKrewInstall installs the linux/amd64 archive with the real krew, offline,
// and runs `kubectl metricscale version` through kubectl's plugin discovery.
func TestKrewInstall(t *testing.T) {
	p := findPlatform(t, "linux", "amd64")
	root, environ := krewRoot(t)
	dir := krewInstall(t, root, environ, p)

	cmd := exec.Command("kubectl", "metricscale", "version", "-o", "json")
	cmd.Env = append(os.Environ(), environ...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl metricscale version: %v\n%s", err, out)
	}
	t.Logf("kubectl metricscale version -o json:\n%s", out)
	checkVersion(t, out, "linux/amd64")

	plain := exec.Command("kubectl", "metricscale", "version")
	plain.Env = cmd.Env
	out, err = plain.Output()
	if err != nil || !strings.Contains(string(out), "metricscale "+testVersion+" (commit "+env.commit) {
		t.Errorf("kubectl metricscale version (%v): %q, want the stamped version and commit", err, out)
	}

	list := exec.Command("kubectl", "plugin", "list", "--name-only")
	list.Env = cmd.Env
	names, err := list.Output()
	if err != nil || !strings.Contains(string(names), "kubectl-metricscale") {
		t.Errorf("kubectl plugin list does not show kubectl-metricscale (%v):\n%s", err, names)
	}

	// kubectl metricscale <TAB>: the completion helper linked onto PATH as
	// the caveats say (krew links only the plugin); kubectl runs it with
	// the words after "metricscale", and it runs the plugin beside its
	// link's target. Command names need no cluster.
	if err := os.Symlink(filepath.Join(dir, "kubectl_complete-metricscale"), filepath.Join(root, "bin", "kubectl_complete-metricscale")); err != nil {
		t.Fatal(err)
	}
	complete := exec.Command("kubectl", "__complete", "metricscale", "")
	complete.Env = cmd.Env
	words, err := complete.Output()
	t.Logf("kubectl __complete metricscale \"\":\n%s", words)
	for _, want := range []string{"doctor", "add-rule", "watch", "migrate"} {
		if err != nil || !strings.Contains(string(words), want) {
			t.Errorf("kubectl metricscale <TAB> (%v) does not offer %q", err, want)
		}
	}
}

// checkVersion checks `version -o json`: the stamped version, commit and date.
func checkVersion(t *testing.T, out []byte, platform string) {
	t.Helper()
	var info struct{ GitVersion, GitCommit, BuildDate, Platform string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if info.GitVersion != testVersion {
		t.Errorf("gitVersion %q, want %q", info.GitVersion, testVersion)
	}
	// dist.sh marks a build of a changed tree "-dirty".
	if info.GitCommit != env.commit && info.GitCommit != env.commit+"-dirty" {
		t.Errorf("gitCommit %q, want %s", info.GitCommit, env.commit)
	}
	if _, err := time.Parse(time.RFC3339, info.BuildDate); err != nil {
		t.Errorf("buildDate %q: %v", info.BuildDate, err)
	}
	if info.Platform != platform {
		t.Errorf("platform %q, want %q", info.Platform, platform)
	}
}

func findPlatform(t *testing.T, os, arch string) platform {
	t.Helper()
	for _, p := range readManifest(t).Spec.Platforms {
		if p.os() == os && p.arch() == arch {
			return p
		}
	}
	t.Fatalf("the manifest has no %s/%s platform", os, arch)
	return platform{}
}

// TestKrewInstallEachPlatform installs the other platforms' archives as krew
// does on those machines (KREW_OS, KREW_ARCH; a fresh KREW_ROOT each) and
// checks the installed binary's format and architecture. The windows/amd64
// binary also runs under wine. make test builds (and installs) windows/amd64
// only, make dist-test all five.
func TestKrewInstallEachPlatform(t *testing.T) {
	type platformCheck struct {
		os, arch string
		check    func(t *testing.T, path string)
	}
	all := []platformCheck{
		{"linux", "arm64", elfMachine(elf.EM_AARCH64)},
		{"darwin", "amd64", machoCPU(macho.CpuAmd64)},
		{"darwin", "arm64", machoCPU(macho.CpuArm64)},
		{"windows", "amd64", peMachine(pe.IMAGE_FILE_MACHINE_AMD64)},
		{"windows", "arm64", peMachine(pe.IMAGE_FILE_MACHINE_ARM64)},
	}
	tests := slices.DeleteFunc(all, func(tc platformCheck) bool {
		return !slices.Contains(env.platforms, tc.os+"/"+tc.arch)
	})
	t.Logf("installing %d platforms' archives of %v", len(tests), env.platforms)
	for _, tc := range tests {
		t.Run(tc.os+"/"+tc.arch, func(t *testing.T) {
			p := findPlatform(t, tc.os, tc.arch)
			root, environ := krewRoot(t)
			environ = append(environ, "KREW_OS="+tc.os, "KREW_ARCH="+tc.arch)
			dir := krewInstall(t, root, environ, p)
			installed := filepath.Join(dir, p.Bin)
			tc.check(t, installed)
			// krew links (on windows: copies) the plugin into its bin directory.
			if _, err := os.Stat(filepath.Join(root, "bin", p.Bin)); err != nil {
				t.Errorf("krew did not put %s into $KREW_ROOT/bin: %v", p.Bin, err)
			}
			switch {
			case tc.os == "windows" && tc.arch == "amd64":
				runUnderWine(t, installed)
			default:
				t.Logf("%s/%s cannot run here: its executable format, architecture and the archive's layout (TestArchives) are what is checked", tc.os, tc.arch)
			}
		})
	}
}

func elfMachine(want elf.Machine) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := elf.Open(path)
		if err != nil {
			t.Fatalf("not an ELF file: %v", err)
		}
		defer f.Close()
		if f.Machine != want || f.Type != elf.ET_EXEC {
			t.Errorf("ELF %v %v, want %v ET_EXEC", f.Machine, f.Type, want)
		}
		// Static (CGO_ENABLED=0): no interpreter.
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("dynamically linked (PT_INTERP)")
			}
		}
		t.Logf("ELF %v, static", f.Machine)
	}
}

func machoCPU(want macho.Cpu) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := macho.Open(path)
		if err != nil {
			t.Fatalf("not a Mach-O file: %v", err)
		}
		defer f.Close()
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("Mach-O %v %v, want %v executable", f.Cpu, f.Type, want)
		}
		t.Logf("Mach-O %v executable", f.Cpu)
	}
}

func peMachine(want uint16) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := pe.Open(path)
		if err != nil {
			t.Fatalf("not a PE file: %v", err)
		}
		defer f.Close()
		if f.Machine != want {
			t.Errorf("PE machine %#x, want %#x", f.Machine, want)
		}
		if f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 || f.Characteristics&pe.IMAGE_FILE_DLL != 0 {
			t.Errorf("PE characteristics %#x: not an executable image", f.Characteristics)
		}
		oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
		if !ok || oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
			t.Errorf("PE optional header %T: want a 64-bit console program", f.OptionalHeader)
		}
		t.Logf("PE machine %#x, console executable", f.Machine)
	}
}

// runUnderWine runs `kubectl-metricscale.exe version -o json` with Debian's
// wine64 in a fresh prefix. Wine 8.0 has no bcryptprimitives.dll, which Go's
// windows runtime loads at start; the prefix gets hack/wine's stand-in for it
// (ProcessPrng over wine's BCryptGenRandom). The binary itself is unchanged.
func runUnderWine(t *testing.T, exe string) {
	t.Helper()
	wine := filepath.Join(env.toolsDir, "wine64")
	prefix := t.TempDir()
	environ := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	t.Cleanup(func() {
		// wineserver outlives the program by a few seconds; end the prefix's now.
		real, err := filepath.EvalSymlinks(wine)
		if err != nil {
			return
		}
		kill := exec.Command(filepath.Join(filepath.Dir(real), "wineserver"), "-k")
		kill.Env = environ
		_ = kill.Run()
	})

	start := time.Now()
	boot := exec.Command(wine, "wineboot", "--init")
	boot.Env = environ
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("wineboot --init: %v\n%s", err, out)
	}
	dll, err := os.ReadFile(filepath.Join(env.toolsDir, "bcryptprimitives.dll"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), dll, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wine prefix ready in %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	cmd := exec.Command(wine, exe, "version", "-o", "json")
	cmd.Env = environ
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wine64 %s version -o json: %v\n%s%s", filepath.Base(exe), err, out, stderr.String())
	}
	t.Logf("wine64 kubectl-metricscale.exe version -o json (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	checkVersion(t, out, "windows/amd64")
}
