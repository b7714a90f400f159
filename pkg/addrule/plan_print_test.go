package addrule

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
)

const printedRule = `seriesQuery: '{__name__="jobs",namespace!="",pod!=""}'
resources:
  overrides:
    namespace: {resource: namespace}
    pod: {resource: pod}
metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func printedPlan() *Plan {
	return &Plan{Adapter: &adapter.Adapter{RelistInterval: time.Minute}, AdapterRef: "monitoring/prometheus-adapter",
		ConfigMap: "monitoring/prometheus-adapter", Key: "config.yaml", List: "rules",
		Prometheus: &prometheus.Connection{URL: "http://prometheus:9090", Via: "direct"},
		Series:     1, Proposal: rules.Proposal{NamespaceLabel: "namespace", ResourceLabel: "pod", Resource: "pods"},
		Rule: printedRule, Produces: []Produced{{Metric: "jobs", Resource: "pods", SeriesName: "jobs"}},
		Samples: []Sample{{Namespace: "shop", Object: "shop-1", Value: "7"}},
		Diff:    "--- a\n+++ b\n@@ -1,1 +1,7 @@\n rules:\n+- seriesQuery: x\n"}
}

// TestPrintPlan: the conclusion comes first and the rule is said once.
func TestPrintPlan(t *testing.T) {
	served := printedPlan()
	served.AlreadyServedBy, served.HelmRelease = "rules[3]", "adapter"
	helm := printedPlan()
	helm.HelmRelease = "adapter"
	rewritten := printedPlan()
	rewritten.Diff = "--- a\n+++ b\n@@ -1,2 +1,7 @@\n-rules: []\n+rules:\n+- seriesQuery: x\n"
	tests := []struct {
		name      string
		plan      *Plan
		opts      Options
		first     string
		rules     int // times the rule's seriesQuery is printed
		want, not []string
	}{
		{"already served", served, Options{DryRun: configstore.DryRunClient},
			"nothing to do: jobs is already served by rules[3]\n", 0, []string{"the adapter will serve:"}, []string{"WARNING", "dry run"}},
		{"dry run", printedPlan(), Options{DryRun: configstore.DryRunClient},
			"dry run (client): nothing is written; without --dry-run, add-rule would append the rule below to rules in ConfigMap monitoring/prometheus-adapter (key config.yaml) and restart the adapter\n",
			1, nil, []string{"+++", "WARNING"}},
		{"written, no restart", printedPlan(), Options{NoRestart: true},
			"add-rule will append the rule below to rules in ConfigMap monitoring/prometheus-adapter (key config.yaml)\n", 1, nil, nil},
		{"Helm", helm, Options{}, "add-rule will append", 1,
			[]string{"Put the rule above in the chart's values.yaml as well, under rules.custom.\n"}, nil},
		{"the write changes other lines", rewritten, Options{}, "add-rule will append", 1,
			[]string{"the write changes more of config.yaml than the rule:\n", "-rules: []"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			PrintPlan(&b, tt.plan, tt.opts)
			out := b.String()
			if !strings.HasPrefix(out, tt.first) {
				t.Errorf("does not start with %q:\n%s", tt.first, out)
			}
			if n := strings.Count(out, `seriesQuery: '{__name__="jobs"`); n != tt.rules {
				t.Errorf("the rule is printed %d times, want %d:\n%s", n, tt.rules, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("has %q:\n%s", w, out)
				}
			}
		})
	}
}
