package doctor

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// fleetHPA is an HPA whose metric has no series (an error), or a healthy
// one with a warning on the HPA when healthy is set.
func fleetHPA(ns, name string, healthy bool) HPAReport {
	obj := "HorizontalPodAutoscaler " + ns + "/" + name
	if healthy {
		return HPAReport{Namespace: ns, Name: name, Metrics: []MetricReport{{Name: "queue", Healthy: true}},
			Findings: []Finding{newFinding(CodeNoReadyPods, obj, "Deployment", "web", 2)}}
	}
	f := newFinding(CodeNoSeries, obj, "jobs", "1h0m0s").withFix(Fix{Description: "export jobs"})
	return HPAReport{Namespace: ns, Name: name, Metrics: []MetricReport{{Name: "jobs", Findings: []Finding{f}}}}
}

// fleetReport is what Diagnose gives for the HPAs: the summary and causes
// from the same code.
func fleetReport(hpas ...HPAReport) *Report {
	r := &Report{APIVersion: "metricscale.io/v1alpha1", Kind: "DoctorReport", Findings: []Finding{}, HPAs: hpas}
	r.summarize()
	r.Causes = causes(hpas)
	return r
}

func TestFleetReport(t *testing.T) {
	tests := []struct {
		name  string
		items []ContextReport
		// causes: code/metric/hpas/namespaces/contexts
		causes []string
		// rows: context hpas healthy/metrics errors warnings, or context "-" error
		rows []string
	}{
		{
			name: "one cause in two contexts, the same namespace/name in each counted twice",
			items: []ContextReport{
				{Context: "eu", Report: fleetReport(fleetHPA("a", "x", false), fleetHPA("b", "y", false))},
				{Context: "us", Report: fleetReport(fleetHPA("a", "x", false), fleetHPA("c", "z", true))},
			},
			causes: []string{"MS208/jobs/3/a,b/eu,us", "MS403//1/c/us"},
			rows:   []string{"eu 2 0/2 2 0", "us 2 1/2 1 1"},
		},
		{
			name: "a context that could not run has a row and no cause",
			items: []ContextReport{
				{Context: "live", Report: fleetReport(fleetHPA("a", "x", true))},
				{Context: "dead", Error: "cannot reach the Kubernetes API server at https://127.0.0.1:9: connection refused"},
			},
			causes: []string{"MS403//1/a/live"},
			rows:   []string{"live 1 1/1 0 1", "dead - cannot reach the Kubernetes API server at https://127.0.0.1:9: connection refused"},
		},
		{
			name:  "no context ran",
			items: []ContextReport{{Context: "dead", Error: "loading kubeconfig: no server"}},
			rows:  []string{"dead - loading kubeconfig: no server"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFleetReport(tt.items)
			var got []string
			for _, c := range f.Causes {
				got = append(got, strings.Join([]string{string(c.Code), c.Metric, strconv.Itoa(c.HPAs), strings.Join(c.Namespaces, ","), strings.Join(c.Contexts, ",")}, "/"))
			}
			if strings.Join(got, " ") != strings.Join(tt.causes, " ") {
				t.Errorf("causes %q, want %q", got, tt.causes)
			}
			var rows []string
			for _, s := range f.Summaries() {
				if !s.Ran {
					rows = append(rows, s.Context+" - "+s.Error)
					continue
				}
				rows = append(rows, strings.Join([]string{s.Context, strconv.Itoa(s.HPAs), strconv.Itoa(s.Healthy) + "/" + strconv.Itoa(s.Metrics), strconv.Itoa(s.Errors), strconv.Itoa(s.Warnings)}, " "))
			}
			if strings.Join(rows, "|") != strings.Join(tt.rows, "|") {
				t.Errorf("rows %q, want %q", rows, tt.rows)
			}
		})
	}
}

func TestPrintFleet(t *testing.T) {
	f := NewFleetReport([]ContextReport{
		{Context: "live", Report: fleetReport(fleetHPA("a", "x", false), fleetHPA("b", "y", false))},
		{Context: "dead", Error: "cannot reach the Kubernetes API server at https://127.0.0.1:9 (check --kubeconfig, --context, --server): dial tcp: connection refused"},
	})

	var b bytes.Buffer
	if err := PrintFleet(&b, f, "table"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CONTEXT live\nHPA a/x",
		"\nCHAIN\n",
		"HPA a/x",
		"CONTEXT dead\n  doctor could not run: cannot reach the Kubernetes API server at https://127.0.0.1:9 (check --kubeconfig, --context, --server): dial tcp: connection refused\n",
		"CONTEXTS\n  CONTEXT  HPAS  HEALTHY  ERRORS  WARNINGS  STATUS\n",
		"  live     2     0/2      2       0         errors found\n",
		// the table keeps the reason's first clause; the section has it all
		"  dead     -     -        -       -         could not run: cannot reach the Kubernetes API server at https://127.0.0.1:9 (check --kubeconfig, --context, --server)\n",
		"CONTEXTS  CAUSE",
		"MS208  error     jobs    2     a, b        live",
		"fix MS208 jobs: export jobs",
		"2 contexts, 1 with errors, 1 could not run\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "CAUSES") != 1 {
		t.Errorf("want one causes table, across the contexts:\n%s", out)
	}

	b.Reset()
	PrintFleetSummary(&b, f)
	out = b.String()
	if strings.Contains(out, "HPA a/x") || !strings.Contains(out, "CONTEXT dead\n  doctor could not run:") || !strings.Contains(out, "CAUSES") {
		t.Errorf("--summary: want the failed context, the table and the causes, no HPA sections:\n%s", out)
	}

	b.Reset()
	if err := PrintFleet(&b, f, "json"); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Kind  string `json:"kind"`
		Items []struct {
			Context string          `json:"context"`
			Report  json.RawMessage `json:"report"`
			Error   string          `json:"error"`
		} `json:"items"`
		Causes []Cause `json:"causes"`
	}
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Kind != "DoctorFleetReport" || len(decoded.Items) != 2 || decoded.Items[0].Context != "live" || len(decoded.Items[0].Report) == 0 ||
		decoded.Items[0].Error != "" || decoded.Items[1].Report != nil || decoded.Items[1].Error == "" ||
		len(decoded.Causes) != 1 || strings.Join(decoded.Causes[0].Contexts, ",") != "live" {
		t.Errorf("json: %s", b.String())
	}
	if err := PrintFleet(&b, f, "xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown format: %v", err)
	}
}
