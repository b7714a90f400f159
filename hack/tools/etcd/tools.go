//go:build tools

// Package tools pins the sandbox's etcd binary.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
