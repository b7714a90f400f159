package printers

import (
	"bytes"
	"testing"

	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

type sample struct {
	Query string            `json:"metricsQuery"`
	Empty string            `json:"empty,omitempty"`
	Map   map[string]string `json:"labels"`
}

var literal = sample{Query: printerstest.Text, Map: map[string]string{"b": "2", "a": "<1>"}}

func TestPrint(t *testing.T) {
	cases := []struct {
		format string
		print  func(*bytes.Buffer) error
		want   string
	}{
		{"json", func(b *bytes.Buffer) error { return Print(b, literal, "json") }, `{
  "metricsQuery": "` + printerstest.Text + `",
  "labels": {
    "a": "<1>",
    "b": "2"
  }
}
`},
		// The json tags name the fields; keys come sorted.
		{"yaml", func(b *bytes.Buffer) error { return Print(b, literal, "yaml") }, `labels:
  a: <1>
  b: "2"
metricsQuery: ` + printerstest.Text + `
`},
		{"line", func(b *bytes.Buffer) error { return PrintLine(b, literal) },
			`{"metricsQuery":"` + printerstest.Text + `","labels":{"a":"<1>","b":"2"}}` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.print(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("got:\n%s\nwant:\n%s", b.String(), c.want)
			}
			printerstest.Literal(t, b.String())
		})
	}
	if err := Print(&bytes.Buffer{}, literal, "xml"); err == nil {
		t.Fatal("unknown format accepted")
	}
	if err := PrintJSON(&bytes.Buffer{}, func() {}); err == nil {
		t.Fatal("a func encoded")
	}
}
