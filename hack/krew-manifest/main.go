// Command krew-manifest renders metricscale's krew plugin manifest from one
// template (metricscale.yaml.tmpl), in two forms:
//
//	go run ./hack/krew-manifest -dist dist -version v0.3.0 -o dist/metricscale.yaml
//	    the manifest of one build: each platform's release URL and the sha256
//	    of its archive, read from dist/checksums.txt (make dist)
//	go run ./hack/krew-manifest -release-bot -o .krew.yaml
//	    the krew-release-bot template: {{ .TagName }} and addURIAndSha, which
//	    the bot fills in from the published release (make krew-template)
//
// It also lists the plugin's platforms (-platforms, after checking -version if
// given; -only narrows both), so that hack/dist.sh builds exactly the archives the manifest names
// and refuses a version krew would before it builds anything.
//
// The manifest is text/template, not krew's own Go types (sigs.k8s.io/krew/pkg/index):
// importing them would pull krew into this module's go.mod for one program, and
// marshalling them gives alphabetical keys and a `creationTimestamp: null`. krew's
// own validator (validate-krew-manifest, built in hack/tools/krew) checks the
// result instead, in test/dist.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	distDir := flag.String("dist", "", "directory with the release archives and their checksums.txt")
	version := flag.String("version", "", "release version of the archives in -dist, e.g. v0.3.0")
	releaseBot := flag.Bool("release-bot", false, "render the krew-release-bot template instead of a build's manifest")
	listPlatforms := flag.Bool("platforms", false, "print the plugin's platforms (os/arch), one a line, after checking -version if given")
	only := flag.String("only", "", "only these platforms (os/arch, comma-separated), for -platforms and -dist; default: all")
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()

	platforms, err := Select(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "krew-manifest:", err)
		os.Exit(2)
	}
	if *listPlatforms {
		if err := CheckVersion(*version); *version != "" && err != nil {
			fmt.Fprintln(os.Stderr, "krew-manifest:", err)
			os.Exit(2)
		}
		for _, p := range platforms {
			fmt.Println(p)
		}
		return
	}
	if err := run(*distDir, *version, *releaseBot, *out, platforms); err != nil {
		fmt.Fprintln(os.Stderr, "krew-manifest:", err)
		os.Exit(2)
	}
}

func run(distDir, version string, releaseBot bool, out string, platforms []Platform) error {
	var manifest []byte
	var err error
	switch {
	case releaseBot && (distDir != "" || version != ""):
		return fmt.Errorf("-release-bot takes no -dist or -version: the bot fills in the tag and the hashes")
	case releaseBot:
		manifest, err = RenderReleaseBot()
	case distDir == "" || version == "":
		return fmt.Errorf("-dist and -version are required (or -release-bot), e.g. -dist dist -version v0.3.0")
	default:
		var sums map[string]string
		sums, err = ReadChecksums(distDir)
		if err == nil {
			manifest, err = Render(version, sums, platforms)
		}
	}
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.Write(manifest)
		return err
	}
	return os.WriteFile(out, manifest, 0o644)
}
