package doctor

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/metricscale/kubectl-metricscale/pkg/printers/printerstest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenReport is the Interlok walkthrough before the fix: one HPA whose
// metric no rule maps, plus a healthy Object metric.
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
		values: map[string]*cmv1beta1MetricValueList{"default/services/prom_fake_value": values("Service", "prom-fake", "102312m")}}
	w := newWalker(t, p, api, defaultRules(t))
	r := &Report{APIVersion: "metricscale.io/v1alpha1", Kind: "DoctorReport", Findings: []Finding{}}
	r.Inventory = Inventory{
		APIServices: []APIService{{Name: CustomAPIService, Present: true, Available: true, Reason: "Passed", Service: "monitoring/prometheus-adapter"}, {Name: ExternalAPIService}, {Name: ResourceAPIService}},
		Adapter: &AdapterInfo{Namespace: "monitoring", Name: "prometheus-adapter", Image: "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
			PrometheusURL: "http://prometheus-server.monitoring.svc:80/", Config: "/etc/adapter/config.yaml", ConfigMap: "monitoring/prometheus-adapter:config.yaml",
			RelistInterval: "1m0s", MaxAge: "1m0s", ReadyPods: 1, Pods: 1, Rules: 6},
		Prometheus:        &PromInfo{URL: "http://prometheus-server.monitoring.svc:80/", Source: "adapter-flag", Via: "service-proxy", Reachable: true},
		DiscoveredMetrics: len(w.disc.Metrics), ServedMetrics: len(api.listed),
	}
	h, spec := podsHPA("MessageMetrics")
	h.Name, h.Spec.ScaleTargetRef.Name = "interlok-autoscaler", "interlok"
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
		Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetPodsMetric",
		Message: "the HPA was unable to compute the replica count: unable to get metric MessageMetrics: unable to fetch metrics from custom metrics API: the server could not find the metric MessageMetrics for pods"}}}
	hr := HPAReport{Namespace: "default", Name: h.Name, ScaleTarget: "Deployment/interlok", MinReplicas: 1, MaxReplicas: 5, CurrentReplicas: 1,
		Findings: hpaFindings(h, true, 1, 1)}
	mr := w.walkMetric(context.Background(), h, spec, target{pods: runningPods("interlok-7d9f-abcde")})
	mr.Chain = finishChain(mr.Chain)
	hr.Metrics = append(hr.Metrics, mr)
	r.HPAs = append(r.HPAs, hr)

	h2, spec2 := objectHPA("prom_fake_value", "Service", "prom-fake")
	h2.Name, h2.Spec.ScaleTargetRef.Name = "nginx", "nginx"
	spec2.Object.Target.Value = resource.NewQuantity(10, resource.DecimalSI)
	h2.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, DesiredReplicas: 1}
	hr2 := HPAReport{Namespace: "default", Name: "nginx", ScaleTarget: "Deployment/nginx", MinReplicas: 1, MaxReplicas: 10, CurrentReplicas: 1, DesiredReplicas: 1,
		Findings: hpaFindings(h2, true, 1, 1)}
	mr2 := w.walkMetric(context.Background(), h2, spec2, target{pods: runningPods("nginx-1")})
	mr2.Chain = finishChain(mr2.Chain)
	hr2.Metrics = append(hr2.Metrics, mr2)
	r.HPAs = append(r.HPAs, hr2)
	r.summarize()
	return r
}

func TestPrintGolden(t *testing.T) {
	r := goldenReport(t)
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
