package doctor

import (
	"bytes"
	"strings"
	"testing"
)

func TestCauses(t *testing.T) {
	noSeries := func(ns, name string) HPAReport {
		f := newFinding(CodeNoSeries, "HorizontalPodAutoscaler "+ns+"/"+name, "jobs", "1h0m0s").
			withFix(Fix{Description: "export jobs"})
		return HPAReport{Namespace: ns, Name: name, Metrics: []MetricReport{{Name: "jobs", Findings: []Finding{f}}},
			Findings: []Finding{newFinding(CodeCannotCompute, "HorizontalPodAutoscaler "+ns+"/"+name, "FailedGetPodsMetric", "...")}}
	}
	unexplained := HPAReport{Namespace: "e", Name: "u", Metrics: []MetricReport{{Name: "jobs"}},
		Findings: []Finding{newFinding(CodeCannotCompute, "HorizontalPodAutoscaler e/u", "FailedGetPodsMetric", "...")}}
	hpas := []HPAReport{noSeries("a", "x"), noSeries("b", "y"), noSeries("c", "z"), noSeries("d", "w"),
		{Namespace: "a", Name: "v", Metrics: []MetricReport{{Name: "queue", Findings: []Finding{
			newFinding(CodeMilliQuantity, "HorizontalPodAutoscaler a/v", "queue", "1500m", "1.5")}}}}, unexplained}
	cs := causes(hpas)
	var got []string
	for _, c := range cs {
		got = append(got, c.Code+"/"+c.Metric+"/"+strings.Join(c.Namespaces, ","))
	}
	if strings.Join(got, " ") != "MS208/jobs/a,b,c,d MS401//e MS306/queue/a" || cs[0].HPAs != 4 || cs[0].Fixes != 1 || cs[0].Fix.Description != "export jobs" {
		t.Fatalf("causes %v: %+v", got, cs)
	}
	var b bytes.Buffer
	printCauses(&b, cs)
	out := b.String()
	for _, want := range []string{"CAUSES", "MS208  error     jobs    4     a, b, c, +1", "fix MS208 jobs: export jobs"} {
		if !strings.Contains(out, want) {
			t.Fatalf("lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	printCauses(&b, causes(hpas[4:5]))
	if b.Len() != 0 {
		t.Fatalf("a cause of one HPA is shown with the HPA only:\n%s", b.String())
	}
}

// TestCauseFix: a cause's fix is printed whole (its YAML too), or, when
// each HPA has its own, where to read them.
func TestCauseFix(t *testing.T) {
	tests := []struct {
		name  string
		cause Cause
		want  string
	}{
		{"command", Cause{Code: "MS201", Metric: "jobs", Fix: &Fix{Description: "add a rule", Command: "kubectl metricscale add-rule jobs"}, Fixes: 1},
			"  fix MS201 jobs: add a rule\n      $ kubectl metricscale add-rule jobs\n"},
		{"YAML only", Cause{Code: "MS206", Metric: "jobs", Fix: &Fix{Description: "the corrected rule:", YAML: "- seriesQuery: jobs\n  name: {as: jobs}\n"}, Fixes: 1},
			"  fix MS206 jobs: the corrected rule:\n      - seriesQuery: jobs\n        name: {as: jobs}\n"},
		{"one per HPA", Cause{Code: "MS411", Fix: &Fix{Description: "fix a/x's trigger"}, Fixes: 2},
			"  fix MS411: one per HPA (2 differ, each naming its HPA's objects): kubectl metricscale doctor HPA -n NAMESPACE prints each\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printCauseFix(&b, tt.cause)
			if b.String() != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}
