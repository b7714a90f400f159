package printers

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

// report is a value with names for -o name.
type report struct {
	Query string   `json:"metricsQuery"`
	HPAs  []string `json:"hpas"`
}

func (r report) NamedObjects() []runtime.Object {
	var out []runtime.Object
	for _, h := range r.HPAs {
		out = append(out, Object("autoscaling/v2", "HorizontalPodAutoscaler", h))
	}
	return out
}

var sampleReport = report{Query: printerstest.Text, HPAs: []string{"web", "worker"}}

// parse adds f to a command and parses args, as cobra does.
func parse(t *testing.T, f *Flags, args ...string) {
	t.Helper()
	cmd := &cobra.Command{Use: "x"}
	f.AddFlags(cmd, "")
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
}

func TestFlagsPrint(t *testing.T) {
	dir := t.TempDir()
	jsonpathFile := filepath.Join(dir, "q.jsonpath")
	templateFile := filepath.Join(dir, "q.tmpl")
	if err := os.WriteFile(jsonpathFile, []byte(`{.hpas[1]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(templateFile, []byte(`{{range .hpas}}{{.}};{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"json", []string{"-o", "json"}, "{\n  \"metricsQuery\": \"" + printerstest.Text + "\",\n  \"hpas\": [\n    \"web\",\n    \"worker\"\n  ]\n}\n"},
		{"yaml", []string{"-o", "yaml"}, "hpas:\n- web\n- worker\nmetricsQuery: " + printerstest.Text + "\n"},
		{"name", []string{"-o", "name"}, "horizontalpodautoscaler.autoscaling/web\nhorizontalpodautoscaler.autoscaling/worker\n"},
		{"jsonpath", []string{"-o", "jsonpath={.metricsQuery}"}, printerstest.Text},
		{"jsonpath over a list", []string{"-o", "jsonpath={.hpas[*]}"}, "web worker"},
		{"jsonpath-as-json", []string{"-o", "jsonpath-as-json={.hpas[0]}"}, "[\n    \"web\"\n]\n"},
		{"jsonpath-file", []string{"-o", "jsonpath-file=" + jsonpathFile}, "worker"},
		{"jsonpath and --template", []string{"-o", "jsonpath", "--template", "{.hpas[0]}"}, "web"},
		{"go-template", []string{"-o", "go-template={{.metricsQuery}}"}, printerstest.Text},
		{"go-template-file", []string{"-o", "go-template-file=" + templateFile}, "web;worker;"},
		{"--template alone is a go-template", []string{"--template", "{{len .hpas}}"}, "2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewFlags("table", "wide")
			parse(t, f, c.args...)
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			if f.Own() {
				t.Fatalf("-o %s is kubectl's, not the command's own", f.Output)
			}
			p, err := f.ToPrinter()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := p.Print(&b, sampleReport); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("got:\n%q\nwant:\n%q", b.String(), c.want)
			}
		})
	}
}

func TestFlagsOwnFormats(t *testing.T) {
	cases := []struct {
		name   string
		flags  *Flags
		args   []string
		format string
	}{
		{"the first own format is the default", NewFlags("table", "wide"), nil, "table"},
		{"another own format", NewFlags("table", "wide"), []string{"-o", "wide"}, "wide"},
		{"text", NewFlags("text"), nil, "text"},
		{"no own format: the default is the command's own print", NewFlags(), nil, ""},
		{"-o \"\" is the default", NewFlags("table"), []string{"-o", ""}, "table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parse(t, c.flags, c.args...)
			if err := c.flags.Validate(); err != nil {
				t.Fatal(err)
			}
			p, err := c.flags.ToPrinter()
			if !c.flags.Own() || p != nil || err != nil {
				t.Fatalf("own %v, printer %v, err %v: want the command to print it", c.flags.Own(), p, err)
			}
			if got := c.flags.Format(); got != c.format {
				t.Fatalf("format %q, want %q", got, c.format)
			}
		})
	}
}

func TestFlagsRefuse(t *testing.T) {
	cases := []struct {
		name  string
		flags *Flags
		args  []string
		want  string
	}{
		{"unknown format", NewFlags("table", "wide"), []string{"-o", "xml"},
			`unknown output format "xml": use one of table, wide, json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file`},
		{"another command's own format", NewFlags("text"), []string{"-o", "table"}, `unknown output format "table": use one of text, json,`},
		{"name where nothing has a name", NewFlags("text").WithoutName(), []string{"-o", "name"}, `unknown output format "name": use one of text, json, yaml, go-template,`},
		{"jsonpath without a template", NewFlags("table"), []string{"-o", "jsonpath"}, "-o jsonpath: template format specified but no template given"},
		{"jsonpath that does not parse", NewFlags("table"), []string{"-o", "jsonpath={.a"}, "-o jsonpath: error parsing jsonpath {.a"},
		{"go-template that does not parse", NewFlags("table"), []string{"-o", "go-template={{.a"}, "-o go-template: error parsing template {{.a"},
		{"a template file that is not there", NewFlags("table"), []string{"-o", "jsonpath-file=/nonexistent/q"}, "-o jsonpath-file: error reading --template /nonexistent/q"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parse(t, c.flags, c.args...)
			err := c.flags.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
}

func TestFlagsStream(t *testing.T) {
	cases := []struct {
		format string
		want   string
	}{
		{"json", "{\"metricsQuery\":\"a\",\"hpas\":null}\n{\"metricsQuery\":\"b\",\"hpas\":null}\n"},
		{"yaml", "hpas: null\nmetricsQuery: a\n---\nhpas: null\nmetricsQuery: b\n"},
		{"jsonpath={.metricsQuery}{\"\\n\"}", "a\nb\n"},
		{"go-template={{.metricsQuery}}", "ab"},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			f := NewFlags("table").WithStream()
			parse(t, f, "-o", c.format)
			p, err := f.ToPrinter()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, q := range []string{"a", "b"} {
				if err := p.Print(&b, report{Query: q}); err != nil {
					t.Fatal(err)
				}
			}
			if b.String() != c.want {
				t.Fatalf("got %q, want %q", b.String(), c.want)
			}
		})
	}
}

func TestTemplatesOverALists(t *testing.T) {
	list := []map[string]string{{"Name": "a"}, {"Name": "b"}}
	f := NewFlags("text")
	parse(t, f, "-o", "jsonpath={[*].Name}")
	p, err := f.ToPrinter()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Print(&b, list); err != nil || b.String() != "a b" {
		t.Fatalf("jsonpath over a list: %q, %v", b.String(), err)
	}
	f = NewFlags("text")
	parse(t, f, "-o", "go-template={{.}}")
	if p, err = f.ToPrinter(); err != nil {
		t.Fatal(err)
	}
	if err := p.Print(&b, list); err != errNotObject {
		t.Fatalf("go-template over a list: %v, want %v", err, errNotObject)
	}
}

func TestPrintNames(t *testing.T) {
	var b bytes.Buffer
	if err := PrintNames(&b, Object("v1", "ConfigMap", "adapter-config")); err != nil || b.String() != "configmap/adapter-config\n" {
		t.Fatalf("one object: %q, %v", b.String(), err)
	}
	if err := PrintNames(&b, struct{}{}); err == nil || !strings.Contains(err.Error(), "names no Kubernetes object") {
		t.Fatalf("a value without names: %v", err)
	}
}

func TestFlagsFormats(t *testing.T) {
	got := strings.Join(NewFlags("table", "wide").Formats(), " ")
	want := "table wide json yaml name go-template go-template-file template templatefile jsonpath jsonpath-as-json jsonpath-file"
	if got != want {
		t.Fatalf("formats %q, want %q", got, want)
	}
}
