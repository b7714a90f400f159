package cmd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/version"
)

func execute(args ...string) (stdout, stderr string, err error) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewCmdMetricscale(streams)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func TestVersionOutputs(t *testing.T) {
	want := version.Get()
	tests := []struct {
		name   string
		args   []string
		decode func([]byte, any) error
	}{
		{"json", []string{"version", "-o", "json"}, json.Unmarshal},
		{"yaml", []string{"version", "-o", "yaml"}, func(b []byte, v any) error { return yaml.Unmarshal(b, v) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := execute(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var got version.Info
			if err := tt.decode([]byte(out), &got); err != nil {
				t.Fatalf("decoding %q: %v", out, err)
			}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	out, _, err := execute("version")
	if err != nil || !strings.HasPrefix(out, "metricscale "+want.GitVersion) {
		t.Fatalf("text version: %q, %v", out, err)
	}
}

func TestVersionRejectsUnknownOutput(t *testing.T) {
	out, _, err := execute("version", "-o", "xml")
	if ExitCode(err) != ExitCannotRun || !strings.Contains(err.Error(), `"xml"`) || out != "" {
		t.Fatalf("want exit 2 naming the format and no output, got code %d, err %v, out %q", ExitCode(err), err, out)
	}
}

func TestGlobalFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdMetricscale(streams)
	for _, f := range []string{"kubeconfig", "context", "namespace", "as", "as-group", "server", "token", "request-timeout", "all-namespaces"} {
		if root.PersistentFlags().Lookup(f) == nil {
			t.Errorf("missing global flag --%s", f)
		}
	}
	if root.PersistentFlags().ShorthandLookup("A") == nil || root.PersistentFlags().ShorthandLookup("n") == nil {
		t.Error("missing -A or -n")
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("plain"), ExitCannotRun},
		{&ExitError{Code: ExitFindings, Err: errors.New("x")}, ExitFindings},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestDoctorCannotRun(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown output", []string{"doctor", "-o", "xml"}, `unknown output format "xml"`},
		{"names with -A", []string{"doctor", "x", "-A"}, "HPA names and -A do not go together"},
		{"adapter name alone", []string{"doctor", "--adapter-name", "a"}, "--adapter-name needs --adapter-namespace"},
		{"unreachable API server", []string{"doctor", "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}, "cannot reach the Kubernetes API server at https://127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := execute(c.args...)
			if ExitCode(err) != ExitCannotRun || !strings.Contains(err.Error(), c.want) || out != "" {
				t.Fatalf("exit %d, err %v, out %q; want exit 2 with %q", ExitCode(err), err, out, c.want)
			}
		})
	}
}

func TestAddRuleRefusesBadInput(t *testing.T) {
	unreachable := []string{"--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no metric", []string{"add-rule"}, "exactly one METRIC"},
		{"two metrics", []string{"add-rule", "a", "b"}, "exactly one METRIC"},
		{"not a metric name", []string{"add-rule", "9lives"}, `"9lives" is not a Prometheus metric name`},
		{"bad --api-name", []string{"add-rule", "x", "--api-name", "a-b"}, `--api-name "a-b" is not a valid metric name`},
		{"bad --resource", []string{"add-rule", "x", "--resource", "service"}, "want LABEL=RESOURCE"},
		{"two object labels", []string{"add-rule", "x", "--pod-label", "pod", "--resource", "svc=service"}, "name two object labels"},
		{"external with an object", []string{"add-rule", "x", "--external", "--pod-label", "pod"}, "--external metrics belong to no object"},
		{"not namespaced custom", []string{"add-rule", "x", "--namespaced=false"}, "--namespaced=false is for --external"},
		{"bad dry-run", []string{"add-rule", "x", "--dry-run=maybe"}, `--dry-run="maybe"`},
		{"hpa without target", []string{"add-rule", "x", "--hpa", "web"}, "--hpa DEPLOYMENT and --target N go together"},
		{"hpa with dry run", []string{"add-rule", "x", "--hpa", "web", "--target", "1", "--dry-run"}, "does not go with --dry-run"},
		{"-A", []string{"add-rule", "x", "-A"}, "does not take -A"},
		{"series query not PromQL", []string{"add-rule", "x", "--series-query", `{__name__="x",job=~"a(}`}, "--series-query: seriesQuery is not valid PromQL"},
		{"series query matching everything", []string{"add-rule", "x", "--series-query", `{job=~".*"}`}, "at least one matcher that does not match the empty string"},
		{"unknown output", append([]string{"add-rule", "x", "-o", "xml"}, unreachable...), `unknown output format "xml"`},
		{"unreachable API server", append([]string{"add-rule", "x"}, unreachable...), "cannot reach the Kubernetes API server at https://127.0.0.1:1"},
		{"rollback: bad dry-run", []string{"rollback", "--dry-run=maybe"}, `--dry-run="maybe"`},
		{"grafana provision: a server-side dry run", []string{"grafana", "provision", "--dry-run=server"}, "--dry-run=server: Grafana's API has no server-side dry run; use client or none"},
		{"completion without a shell lists them", []string{"completion"}, "completion takes one SHELL, one of bash, zsh, fish, powershell"},
		{"rollback: unreachable API server", append([]string{"rollback"}, unreachable...), "cannot reach the Kubernetes API server at https://127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := execute(c.args...)
			if ExitCode(err) != ExitCannotRun || !strings.Contains(err.Error(), c.want) || out != "" {
				t.Fatalf("exit %d, err %v, out %q; want exit 2 with %q", ExitCode(err), err, out, c.want)
			}
		})
	}
}

func TestMigrateKEDARefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"apply and rollback", []string{"migrate", "keda", "--apply", "--rollback"}, "--apply and --rollback do not go together"},
		{"no timeout", []string{"migrate", "keda", "--apply", "--timeout", "0s"}, "--timeout 0s: give a positive duration"},
		{"tolerance", []string{"migrate", "keda", "--tolerance", "1"}, "--tolerance 1: use a fraction"},
		{"names with -A", []string{"migrate", "keda", "--rollback", "x", "-A"}, "HPA names and -A do not go together"},
		{"unknown output", []string{"migrate", "keda", "--apply", "-o", "xml"}, `unknown output format "xml": use one of json, yaml, name, go-template,`},
		{"KEDA Service without namespace", []string{"migrate", "keda", "--apply", "--keda-metrics-service", "keda-operator-metrics-apiserver"}, "--keda-metrics-service \"keda-operator-metrics-apiserver\": give NAMESPACE/NAME"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := execute(c.args...)
			if ExitCode(err) != ExitCannotRun || !strings.Contains(err.Error(), c.want) || out != "" {
				t.Fatalf("exit %d, err %v, out %q; want exit 2 with %q", ExitCode(err), err, out, c.want)
			}
		})
	}
}
