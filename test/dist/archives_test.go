package dist

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// maxArchiveSize is the project's limit for one archive.
const maxArchiveSize = 30 << 20

// manifest is the part of a krew plugin manifest the tests read.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []platform `json:"platforms"`
	} `json:"spec"`
}

type platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	Sha256 string `json:"sha256"`
	Bin    string `json:"bin"`
}

func (p platform) os() string   { return p.Selector.MatchLabels["os"] }
func (p platform) arch() string { return p.Selector.MatchLabels["arch"] }

// archive is the platform's archive in the dist directory (the last element of its uri).
func (p platform) archive() string {
	return filepath.Join(env.distDir, p.URI[strings.LastIndex(p.URI, "/")+1:])
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.distDir, "metricscale.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		t.Fatalf("metricscale.yaml: %v", err)
	}
	return m
}

func readChecksums(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(env.distDir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("checksums.txt: %q is not in sha256sum's format", sc.Text())
		}
		sums[name] = sum
	}
	return sums
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestManifest checks what krew's validator does not: the plugin's identity,
// the platforms built, the release URLs and the real hashes.
func TestManifest(t *testing.T) {
	m := readManifest(t)
	sums := readChecksums(t)
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "metricscale" {
		t.Errorf("apiVersion/kind/name = %s/%s/%s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if m.Spec.Homepage != "https://github.com/metricscale/kubectl-metricscale" {
		t.Errorf("homepage %q", m.Spec.Homepage)
	}
	if m.Spec.Version != testVersion {
		t.Errorf("spec.version = %q, want %q", m.Spec.Version, testVersion)
	}
	if n := len(m.Spec.ShortDescription); n == 0 || n > 50 || strings.Contains(m.Spec.ShortDescription, "\n") {
		t.Errorf("shortDescription %q: want one line of at most 50 characters", m.Spec.ShortDescription)
	}
	for _, field := range []string{m.Spec.Description, m.Spec.Caveats} {
		for _, line := range strings.Split(field, "\n") {
			if len(line) > 80 {
				t.Errorf("line longer than 80 characters: %q", line)
			}
		}
	}
	for _, perm := range []string{"get, list and watch", "HorizontalPodAutoscalers", "pods", "events", "deployments/scale", "APIServices", "services", "configmaps", "custom.metrics.k8s.io", "external.metrics.k8s.io", "ConfigMap", "patch its Deployment", "docs/install.md"} {
		if !strings.Contains(strings.Join(strings.Fields(m.Spec.Caveats), " "), perm) {
			t.Errorf("caveats do not name %q:\n%s", perm, m.Spec.Caveats)
		}
	}

	var got []string
	for _, p := range m.Spec.Platforms {
		got = append(got, p.os()+"/"+p.arch())
		base := filepath.Base(p.archive())
		wantURI := "https://github.com/metricscale/kubectl-metricscale/releases/download/" + testVersion + "/" + base
		if p.URI != wantURI {
			t.Errorf("%s/%s: uri %q, want %q", p.os(), p.arch(), p.URI, wantURI)
		}
		if sum := sha256File(t, p.archive()); p.Sha256 != sum || sums[base] != sum {
			t.Errorf("%s: manifest sha256 %s, checksums.txt %s, archive %s", base, p.Sha256, sums[base], sum)
		}
		wantBin := "kubectl-metricscale"
		if p.os() == "windows" {
			wantBin += ".exe"
		}
		if p.Bin != wantBin {
			t.Errorf("%s/%s: bin %q, want %q", p.os(), p.arch(), p.Bin, wantBin)
		}
	}
	if want := env.platforms; !slices.Equal(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
}

// TestArchives checks each archive of checksums.txt: its sum, its size, and
// that it holds the binary and LICENSE (and kubectl's completion executable
// when the project has one, cmd/kubectl_complete-*).
func TestArchives(t *testing.T) {
	sums := readChecksums(t)
	var names []string
	for name := range sums {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{}
	if len(sidecarPlatforms()) > 0 {
		want = append(want, imageArchive)   // TestImage checks it
		want = append(want, deployFiles...) // and TestDeployFiles these
	}
	for _, p := range env.platforms {
		ext := ".tar.gz"
		if strings.HasPrefix(p, "windows/") {
			ext = ".zip"
		}
		want = append(want, "kubectl-metricscale_"+testVersion+"_"+strings.Replace(p, "/", "_", 1)+ext)
		// The sidecar runs in Linux containers only.
		if strings.HasPrefix(p, "linux/") {
			want = append(want, "metricscale-sidecar_"+testVersion+"_"+strings.Replace(p, "/", "_", 1)+".tar.gz")
		}
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("checksums.txt lists %v, want %v", names, want)
	}
	completion, err := filepath.Glob(filepath.Join(env.repo, "cmd", "kubectl_complete-*"))
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range names {
		if name == imageArchive || slices.Contains(deployFiles, name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(env.distDir, name)
			if sum := sha256File(t, path); sum != sums[name] {
				t.Errorf("sha256 %s, checksums.txt says %s", sum, sums[name])
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.1f MB", name, float64(st.Size())/(1<<20))
			if st.Size() > maxArchiveSize {
				t.Errorf("%d bytes, more than the 30 MB limit", st.Size())
			}
			bin, exe := strings.Split(name, "_")[0], ""
			if strings.HasSuffix(name, ".zip") {
				exe = ".exe"
			}
			wantFiles := []string{"LICENSE", bin + exe}
			if bin == "kubectl-metricscale" {
				for _, c := range completion {
					wantFiles = append(wantFiles, filepath.Base(c)+exe)
				}
			}
			slices.Sort(wantFiles)
			if files := archiveFiles(t, path); !slices.Equal(files, wantFiles) {
				t.Errorf("holds %v, want %v", files, wantFiles)
			}
		})
	}
}

// archiveFiles lists a .tar.gz's or .zip's regular files, and fails on any
// file that is not executable where it must be.
func archiveFiles(t *testing.T, path string) []string {
	t.Helper()
	var files []string
	check := func(name string, mode os.FileMode) {
		files = append(files, name)
		if name != "LICENSE" && mode&0o111 == 0 {
			t.Errorf("%s: mode %v, not executable", name, mode)
		}
	}
	if strings.HasSuffix(path, ".zip") {
		r, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for _, f := range r.File {
			check(f.Name, f.Mode())
		}
	} else {
		eachTarGzFile(t, path, func(h *tar.Header, _ io.Reader) bool {
			check(h.Name, h.FileInfo().Mode())
			return true
		})
	}
	slices.Sort(files)
	return files
}

// eachTarGzFile calls fn for each entry of a .tar.gz, with its contents,
// until fn returns false.
func eachTarGzFile(t *testing.T, path string, fn func(*tar.Header, io.Reader) bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	eachTarFile(t, gz, fn)
}

// eachTarFile calls fn for each entry of a tar stream until fn returns false.
func eachTarFile(t *testing.T, r io.Reader, fn func(*tar.Header, io.Reader) bool) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !fn(h, tr) {
			return
		}
	}
}
