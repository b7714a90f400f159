package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// imageArchive is the sidecar's image hack/dist.sh writes.
const imageArchive = "metricscale-sidecar_" + testVersion + "_oci.tar"

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
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return tarFile(t, gz, name)
}

func tarFile(t *testing.T, r io.Reader, name string) []byte {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
