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
	hpas := []HPAReport{noSeries("a", "x"), noSeries("b", "y"), noSeries("c", "z"), noSeries("d", "w"),
		{Namespace: "a", Name: "v", Metrics: []MetricReport{{Name: "queue", Findings: []Finding{
			newFinding(CodeMilliQuantity, "HorizontalPodAutoscaler a/v", "queue", "1500m", "1.5")}}}}}
	cs := causes(hpas)
	var got []string
	for _, c := range cs {
		got = append(got, c.Code+"/"+c.Metric+"/"+strings.Join(c.Namespaces, ","))
	}
	if strings.Join(got, " ") != "MS208/jobs/a,b,c,d MS401//a,b,c,d MS306/queue/a" || cs[0].HPAs != 4 || cs[0].Fixes != 1 || cs[0].Fix.Description != "export jobs" {
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
	printCauses(&b, causes(hpas[4:]))
	if b.Len() != 0 {
		t.Fatalf("a cause of one HPA is shown with the HPA only:\n%s", b.String())
	}
}
