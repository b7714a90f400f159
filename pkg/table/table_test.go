package table

import (
	"bytes"
	"testing"
)

func TestRender(t *testing.T) {
	var b bytes.Buffer
	Render(&b, "  ", []string{"metric", "values now (from Prometheus)", "chain"}, [][]string{
		{"MessageMetrics", "150", "prometheus ✔ → rule ✘"},
		{"m", "a\tb\nc", ""},
	})
	want := "  METRIC          VALUES NOW (FROM PROMETHEUS)  CHAIN\n" +
		"  MessageMetrics  150                           prometheus ✔ → rule ✘\n" +
		"  m               a b c\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
