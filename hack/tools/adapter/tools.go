//go:build tools

// Package tools pins the sandbox's adapter binary.
package tools

import (
	_ "sigs.k8s.io/prometheus-adapter/cmd/adapter"
)
