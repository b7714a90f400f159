package dist

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	sidecardeploy "github.com/metricscale/kubectl-metricscale/deploy/sidecar"
)

// imageArchive is the sidecar's image hack/dist.sh writes.
const imageArchive = "metricscale-sidecar_" + testVersion + "_oci.tar"

// deployFiles are deploy/sidecar's files as a release ships them.
var deployFiles = []string{
	"metricscale-sidecar_" + testVersion + "_deploy.yaml",
	"metricscale-sidecar_" + testVersion + "_grafana-chart-values.yaml",
	"metricscale-sidecar_" + testVersion + "_grafana-chart-values-extra-container.yaml",
}

// TestDeployFiles: each deploy file of the release names the image at the
// release's version (deploy/sidecar's own test checks where), and the sums
// are those of checksums.txt.
func TestDeployFiles(t *testing.T) {
	sums := readChecksums(t)
	for _, name := range deployFiles {
		path := filepath.Join(env.distDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256File(t, path); sum != sums[name] {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", name, sum, sums[name])
		}
		if strings.Contains(string(b), ":"+sidecardeploy.DevTag+"\n") || !strings.Contains(string(b), testVersion) {
			t.Errorf("%s does not name the image at %s:\n%s", name, testVersion, b)
		}
	}
}

// sidecarPlatforms are the Linux platforms built: the sidecar's.
func sidecarPlatforms() []string {
	var out []string
	for _, p := range env.platforms {
		if strings.HasPrefix(p, "linux/") {
			out = append(out, p)
		}
	}
	return out
}

// TestImage: the OCI archive is an image layout whose index, tagged with
// the version, has one image per Linux platform built, each running as a
// non-root user the very binary of that platform's sidecar archive.
func TestImage(t *testing.T) {
	if len(sidecarPlatforms()) == 0 {
		t.Fatalf("no Linux platform built (%v): the image is built from the sidecar's Linux binaries", env.platforms)
	}
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", filepath.Join(env.distDir, imageArchive), "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil || len(tm.Manifests) != 1 || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("index.json: %+v, %v; want one index tagged %s", tm, err, testVersion)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, desc := range m.Manifests {
		platform := desc.Platform.OS + "/" + desc.Platform.Architecture
		got = append(got, platform)
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Config.User == "" || strings.HasPrefix(cfg.Config.User, "0") || strings.Join(cfg.Config.Entrypoint, " ") != "/metricscale-sidecar" {
			t.Errorf("%s: user %q, entrypoint %v; want non-root and the binary", platform, cfg.Config.User, cfg.Config.Entrypoint)
		}
		archive := filepath.Join(env.distDir, "metricscale-sidecar_"+testVersion+"_"+strings.Replace(platform, "/", "_", 1)+".tar.gz")
		if !bytes.Equal(imageBinary(t, img), tarGzFile(t, archive, "metricscale-sidecar")) {
			t.Errorf("%s: the image's binary is not the sidecar archive's", platform)
		}
	}
	if want := sidecarPlatforms(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("platforms %v, want %v", got, want)
	}
}

// imageBinary is /metricscale-sidecar of img's only layer.
func imageBinary(t *testing.T, img v1.Image) []byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return tarFile(t, rc, "metricscale-sidecar")
}

// tarGzFile is the file name of a .tar.gz.
func tarGzFile(t *testing.T, path, name string) []byte {
	t.Helper()
	var body []byte
	eachTarGzFile(t, path, func(h *tar.Header, r io.Reader) bool { body = readNamed(t, h, r, name); return body == nil })
	if body == nil {
		t.Fatalf("%s: no %s", path, name)
	}
	return body
}

// tarFile is the file name of a tar stream.
func tarFile(t *testing.T, r io.Reader, name string) []byte {
	t.Helper()
	var body []byte
	eachTarFile(t, r, func(h *tar.Header, r io.Reader) bool { body = readNamed(t, h, r, name); return body == nil })
	if body == nil {
		t.Fatalf("no %s in the layer", name)
	}
	return body
}

// readNamed reads an entry's contents if it is name; nil otherwise.
func readNamed(t *testing.T, h *tar.Header, r io.Reader, name string) []byte {
	if h.Name != name {
		return nil
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
