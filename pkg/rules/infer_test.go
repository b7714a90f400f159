package rules

import (
	"errors"
	"strings"
	"testing"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

func series(name string, labels ...string) prom.Series {
	s := prom.Series{Name: name, Labels: pmodel.LabelSet{}}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		s.Labels[pmodel.LabelName(k)] = pmodel.LabelValue(v)
	}
	return s
}

func TestPropose(t *testing.T) {
	cases := []struct {
		name     string
		series   prom.Series
		req      Request
		wantNS   string
		wantRes  string
		wantAPI  string
		counter  bool
		wantCmd  string
		wantErr  string
		ambiguos bool
	}{
		{"namespace/pod", series("queue_depth", "namespace=a", "pod=p"), Request{SeriesName: "queue_depth", Resource: "pods"},
			"namespace", "pod", "queue_depth", false, "kubectl metricscale add-rule queue_depth --namespace-label namespace --pod-label pod", "", false},
		{"k8s_namespace/k8s_pod_name (Interlok)", series("MessageMetrics", "job=interlok", "k8s_namespace=a", "k8s_pod_name=p"), Request{SeriesName: "MessageMetrics", Resource: "pods"},
			"k8s_namespace", "k8s_pod_name", "MessageMetrics", false, "kubectl metricscale add-rule MessageMetrics --namespace-label k8s_namespace --pod-label k8s_pod_name", "", false},
		{"exported_* win over the target's labels", series("MessageMetrics", "exported_namespace=a", "exported_pod=p", "namespace=monitoring", "pod=pushgateway"), Request{SeriesName: "MessageMetrics", Resource: "pods"},
			"exported_namespace", "exported_pod", "MessageMetrics", false, "kubectl metricscale add-rule MessageMetrics --namespace-label exported_namespace --pod-label exported_pod", "", false},
		{"kubernetes_namespace/kubernetes_pod_name", series("jobs", "kubernetes_namespace=a", "kubernetes_pod_name=p"), Request{SeriesName: "jobs", Resource: "pods"},
			"kubernetes_namespace", "kubernetes_pod_name", "jobs", false, "", "", false},
		{"counter: rate, name without _total", series("http_requests_total", "namespace=a", "pod=p"), Request{SeriesName: "http_requests_total", Resource: "pods"},
			"namespace", "pod", "http_requests", true, "kubectl metricscale add-rule http_requests_total --namespace-label namespace --pod-label pod", "", false},
		{"service", series("prom_fake_value", "namespace=a", "service=s", "pod=p"), Request{SeriesName: "prom_fake_value", Resource: "services"},
			"namespace", "service", "prom_fake_value", false, "kubectl metricscale add-rule prom_fake_value --namespace-label namespace --resource service=service", "", false},
		{"flags win", series("x", "namespace=a", "pod=p", "k8s_pod_name=q"), Request{SeriesName: "x", Resource: "pods", ResourceLabel: "k8s_pod_name", As: "y"},
			"namespace", "k8s_pod_name", "y", false, "kubectl metricscale add-rule x --as y --namespace-label namespace --pod-label k8s_pod_name", "", false},
		{"two pod labels: ambiguous", series("x", "namespace=a", "pod=p", "k8s_pod_name=q"), Request{SeriesName: "x", Resource: "pods"},
			"", "", "", false, "", "pod, k8s_pod_name; choose one with --pod-label", true},
		{"no pod label", series("x", "namespace=a", "instance=i"), Request{SeriesName: "x", Resource: "pods"},
			"", "", "", false, "", "no label of the series names a pod", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Propose([]prom.Series{c.series}, c.req)
			if c.wantErr != "" {
				var amb *Ambiguous
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || errors.As(err, &amb) != c.ambiguos {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.NamespaceLabel != c.wantNS || p.ResourceLabel != c.wantRes || p.APIName != c.wantAPI || p.Counter != c.counter {
				t.Fatalf("got %+v", p)
			}
			if c.wantCmd != "" && p.Command != c.wantCmd {
				t.Fatalf("command %q, want %q", p.Command, c.wantCmd)
			}
			// The proposal is a rule the adapter accepts.
			if _, err := Insert("rules: []\n", Custom, p.YAML); err != nil {
				t.Fatalf("%v\n%s", err, p.YAML)
			}
			if c.counter && !strings.Contains(p.YAML, "rate(") {
				t.Fatal(p.YAML)
			}
		})
	}
}
