package cmd

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/alerts"
)

func TestAlertsRefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"alerts", "--format", "xml"}, `--format "xml": use rules-file or prometheusrule`},
		{"no scale", []string{"alerts", "--for-scale", "0"}, "--for-scale 0: give a factor above 0"},
		{"HPA names without --from-cluster", []string{"alerts", "web"}, "add --from-cluster"},
		{"HPA names and -A", []string{"alerts", "web", "--from-cluster", "-A"}, "HPA names and -A"},
		{"--apply with -o", []string{"alerts", "--apply", "-o", "yaml"}, "--apply and -o yaml"},
		{"no adapter job", []string{"alerts", "--adapter-job", ""}, "--adapter-job is empty"},
		{"unknown output", []string{"alerts", "-o", "xml"}, `unknown output format "xml"`},
		{"Grafana URL without a scheme", []string{"alerts", "--grafana-url", "grafana:3000"}, `--grafana-url "grafana:3000": give Grafana's http or https URL`},
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

// The printed rules file is what Prometheus loads: it parses into the
// chain's group, each rule with its runbook, and --for-scale shows in it.
func TestAlertsRulesFile(t *testing.T) {
	out, _, err := execute("alerts", "-o", "yaml", "--for-scale", "0.1")
	if err != nil {
		t.Fatal(err)
	}
	var f alerts.RuleFile
	if err := yaml.UnmarshalStrict([]byte(out), &f); err != nil || len(f.Groups) != 1 || f.Groups[0].Name != alerts.ChainGroup {
		t.Fatalf("the rules file: %v\n%s", err, out)
	}
	if err := alerts.Validate(f); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Groups[0].Rules {
		if !strings.HasPrefix(r.Annotations[alerts.AnnotationRunbookURL], alerts.RunbookBase+"#ms") || r.For == "" {
			t.Errorf("%s: runbook %q, for %q", r.Alert, r.Annotations[alerts.AnnotationRunbookURL], r.For)
		}
	}
	if f.Groups[0].Rules[0].For != "30s" {
		t.Errorf("MetricsAPIServiceUnavailable's for with --for-scale 0.1: %s, want 30s", f.Groups[0].Rules[0].For)
	}
}

// --grafana-url links each alert to the chain's dashboard: an HPA's alert
// with its HPA chosen (a template Prometheus expands), the chain's without.
func TestAlertsDashboardLinks(t *testing.T) {
	out, _, err := execute("alerts", "-o", "yaml", "--grafana-url", "https://grafana.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	var f alerts.RuleFile
	if err := yaml.UnmarshalStrict([]byte(out), &f); err != nil || alerts.Validate(f) != nil {
		t.Fatalf("the rules file: %v\n%s", err, out)
	}
	want := map[string]string{
		"HPAScalingInactive":    "https://grafana.example.com/d/metricscale-autoscaling-chain?var-namespace={{ $labels.namespace }}&var-hpa={{ $labels.horizontalpodautoscaler }}",
		"PrometheusAdapterDown": "https://grafana.example.com/d/metricscale-autoscaling-chain",
	}
	for _, r := range f.Groups[0].Rules {
		got := r.Annotations[alerts.AnnotationDashboardURL]
		if w, ok := want[r.Alert]; (ok && got != w) || got == "" {
			t.Errorf("%s: dashboard_url %q, want %q", r.Alert, got, w)
		}
	}
	out, _, _ = execute("alerts", "-o", "yaml")
	if strings.Contains(out, alerts.AnnotationDashboardURL) {
		t.Errorf("without --grafana-url the rules link a dashboard:\n%s", out)
	}
}
