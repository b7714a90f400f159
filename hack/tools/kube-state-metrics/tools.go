//go:build tools

// Package tools pins the sandbox's kube-state-metrics binary.
//
// The checksum database does not answer for k8s.io/kube-state-metrics/v2
// v2.16.0 nor for its k8s.io/sample-controller v0.32.6, so go.sum was
// written with GONOSUMDB=k8s.io/kube-state-metrics,k8s.io/sample-controller
// go mod tidy; builds check the modules against go.sum and need no lookup.
package tools

import (
	_ "k8s.io/kube-state-metrics/v2"
)
