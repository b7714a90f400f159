// Package sidecar holds metricscale-sidecar's deployment files: its
// least-privilege RBAC, a standalone Deployment (two replicas,
// --leader-elect), the Grafana chart's values that swap its sidecars' image
// or add one container for both kinds, and a Dockerfile. RBAC and Deployment are embedded so
// that the sandbox runs the sidecar from exactly the files users apply.
package sidecar

import _ "embed"

// RBAC is rbac.yaml: the ServiceAccount and its least-privilege roles.
//
//go:embed rbac.yaml
var RBAC []byte

// Deployment is deployment.yaml: two replicas with --leader-elect,
// watching every namespace, writing into the chart's Grafana.
//
//go:embed deployment.yaml
var Deployment []byte
