//go:build tools

// Package tools pins the sandbox's kube-state-metrics binary.
package tools

import (
	_ "k8s.io/kube-state-metrics/v2"
)
