// Command gen-dashboards writes the dashboards pkg/dashboards builds as JSON
// files into a directory (the repository's dashboards/, which embeds them),
// and removes the JSON files there that no dashboard produces any more.
//
//	go run ./hack/gen-dashboards -dir dashboards   (make dashboards, or
//	                                               go generate ./dashboards)
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
)

func main() {
	dir := flag.String("dir", "dashboards", "the directory to write the dashboards' JSON files to")
	flag.Parse()
	if err := generate(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen-dashboards:", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	all, err := dashboards.All()
	if err != nil {
		return err
	}
	written := map[string]bool{}
	for _, d := range all {
		path := filepath.Join(dir, d.FileName())
		if err := os.WriteFile(path, d.JSON, 0o644); err != nil {
			return err
		}
		written[d.FileName()] = true
	}
	stale, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, path := range stale {
		if !written[filepath.Base(path)] {
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	return nil
}
