//go:build tools

// Package tools pins the sandbox's metrics-server binary.
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
