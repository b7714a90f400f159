package alerts

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
)

func TestRulesPassPrometheusParser(t *testing.T) {
	f := RuleFile{Groups: []Group{NewGroup(ChainGroup, ClusterRules(DefaultOptions()))}}
	if err := Validate(f); err != nil {
		t.Fatal(err)
	}
	broken := f
	broken.Groups = []Group{NewGroup("broken", []Rule{{Alert: "Broken", Expr: "sum(", Severity: Warning}})}
	if err := Validate(broken); err == nil || !strings.Contains(err.Error(), "rule parser refuses") {
		t.Fatalf("a rule of invalid PromQL: %v, want refused", err)
	}
}

// Every runbook_url points at a heading of docs/checks.md, whose section
// names the alert in its "Alerts:" line: the page a person lands on says
// what paged them.
func TestRunbooksExist(t *testing.T) {
	doc, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{} // runbook URL → the section's text
	var at string
	for _, line := range strings.Split(string(doc), "\n") {
		if heading, ok := strings.CutPrefix(line, "## "); ok {
			at = RunbookBase + "#" + anchor(heading)
		}
		sections[at] += line + "\n"
	}
	rules := append(ClusterRules(DefaultOptions()), SeriesRules([]SeriesNeed{{Namespace: "a", HPA: "b", Metric: "c", Selector: "d"}}, DefaultOptions())...)
	for _, r := range rules {
		url := Runbook(r.Code)
		section, ok := sections[url]
		if !ok {
			t.Errorf("%s: runbook %s is no heading of docs/checks.md", r.Alert, url)
			continue
		}
		if !strings.Contains(section, "\n- Alerts: ") || !strings.Contains(section, "`"+r.Alert+"`") {
			t.Errorf("%s: the section of %s has no \"- Alerts:\" line naming it", r.Alert, r.Code)
		}
	}
}

func TestForScale(t *testing.T) {
	o := DefaultOptions()
	o.ForScale = 0.01
	for _, r := range ClusterRules(o) {
		if r.For < time.Second || r.For > 10*time.Second {
			t.Errorf("%s: for %s with --for-scale 0.01", r.Alert, r.For)
		}
	}
}

// firing evaluates r every 15 s over series (promtool's load syntax, from
// time 0) for span, as Prometheus's rule manager does, and returns the
// label sets of its firing alerts.
func firing(t *testing.T, r Rule, series string, span time.Duration) []string {
	t.Helper()
	storage := promqltest.LoadedStorage(t, "load 15s\n"+series)
	t.Cleanup(func() { storage.Close() })
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 100000)
	expr, err := parser.ParseExpr(r.Expr)
	if err != nil {
		t.Fatal(err)
	}
	rule := rules.NewAlertingRule(r.Alert, expr, r.For, 0, labels.FromStrings(LabelSeverity, r.Severity),
		labels.EmptyLabels(), labels.EmptyLabels(), "", true, nil)
	query := rules.EngineQueryFunc(engine, storage)
	for ts := time.Duration(0); ts <= span; ts += 15 * time.Second {
		if _, err := rule.Eval(context.Background(), 0, time.Unix(0, 0).Add(ts), query, nil, 0); err != nil {
			t.Fatalf("%s at %s: %v", r.Alert, ts, err)
		}
	}
	var out []string
	for _, a := range rule.ActiveAlerts() {
		if a.State == rules.StateFiring {
			out = append(out, a.Labels.String())
		}
	}
	return out
}

// Each rule fires on series of its fault within its for plus two
// evaluations, and not on those of a healthy chain.
func TestRulesFireOnTheirFault(t *testing.T) {
	cases := faultSeries()
	for _, r := range ClusterRules(DefaultOptions()) {
		c, ok := cases[r.Alert]
		if !ok {
			t.Errorf("%s has no case: every rule is proven to fire", r.Alert)
			continue
		}
		t.Run(r.Alert, func(t *testing.T) {
			span := r.For + 2*15*time.Second + 5*time.Minute // the rate windows fill first
			if got := firing(t, r, c.healthy, span); len(got) > 0 {
				t.Errorf("fires on the healthy series: %v", got)
			}
			got := firing(t, r, c.broken, span)
			if len(got) != 1 || !strings.Contains(got[0], c.fires) {
				t.Errorf("on the broken series it fires %v, want one alert with %s", got, c.fires)
			}
		})
	}
}

// faultSeries are, per rule, series of a healthy chain, series of its
// fault, and what the one alert it fires on them names.
func faultSeries() map[string]struct{ healthy, broken, fires string } {
	return map[string]struct{ healthy, broken, fires string }{
		"MetricsAPIServiceUnavailable": {
			healthy: `aggregator_unavailable_apiservice{name="v1beta1.custom.metrics.k8s.io"} 0x80`,
			broken:  `aggregator_unavailable_apiservice{name="v1beta1.custom.metrics.k8s.io"} 1x80` + "\n" + `aggregator_unavailable_apiservice{name="v1.apps"} 1x80`,
			fires:   `v1beta1.custom.metrics.k8s.io`},
		"PrometheusAdapterDown": {
			healthy: `kube_deployment_status_replicas_available{namespace="monitoring",deployment="prometheus-adapter"} 1x80`,
			broken:  `kube_deployment_status_replicas_available{namespace="monitoring",deployment="prometheus-adapter"} 0x80` + "\n" + `kube_deployment_status_replicas_available{namespace="a",deployment="web"} 0x80`,
			fires:   `deployment="prometheus-adapter"`},
		"PrometheusAdapterRequestsFailing": {
			healthy: `apiserver_request_total{job="prometheus-adapter",group="custom.metrics.k8s.io",code="200"} 0+10x80`,
			broken:  `apiserver_request_total{job="prometheus-adapter",group="custom.metrics.k8s.io",code="500"} 0+10x80`,
			fires:   `group="custom.metrics.k8s.io"`},
		"PrometheusAdapterQueriesSlow": {
			healthy: `prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter",le="1"} 0+10x80` + "\n" +
				`prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter",le="+Inf"} 0+10x80`,
			broken: `prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter",le="1"} 0+0x80` + "\n" +
				`prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter",le="10"} 0+0x80` + "\n" +
				`prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="prometheus-adapter",le="+Inf"} 0+10x80`,
			fires: `job="prometheus-adapter"`},
		"HPAScalingInactive": {
			healthy: `kube_horizontalpodautoscaler_status_condition{namespace="a",horizontalpodautoscaler="web",condition="ScalingActive",status="false"} 0x80`,
			broken:  `kube_horizontalpodautoscaler_status_condition{namespace="a",horizontalpodautoscaler="web",condition="ScalingActive",status="false"} 1x80`,
			fires:   `horizontalpodautoscaler="web"`},
		"HPAHeldAtMaxReplicas": {
			healthy: `kube_horizontalpodautoscaler_status_current_replicas{namespace="a",horizontalpodautoscaler="web"} 3x80` + "\n" +
				`kube_horizontalpodautoscaler_spec_max_replicas{namespace="a",horizontalpodautoscaler="web"} 10x80`,
			broken: `kube_horizontalpodautoscaler_status_current_replicas{namespace="a",horizontalpodautoscaler="web"} 10x80` + "\n" +
				`kube_horizontalpodautoscaler_spec_max_replicas{namespace="a",horizontalpodautoscaler="web"} 10x80`,
			fires: `horizontalpodautoscaler="web"`},
		"KEDAScalerErrors": {
			healthy: `keda_scaler_detail_errors_total{namespace="a",scaledObject="web",scaler="prometheusScaler"} 3x80`,
			broken:  `keda_scaler_detail_errors_total{namespace="a",scaledObject="web",scaler="prometheusScaler"} 0+1x80`,
			fires:   `scaledObject="web"`},
		"KEDAScalerEmptyAnswers": {
			healthy: `keda_scaler_empty_upstream_responses_total{namespace="a",scaledResource="web",triggerName="t",metricName="m"} 2x80`,
			broken:  `keda_scaler_empty_upstream_responses_total{namespace="a",scaledResource="web",triggerName="t",metricName="m"} 0+1x80`,
			fires:   `scaledResource="web"`},
	}
}

// An HPA's series rule passes the parser, fires once the series stops, and
// not while it is there; its alert names the HPA.
func TestSeriesRule(t *testing.T) {
	need := SeriesNeed{Namespace: "default", HPA: "interlok-autoscaler", Metric: "MessageMetrics", Selector: `MessageMetrics{namespace="default",job="interlok"}`}
	rules := SeriesRules([]SeriesNeed{need}, DefaultOptions())
	if err := Validate(RuleFile{Groups: []Group{NewGroup(SeriesGroup, rules)}}); err != nil {
		t.Fatal(err)
	}
	r := rules[0]
	span := r.For + 30*time.Second
	if got := firing(t, r, `MessageMetrics{namespace="default",job="interlok",pod="a"} 5x40`, span); len(got) > 0 {
		t.Errorf("fires while the series is there: %v", got)
	}
	// Pushed for a minute, then gone: stale after 5 minutes of lookback.
	got := firing(t, r, `MessageMetrics{namespace="default",job="interlok",pod="a"} 5x4`+"\n"+`other{} 1x80`, 6*time.Minute+span)
	if len(got) != 1 || !strings.Contains(got[0], `job="interlok"`) {
		t.Errorf("once the series is gone it fires %v, want one alert", got)
	}
	if e := NewGroup(SeriesGroup, rules).Rules[0]; e.Labels["horizontalpodautoscaler"] != "interlok-autoscaler" || e.Labels[LabelCode] != "MS208" {
		t.Errorf("the rule's labels %v do not name the HPA and the check", e.Labels)
	}
}

// An HPA alert's dashboard_url, expanded as Prometheus expands annotations,
// opens the chain's dashboard with the alert's HPA chosen.
func TestDashboardURLExpands(t *testing.T) {
	o := DefaultOptions()
	o.GrafanaURL = "https://grafana.example.com"
	var r Rule
	for _, c := range ClusterRules(o) {
		if c.Alert == "HPAScalingInactive" {
			r = c
		}
	}
	storage := promqltest.LoadedStorage(t, "load 15s\n"+`kube_horizontalpodautoscaler_status_condition{namespace="shop",horizontalpodautoscaler="web",condition="ScalingActive",status="false"} 1x80`)
	t.Cleanup(func() { storage.Close() })
	expr, err := parser.ParseExpr(r.Expr)
	if err != nil {
		t.Fatal(err)
	}
	rule := rules.NewAlertingRule(r.Alert, expr, 0, 0, labels.EmptyLabels(),
		labels.FromStrings(AnnotationDashboardURL, r.Dashboard), labels.EmptyLabels(), "", true, nil)
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 100000)
	if _, err := rule.Eval(context.Background(), 0, time.Unix(60, 0), rules.EngineQueryFunc(engine, storage), nil, 0); err != nil {
		t.Fatal(err)
	}
	active := rule.ActiveAlerts()
	want := "https://grafana.example.com/d/metricscale-autoscaling-chain?var-namespace=shop&var-hpa=web"
	if len(active) != 1 || active[0].Annotations.Get(AnnotationDashboardURL) != want {
		t.Fatalf("alerts %v, want one with dashboard_url %s", active, want)
	}
}
