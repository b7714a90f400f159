package watch

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
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

// TestStreamFormats: watch prints each change once in kubectl's formats:
// a row changed, the same row again (nothing), another value, a status.
func TestStreamFormats(t *testing.T) {
	cases := []struct {
		output string
		want   string
	}{
		{`jsonpath={.row.api}{"\n"}`, "1\n2\n\n"},
		{`go-template={{if .row}}{{.row.hpa}}={{.row.api}}{{else}}status: {{.status}}{{end}};`, "web=1;web=2;status: Prometheus is down;"},
		{"name", "horizontalpodautoscaler.autoscaling/web\nhorizontalpodautoscaler.autoscaling/web\n"},
		{"yaml", "row:\n  api: \"1\"\n"},
	}
	for _, c := range cases {
		t.Run(c.output, func(t *testing.T) {
			f := printers.NewFlags("table").WithStream()
			f.Output = c.output
			p, err := f.ToPrinter()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			j := &JSON{W: &b, Printer: p}
			now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
			for _, u := range []struct {
				api, status string
			}{{"1", ""}, {"1", ""}, {"2", ""}, {"2", "Prometheus is down"}} {
				if err := j.Update(now, []Row{{Namespace: "a", HPA: "web", API: u.api}}, u.status); err != nil {
					t.Fatal(err)
				}
			}
			if c.output == "yaml" {
				if docs := strings.Split(b.String(), "---\n"); len(docs) != 3 || !strings.Contains(docs[0], c.want) {
					t.Fatalf("want 3 documents, the first with %q:\n%s", c.want, b.String())
				}
				return
			}
			if b.String() != c.want {
				t.Fatalf("got %q, want %q", b.String(), c.want)
			}
		})
	}
}

// TestLinesSayNoHPA: with nothing in scope, line mode says so once, and
// again only after the scope emptied anew.
func TestLinesSayNoHPA(t *testing.T) {
	var b strings.Builder
	l := &Lines{W: &b, Scope: "namespace shop"}
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	row := Row{Namespace: "shop", HPA: "web", Type: "Pods", Metric: "jobs", Target: "1"}
	for _, rows := range [][]Row{nil, nil, {row}, nil} {
		if err := l.Update(at, rows, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(b.String(), "10:00:00  no HPAs in namespace shop yet: waiting for one\n"); n != 2 {
		t.Fatalf("said %d times, want 2:\n%s", n, b.String())
	}
}

// An <unknown> value in line mode comes with its reason on the next line,
// printed again only when the row changes.
func TestLinesSayWhyUnknown(t *testing.T) {
	var b strings.Builder
	l := &Lines{W: &b, Scope: "namespace shop"}
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	known := Row{Namespace: "shop", HPA: "web", Type: "Pods", Metric: "jobs", Target: "1", API: "2", Prometheus: "2", Current: 1, Desired: 3}
	unknown := known
	unknown.API, unknown.Prometheus, unknown.Problem = "", "", "the metrics API returns no value for the target"
	for _, rows := range [][]Row{{known}, {unknown}, {unknown}, {known}} {
		if err := l.Update(at, rows, ""); err != nil {
			t.Fatal(err)
		}
	}
	out := b.String()
	if n := strings.Count(out, "    why: the metrics API returns no value for the target\n"); n != 1 {
		t.Fatalf("the reason said %d times, want once, under the <unknown> row:\n%s", n, out)
	}
	if !strings.Contains(out, "<unknown>   <unknown>") || strings.Count(out, "\n") != 5 {
		t.Fatalf("want a header, three rows and one reason:\n%s", out)
	}
}
