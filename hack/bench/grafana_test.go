package main

import (
	"context"
	"testing"
)

// TestBenchProvision: the Grafana bench's second run reads each object
// once, beside the one GET /apis that says which API Grafana serves, and
// writes nothing.
func TestBenchProvision(t *testing.T) {
	second, objects, err := benchProvision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.Writes != 0 || second.Reads != objects+1 {
		t.Fatalf("second run: %d reads for %d objects, %d writes", second.Reads, objects, second.Writes)
	}
}
