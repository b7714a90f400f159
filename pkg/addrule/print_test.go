package addrule

import (
	"bytes"
	"testing"

	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

// TestPrintDataLiteral: add-rule's and rollback's JSON and YAML show
// queries as they are.
func TestPrintDataLiteral(t *testing.T) {
	res := &Result{Plan: &Plan{Rule: "metricsQuery: " + printerstest.Text + "\n"}, Diff: "+  metricsQuery: " + printerstest.Text + "\n"}
	for _, format := range []string{"json", "yaml"} {
		var buf bytes.Buffer
		if err := PrintData(&buf, res, format); err != nil {
			t.Fatal(err)
		}
		printerstest.Literal(t, buf.String())
	}
}
