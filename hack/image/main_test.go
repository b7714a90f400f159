package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var epoch = time.Unix(1700000000, 0).UTC()

// binaries writes two stand-in binaries and returns them.
func binaries(t *testing.T) []Binary {
	t.Helper()
	dir := t.TempDir()
	var out []Binary
	for _, arch := range []string{"amd64", "arm64"} {
		path := filepath.Join(dir, arch)
		if err := os.WriteFile(path, []byte("\x7fELF stand-in for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, Binary{OS: "linux", Arch: arch, Path: path})
	}
	return out
}

func digestOf(t *testing.T, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The same binaries and epoch give the same index and the same archive
// bytes; another epoch another digest.
func TestReproducible(t *testing.T) {
	bins := binaries(t)
	var sums [2][32]byte
	var digests [2]v1.Hash
	for i := range 2 {
		idx, err := Index(bins, "v0.0.0-test", epoch)
		if err != nil {
			t.Fatal(err)
		}
		digests[i] = digestOf(t, idx)
		out := filepath.Join(t.TempDir(), "image.tar")
		if err := WriteArchive(out, idx, "v0.0.0-test", epoch); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = sha256.Sum256(raw)
	}
	if digests[0] != digests[1] || sums[0] != sums[1] {
		t.Errorf("two builds differ: digests %s %s, archives %x %x", digests[0], digests[1], sums[0], sums[1])
	}
	other, err := Index(bins, "v0.0.0-test", epoch.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, other) == digests[0] {
		t.Error("another epoch gave the same digest: the times are not in the image")
	}
}

// Each platform's image: OCI media types, the platform, a non-root user, the
// binary as entrypoint, and one layer holding exactly the binary.
func TestImageShape(t *testing.T) {
	bins := binaries(t)
	idx, err := Index(bins, "v0.0.0-test", epoch)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if manifest.MediaType != types.OCIImageIndex || len(manifest.Manifests) != len(bins) {
		t.Fatalf("index %s with %d manifests", manifest.MediaType, len(manifest.Manifests))
	}
	for i, desc := range manifest.Manifests {
		b := bins[i]
		if desc.Platform == nil || desc.Platform.OS != b.OS || desc.Platform.Architecture != b.Arch || desc.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %d: %+v", i, desc)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS != b.OS || cfg.Architecture != b.Arch || cfg.Config.User != user || strings.Join(cfg.Config.Entrypoint, " ") != entrypoint || !cfg.Created.Time.Equal(epoch) ||
			cfg.Config.Labels["org.opencontainers.image.version"] != "v0.0.0-test" || cfg.Config.Labels["org.opencontainers.image.source"] != source {
			t.Errorf("%s config: %+v", b.Arch, cfg)
		}
		files := layerFiles(t, img)
		want, _ := os.ReadFile(b.Path)
		if len(files) != 1 || !bytes.Equal(files["metricscale-sidecar"].body, want) || files["metricscale-sidecar"].hdr.Mode != 0o755 || files["metricscale-sidecar"].hdr.Uid != 0 {
			t.Errorf("%s layer: %d files, want the binary alone, 0755, root's", b.Arch, len(files))
		}
	}
}

type layerFile struct {
	hdr  *tar.Header
	body []byte
}

func layerFiles(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s", mt)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out[hdr.Name] = layerFile{hdr: hdr, body: body}
	}
}

// The archive is an OCI layout that go-containerregistry (as skopeo's
// oci-archive) reads back to the same index, named by its tag.
func TestArchiveReadsBack(t *testing.T) {
	idx, err := Index(binaries(t), "v0.0.0-test", epoch)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteArchive(out, idx, "v0.0.0-test", epoch); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if b, err := exec.Command("tar", "-xf", out, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := top.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("index.json: %+v, %v", m, err)
	}
	if m.Manifests[0].Digest != digestOf(t, idx) || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v0.0.0-test" {
		t.Errorf("index.json names %+v, want %s tagged v0.0.0-test", m.Manifests[0], digestOf(t, idx))
	}
}

// --push writes the index to a registry (one on loopback, in this process)
// that then serves it by tag with the same digest.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/metricscale/metricscale-sidecar:v0.0.0-test"
	var args []string
	for _, b := range binaries(t) {
		args = append(args, b.OS+"/"+b.Arch+"="+b.Path)
	}
	if err := run(filepath.Join(t.TempDir(), "image.tar"), "v0.0.0-test", ref, epoch, args); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Index(binaries(t), "v0.0.0-test", epoch)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, want) {
		t.Errorf("the registry serves %s, want %s", digestOf(t, got), digestOf(t, want))
	}
}
