// Package sidecar holds metricscale-sidecar's deployment files: its
// least-privilege RBAC, a standalone Deployment (two replicas,
// --leader-elect), the Grafana chart's values that swap its sidecars' image
// or add one container for both kinds, and a Dockerfile. They are embedded
// so that the sandbox runs the sidecar from exactly the files users apply,
// and so that Release writes them naming the image at a release's tag.
package sidecar

import (
	_ "embed"
	"fmt"
	"strings"
)

// Image is the repository a release's image is pushed to
// (make image VERSION=vX.Y.Z PUSH=Image:vX.Y.Z). The files here name it at
// DevTag; Release names it at the release's tag.
const (
	Image  = "ghcr.io/metricscale/metricscale-sidecar"
	DevTag = "dev"
)

// RBAC is rbac.yaml: the ServiceAccount and its least-privilege roles.
//
//go:embed rbac.yaml
var RBAC []byte

// Deployment is deployment.yaml: two replicas with --leader-elect,
// watching every namespace, writing into the chart's Grafana.
//
//go:embed deployment.yaml
var Deployment []byte

// ChartValues is grafana-chart-values.yaml: the chart's own sidecar
// containers, their image swapped.
//
//go:embed grafana-chart-values.yaml
var ChartValues []byte

// ChartValuesExtraContainer is grafana-chart-values-extra-container.yaml:
// one container for both kinds, through the chart's extraContainers.
//
//go:embed grafana-chart-values-extra-container.yaml
var ChartValuesExtraContainer []byte

// Release is what a release ships of these files, each naming Image at
// version: file name → content. deploy.yaml is RBAC and Deployment in one
// file, for one kubectl apply.
func Release(version string) (map[string][]byte, error) {
	if version == "" || strings.ContainsAny(version, " \t\n\"':") {
		return nil, fmt.Errorf("release version %q: give a tag such as v0.3.0", version)
	}
	files := map[string]struct {
		body []byte
		old  string
	}{
		"deploy.yaml":                               {append(append(append([]byte{}, RBAC...), "---\n"...), Deployment...), "image: " + Image + ":" + DevTag + "\n"},
		"grafana-chart-values.yaml":                 {ChartValues, "tag: " + DevTag + "\n"},
		"grafana-chart-values-extra-container.yaml": {ChartValuesExtraContainer, "image: " + Image + ":" + DevTag + "\n"},
	}
	out := map[string][]byte{}
	for name, f := range files {
		// Exactly one place names the image: another would keep DevTag.
		if n := strings.Count(string(f.body), f.old); n != 1 {
			return nil, fmt.Errorf("%s names the image %d times as %q, want once", name, n, strings.TrimSpace(f.old))
		}
		out[name] = []byte(strings.Replace(string(f.body), f.old, strings.Replace(f.old, DevTag, version, 1), 1))
	}
	return out, nil
}
