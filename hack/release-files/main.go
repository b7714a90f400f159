// Command release-files writes deploy/sidecar's files as a release ships
// them, naming the sidecar's image at the release's tag:
// DIR/metricscale-sidecar_VERSION_{deploy,grafana-chart-values,grafana-chart-values-extra-container}.yaml.
// It prints the names written, one per line. hack/dist.sh runs it.
//
//	go run ./hack/release-files -version v0.3.0 -dir dist
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/metricscale/kubectl-metricscale/deploy/sidecar"
)

func main() {
	version := flag.String("version", "", "the release's tag (vX.Y.Z)")
	dir := flag.String("dir", "dist", "where the files are written")
	flag.Parse()
	if err := run(*version, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "release-files:", err)
		os.Exit(1)
	}
}

func run(version, dir string) error {
	files, err := sidecar.Release(version)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		out := "metricscale-sidecar_" + version + "_" + name
		if err := os.WriteFile(filepath.Join(dir, out), files[name], 0o644); err != nil {
			return err
		}
		fmt.Println(out)
	}
	return nil
}
