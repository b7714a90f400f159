// Package sidecar holds metricscale-sidecar's deployment files, embedded so
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
