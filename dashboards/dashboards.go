// Package dashboards holds the Grafana dashboards metricscale provisions, as
// JSON files embedded in the binary (FS) for grafana provision. The files are generated from
// pkg/dashboards by hack/gen-dashboards (make dashboards); never edit them by
// hand: a test fails when they differ from what the generator writes.
package dashboards

//go:generate go run ../hack/gen-dashboards -dir .

import (
	"embed"
	"io/fs"
)

//go:embed *.json
var files embed.FS

// FS is the dashboards' JSON files, one per dashboard, at the root.
func FS() fs.FS { return files }
