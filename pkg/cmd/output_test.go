package cmd

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/version"
)

// kubectlFormats are the formats of kubectl's every command takes, after
// its own.
const kubectlFormats = "json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file"

// TestOutputFlags: every command that prints takes the one -o flag group,
// with its own default, and refuses an unknown format with the one
// message, before it reads anything.
func TestOutputFlags(t *testing.T) {
	unreachable := []string{"--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}
	cases := []struct {
		command []string
		def     string
		formats string
	}{
		{[]string{"doctor"}, "table", "table, wide, " + kubectlFormats},
		{[]string{"watch"}, "table", "table, " + kubectlFormats},
		{[]string{"add-rule", "x"}, "text", "text, " + kubectlFormats},
		{[]string{"rollback"}, "text", "text, " + kubectlFormats},
		{[]string{"grafana", "provision"}, "table", "table, " + kubectlFormats},
		{[]string{"migrate", "keda"}, "", kubectlFormats},
		{[]string{"version"}, "text", "text, " + strings.Replace(kubectlFormats, "name, ", "", 1)},
	}
	for _, c := range cases {
		name := strings.Join(c.command, " ")
		t.Run(name, func(t *testing.T) {
			root := NewCmdMetricscale(genericiooptions.NewTestIOStreamsDiscard())
			cmd, _, err := root.Find(c.command)
			if err != nil {
				t.Fatal(err)
			}
			o := cmd.Flags().Lookup("output")
			if o == nil || o.Shorthand != "o" || o.DefValue != c.def {
				t.Fatalf("-o %+v, want default %q", o, c.def)
			}
			for _, f := range []string{"template", "allow-missing-template-keys"} {
				if cmd.Flags().Lookup(f) == nil {
					t.Errorf("no --%s", f)
				}
			}
			args := append(append(append([]string{}, c.command...), unreachable...), "-o", "xml")
			out, _, err := execute(args...)
			want := `unknown output format "xml": use one of ` + c.formats
			if ExitCode(err) != ExitCannotRun || err.Error() != want || out != "" {
				t.Fatalf("exit %d, err %v, out %q; want exit 2 with\n%s", ExitCode(err), err, out, want)
			}
			args = append(append(append([]string{}, c.command...), unreachable...), "-o", "jsonpath={.a")
			if _, _, err := execute(args...); ExitCode(err) != ExitCannotRun || !strings.Contains(err.Error(), "-o jsonpath: error parsing jsonpath {.a") {
				t.Fatalf("a jsonpath that does not parse: exit %d, %v", ExitCode(err), err)
			}
		})
	}
}

// TestVersionTemplates: version's fields through kubectl's jsonpath and
// go-template printers.
func TestVersionTemplates(t *testing.T) {
	want := version.Get()
	for _, args := range [][]string{
		{"version", "-o", "jsonpath={.gitVersion}"},
		{"version", "-o", "go-template={{.gitVersion}}"},
		{"version", "--template", "{{.gitVersion}}"},
	} {
		out, _, err := execute(args...)
		if err != nil || out != want.GitVersion {
			t.Errorf("%v: %q, %v; want %q", args, out, err, want.GitVersion)
		}
	}
}

// TestProvisionNames: grafana provision -o name names Grafana's objects
// by uid.
func TestProvisionNames(t *testing.T) {
	rep := provisionReport{Actions: []grafana.Action{
		{Kind: grafana.KindDataSource, UID: "prometheus"},
		{Kind: grafana.KindFolder, UID: "metricscale"},
		{Kind: grafana.KindDashboard, UID: "metricscale-autoscaling-chain"},
	}}
	var b bytes.Buffer
	if err := printers.PrintNames(&b, rep); err != nil {
		t.Fatal(err)
	}
	if want := "datasource/prometheus\nfolder/metricscale\ndashboard/metricscale-autoscaling-chain\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}
