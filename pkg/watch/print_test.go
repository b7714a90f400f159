package watch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

// TestJSONLiteral: watch's JSON stream shows queries as they are, one
// object per line.
func TestJSONLiteral(t *testing.T) {
	var buf bytes.Buffer
	j := &JSON{W: &buf}
	if err := j.Update(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), []Row{{Namespace: "a", HPA: "h", Problem: printerstest.Text}}, printerstest.Text); err != nil {
		t.Fatal(err)
	}
	printerstest.Literal(t, buf.String())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want a row and a status:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		var e Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
	}
}
