package main

import (
	"context"
	"testing"
)

// TestBenchProvision: the Grafana bench's second run reads each object
// once and writes nothing.
func TestBenchProvision(t *testing.T) {
	second, objects, err := benchProvision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.Writes != 0 || second.Reads != objects {
		t.Fatalf("second run: %d reads for %d objects, %d writes", second.Reads, objects, second.Writes)
	}
}
