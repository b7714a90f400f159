package doctor

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenReport is the Interlok walkthrough before the fix: one HPA whose
// metric no rule maps, plus a healthy Object metric, judged by Diagnose.
func goldenReport(t *testing.T) *Report {
	t.Helper()
	p := &fakeProm{ok: true}
	for _, s := range []string{
		"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=interlok-7d9f-abcde}",
		"prom_fake_value{namespace=default,pod=prom-fake-1,service=prom-fake}",
	} {
		p.series = append(p.series, series(s))
	}
	api := &fakeAPI{listed: map[string]bool{"services/prom_fake_value": true, "pods/prom_fake_value": true, "namespaces/prom_fake_value": true},
		values: map[string]*cmv1beta2MetricValueList{"default/services/prom_fake_value": values("Service", "prom-fake", "102312m")}}
	in := collected(t, p, api, defaultRules(t))

	h, _ := podsHPA("MessageMetrics")
	h.Name, h.Spec.ScaleTargetRef.Name = "interlok-autoscaler", "interlok"
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
		Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetPodsMetric",
		Message: "the HPA was unable to compute the replica count: unable to get metric MessageMetrics: unable to fetch metrics from custom metrics API: the server could not find the metric MessageMetrics for pods"}}}
	h2, spec2 := objectHPA("prom_fake_value", "Service", "prom-fake")
	h2.Name, h2.Spec.ScaleTargetRef.Name, h2.Spec.MaxReplicas = "nginx", "nginx", 10
	spec2.Object.Target.Value = resource.NewQuantity(10, resource.DecimalSI)
	h2.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, DesiredReplicas: 1}
	in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{*h, *h2}
	in.Targets = fakeTargets{"default/Deployment/interlok": runningPods("interlok-7d9f-abcde"), "default/Deployment/nginx": runningPods("nginx-1")}

	r, err := Diagnose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPrintGolden(t *testing.T) {
	r := goldenReport(t)
	recordReport(t, r)
	for _, format := range []string{"table", "wide", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Print(&buf, r, format); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "interlok."+format+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/doctor -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%s output differs from %s:\n%s", format, path, buf.String())
			}
		})
	}
	if !r.HasErrors() || r.Summary.Healthy != 1 {
		t.Fatalf("summary %+v", r.Summary)
	}
	if err := Print(&bytes.Buffer{}, r, "xml"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

// TestPrintLiteral: doctor's JSON and YAML show queries as they are.
func TestPrintLiteral(t *testing.T) {
	r := &Report{Findings: []Finding{{Code: "X", Message: printerstest.Text, Fix: &Fix{YAML: printerstest.Text}}}}
	for _, format := range []string{"json", "yaml"} {
		var buf bytes.Buffer
		if err := Print(&buf, r, format); err != nil {
			t.Fatal(err)
		}
		printerstest.Literal(t, buf.String())
	}
}

// TestPrintKubectlFormats: -o jsonpath, go-template and name on doctor's
// report, through the -o flag group every command takes.
func TestPrintKubectlFormats(t *testing.T) {
	r := goldenReport(t)
	fleet := NewFleetReport([]ContextReport{{Context: "a", Report: r}, {Context: "b", Error: "unreachable"}})
	cases := []struct {
		output string
		v      any
		want   string
	}{
		{"jsonpath={.summary.errors}", r, strconv.Itoa(r.Summary.Errors)},
		{`go-template={{range .hpas}}{{.name}} {{end}}`, r, "interlok-autoscaler nginx "},
		{"name", r, "horizontalpodautoscaler.autoscaling/interlok-autoscaler\nhorizontalpodautoscaler.autoscaling/nginx\n"},
		{"jsonpath={.items[*].context}", fleet, "a b"},
		{"name", fleet, "horizontalpodautoscaler.autoscaling/interlok-autoscaler\nhorizontalpodautoscaler.autoscaling/nginx\n"},
	}
	for _, c := range cases {
		t.Run(c.output, func(t *testing.T) {
			f := printers.NewFlags("table", "wide")
			f.Output = c.output
			var b bytes.Buffer
			if err := f.Print(&b, c.v); err != nil || b.String() != c.want {
				t.Fatalf("got %q, %v; want %q", b.String(), err, c.want)
			}
		})
	}
}
