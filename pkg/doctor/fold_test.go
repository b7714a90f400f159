package doctor

import (
	"bytes"
	"strings"
	"testing"
)

func TestSplitFindings(t *testing.T) {
	collision := Finding{Code: "MS213", Severity: SeverityWarning, Message: "rules[1] and rules[4] both serve http_requests_per_second"}
	collisionOfBroken := Finding{Code: "MS213", Severity: SeverityWarning, Message: "rules[0] and rules[2] both serve queue_depth"}
	otherBackend := Finding{Code: "MS106", Severity: SeverityWarning, Object: "APIService v1beta1.metrics.k8s.io", Message: "v1beta1.metrics.k8s.io is served by another backend"}
	cannotListUnused := Finding{Code: "MS119", Severity: SeverityError, Message: "may not list ingresses"}
	apiDown := Finding{Code: "MS102", Severity: SeverityError, Message: "Available=False"}
	healthy := HPAReport{Name: "a", Metrics: []MetricReport{{Name: "queue_depth", Healthy: true}}}
	broken := HPAReport{Name: "b", Metrics: []MetricReport{{Name: "queue_depth", Type: "Pods"}}}
	brokenCPU := HPAReport{Name: "d", Metrics: []MetricReport{{Name: "cpu", Type: "Resource"}}}
	brokenHPA := HPAReport{Name: "c", Findings: []Finding{{Code: "MS402", Severity: SeverityError}}}
	all := []Finding{collision, collisionOfBroken, otherBackend, cannotListUnused, apiDown}
	tests := []struct {
		name       string
		hpas       []HPAReport
		wantShown  []string // messages
		wantFolded int
	}{
		{"healthy HPAs: everything folds", []HPAReport{healthy}, nil, 5},
		{"a broken metric: errors and what names it", []HPAReport{healthy, broken},
			[]string{collisionOfBroken.Message, apiDown.Message}, 3},
		{"a broken HPA: its errors", []HPAReport{brokenHPA}, []string{apiDown.Message}, 4},
		{"a broken cpu metric: the APIService it is read through", []HPAReport{brokenCPU}, []string{otherBackend.Message, apiDown.Message}, 3},
		{"no HPA: the errors that stand before a first one", nil, []string{apiDown.Message}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shown, folded := splitFindings(&Report{HPAs: tt.hpas, Findings: all})
			var got []string
			for _, f := range shown {
				got = append(got, f.Message)
			}
			if strings.Join(got, "|") != strings.Join(tt.wantShown, "|") || len(folded) != tt.wantFolded {
				t.Fatalf("shown %q, %d folded; want %q, %d", got, len(folded), tt.wantShown, tt.wantFolded)
			}
		})
	}
}

func TestContainsWord(t *testing.T) {
	for _, tt := range []struct {
		s, word string
		want    bool
	}{
		{"serves queue_depth for pods", "queue_depth", true},
		{"queue_depth", "queue_depth", true},
		{"serves queue_depth_total", "queue_depth", false},
		{"serves my_queue_depth and queue_depth:", "queue_depth", false},
		{"serves my_queue_depth, then queue_depth.", "queue_depth", true},
		{"", "x", false},
	} {
		if got := containsWord(tt.s, tt.word); got != tt.want {
			t.Errorf("containsWord(%q, %q) = %v", tt.s, tt.word, got)
		}
	}
}

// TestPrintFolds: the answer (the HPAs) comes first; the findings that
// concern none of them are one line per code, and -o wide shows them.
func TestPrintFolds(t *testing.T) {
	r := goldenReport(t)
	extra := []Finding{
		newFinding(CodeRuleCollision, "ConfigMap monitoring/adapter", "rules[1]", "rules[4]", "a_metric", "pods"),
		newFinding(CodeRuleCollision, "ConfigMap monitoring/adapter", "rules[2]", "rules[5]", "b_metric", "pods"),
		newFinding(CodeAPIServiceOtherBackend, "APIService v1beta1.metrics.k8s.io", "v1beta1.metrics.k8s.io", "kube-system/metrics-server", "monitoring"),
	}
	r.Findings = append(r.Findings, extra...)
	var b bytes.Buffer
	printTable(&b, r, false)
	out := b.String()
	if !strings.HasPrefix(out, "HPA default/interlok-autoscaler") {
		t.Fatalf("the HPAs do not come first:\n%s", out)
	}
	for _, want := range []string{
		"  MS213 warning " + Checks[CodeRuleCollision].Title + " ×2\n",
		"  MS106 warning " + Checks[CodeAPIServiceOtherBackend].Title + "\n",
		"  (3 findings that concern none of the HPAs above: -o wide shows them)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "a_metric") {
		t.Errorf("a folded finding's message is printed:\n%s", out)
	}
	b.Reset()
	printTable(&b, r, true)
	if !strings.Contains(b.String(), "a_metric") || strings.Contains(b.String(), "-o wide shows them") {
		t.Errorf("-o wide does not unfold:\n%s", b.String())
	}
}

func TestNoHPAs(t *testing.T) {
	var b bytes.Buffer
	printTable(&b, &Report{Namespace: "newbie-x"}, false)
	if !strings.HasPrefix(b.String(), "no HPAs in namespace newbie-x\n") {
		t.Fatalf("got:\n%s", b.String())
	}
}

func TestSayOnce(t *testing.T) {
	cond := "the HPA was unable to compute the replica count: unable to get metric jobs: unable to fetch metrics from custom metrics API: the server could not find the metric jobs for pods"
	got := sayOnce(cond, []string{
		"event FailedGetPodsMetric (x12): unable to get metric jobs: unable to fetch metrics from custom metrics API: the server could not find the metric jobs for pods",
		"event FailedComputeMetricsReplicas (x12): invalid metrics (1 invalid out of 1), first error is: failed to get pods metric value: unable to get metric jobs: unable to fetch metrics from custom metrics API: the server could not find the metric jobs for pods",
		"event FailedRescale: New size: 3; reason: pods metric jobs above target",
	})
	want := []string{
		"event FailedGetPodsMetric (x12) … (as above)",
		"event FailedComputeMetricsReplicas (x12): invalid metrics (1 invalid out of 1), first error is: failed to get pods metric value … (as above)",
		"event FailedRescale: New size: 3; reason: pods metric jobs above target",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecisionLineSaysOnce(t *testing.T) {
	h := HPAReport{
		Decision: "holds 1: the controller cannot compute a replica count (FailedGetPodsMetric): invalid metrics (1 invalid out of 1), first error is: unable to fetch metrics from custom metrics API: the server could not find the metric jobs for pods",
		Findings: []Finding{{Code: "MS401", Message: "ScalingActive=False FailedGetPodsMetric: the HPA was unable to compute the replica count: unable to get metric jobs: unable to fetch metrics from custom metrics API: the server could not find the metric jobs for pods"}},
	}
	want := "holds 1: the controller cannot compute a replica count (FailedGetPodsMetric): invalid metrics (1 invalid out of 1), first error is … (MS401 below)"
	if got := decisionLine(h); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	h.Findings = nil
	if got := decisionLine(h); got != h.Decision {
		t.Fatalf("no finding repeats it, got %q", got)
	}
}
