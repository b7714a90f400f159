//go:build tools

// Package tools pins the sandbox's kwok binary.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
