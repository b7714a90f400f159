// Command image builds metricscale-sidecar's container image without a
// container runtime, with go-containerregistry: an OCI image index of one
// image per platform, each a single layer holding the static binary as
// /metricscale-sidecar (root-owned, mode 0755), run as user 65532 with the
// binary as entrypoint. Every time in it is the commit's (--epoch), so one
// commit and one Go give the same digest on any machine. It writes the index
// as an OCI archive (a tar of an OCI image layout, which skopeo, podman and
// crane read), prints its digest, and with --push REF pushes it to a
// registry with the credentials of ~/.docker/config.json.
//
//	go run ./hack/image --epoch 1700000000 --tag v0.3.0 --out dist/metricscale-sidecar_v0.3.0_oci.tar \
//	    linux/amd64=stage/linux_amd64/metricscale-sidecar linux/arm64=stage/linux_arm64/metricscale-sidecar
//
// hack/dist.sh runs it beside the archives.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	epoch := flag.Int64("epoch", 0, "the time of every file, layer and config in the image (seconds since 1970; the commit's)")
	tag := flag.String("tag", "", "the image's tag: its ref name in the archive and its version label")
	out := flag.String("out", "", "the OCI archive to write")
	push := flag.String("push", "", "also push the index to this reference (REGISTRY/REPOSITORY:TAG)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: image --out FILE [--tag T] [--epoch N] [--push REF] OS/ARCH=BINARY...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*out, *tag, *push, time.Unix(*epoch, 0).UTC(), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(out, tag, push string, epoch time.Time, args []string) error {
	if out == "" || len(args) == 0 {
		return fmt.Errorf("give --out FILE and at least one OS/ARCH=BINARY")
	}
	var binaries []Binary
	for _, a := range args {
		platform, path, ok := strings.Cut(a, "=")
		osName, arch, ok2 := strings.Cut(platform, "/")
		if !ok || !ok2 || path == "" {
			return fmt.Errorf("%q: give OS/ARCH=BINARY, e.g. linux/amd64=stage/metricscale-sidecar", a)
		}
		binaries = append(binaries, Binary{OS: osName, Arch: arch, Path: path})
	}
	idx, err := Index(binaries, tag, epoch)
	if err != nil {
		return err
	}
	if err := WriteArchive(out, idx, tag, epoch); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s (%d platforms)\n", out, digest, len(binaries))
	if push == "" {
		return nil
	}
	ref, err := name.ParseReference(push)
	if err != nil {
		return fmt.Errorf("--push %q: %w", push, err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing to %s: %w", ref, err)
	}
	fmt.Printf("pushed %s@%s\n", ref.Context(), digest)
	return nil
}
