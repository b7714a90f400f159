//go:build tools

// Package tools pins krew and krew's manifest validator, used to prove the
// release archives install as a krew plugin.
package tools

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
