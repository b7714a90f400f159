// Package alerts is the chain's alerting rules, from one definition: each
// rule names the doctor check that explains its cause (its runbook, in
// docs/checks.md), a severity, and the doctor command to run. Rules render
// as a Prometheus rules file or a Prometheus Operator PrometheusRule; both
// pass Prometheus's own rule parser (Validate).
package alerts

import (
	"strings"
	"time"
	"unicode"

	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// Rule is one alerting rule.
type Rule struct {
	Alert string
	// Expr is the PromQL that returns a series per thing in trouble.
	Expr string
	// For is how long Expr must hold before the alert fires.
	For time.Duration
	// Severity is "critical" (the HPA cannot scale) or "warning".
	Severity string
	// Code is the doctor check whose docs/checks.md entry is the runbook.
	Code doctor.Code
	// Watches says what the rule watches, in plain words (a table's column).
	Watches string
	// Summary and Description are Prometheus templates ($labels, $value).
	Summary, Description string
	// Doctor is the command that finds the cause, a Prometheus template.
	Doctor string
	// Labels are added to the alert's (beside severity and the code).
	Labels map[string]string
	// HPA says the alerts carry the HPA's namespace and
	// horizontalpodautoscaler labels.
	HPA bool
	// Dashboard is the URL of the chain's dashboard for the alert, a
	// Prometheus template, or "".
	Dashboard string
}

// Severities.
const (
	Critical = "critical"
	Warning  = "warning"
)

// Options shape the rules.
type Options struct {
	// AdapterJob is the scrape job of prometheus-adapter's own metrics.
	AdapterJob string
	// ForScale multiplies every For (a short one for tests and trials).
	ForScale float64
	// GrafanaURL, when set, is where people open Grafana: each alert links
	// to the "Autoscaling chain" dashboard there, its HPA chosen.
	GrafanaURL string
}

// dashboard is the chain dashboard's URL for an alert of an HPA (both
// given as templates or values), or of the chain itself (both empty).
func (o Options) dashboard(namespace, hpa string) string {
	if o.GrafanaURL == "" {
		return ""
	}
	return dashboards.ChainURL(o.GrafanaURL, namespace, hpa)
}

// Dashboards are the chain's alerts as the dashboards draw them from
// Prometheus's ALERTS series (grafana provision --alerts).
func Dashboards() *dashboards.Alerts {
	return &dashboards.Alerts{Selector: LabelCode + `!=""`, CodeLabel: LabelCode}
}

// DefaultOptions are the rules as shipped.
func DefaultOptions() Options { return Options{AdapterJob: "prometheus-adapter", ForScale: 1} }

// metricsAPIs matches the APIServices of the three metrics APIs.
const metricsAPIs = `v1beta1\\.(custom\\.metrics|external\\.metrics|metrics)\\.k8s\\.io`

// ClusterRules are the rules that watch the chain itself, whatever HPAs
// there are.
func ClusterRules(o Options) []Rule {
	rules := append(adapterRules(o), append(hpaRules(), kedaRules()...)...)
	for i := range rules {
		rules[i].For = scaled(rules[i].For, o.ForScale)
		rules[i].Dashboard = o.dashboard("", "")
		if rules[i].HPA {
			rules[i].Dashboard = o.dashboard("{{ $labels.namespace }}", "{{ $labels.horizontalpodautoscaler }}")
		}
	}
	return rules
}

// adapterRules watch the metrics APIs' plumbing: the APIService and
// prometheus-adapter.
func adapterRules(o Options) []Rule {
	return []Rule{{
		Alert: "MetricsAPIServiceUnavailable", Watches: "a metrics APIService the API server cannot reach", Code: doctor.CodeAPIServiceUnavailable, Severity: Critical, For: 5 * time.Minute,
		Expr:        `max by (name) (aggregator_unavailable_apiservice{name=~"` + metricsAPIs + `"}) == 1`,
		Summary:     "APIService {{ $labels.name }} is unavailable",
		Description: "The API server cannot reach the backend of {{ $labels.name }}: every HPA metric it serves is <unknown> and those HPAs do not scale.",
		Doctor:      "kubectl metricscale doctor -A",
	}, {
		Alert: "PrometheusAdapterDown", Watches: "prometheus-adapter without an available replica", Code: doctor.CodeAdapterNotReady, Severity: Critical, For: 5 * time.Minute,
		Expr:        `sum by (namespace, deployment) (kube_deployment_status_replicas_available{deployment=~"(.+-)?prometheus-adapter"}) == 0`,
		Summary:     "prometheus-adapter {{ $labels.namespace }}/{{ $labels.deployment }} has no available replica",
		Description: "No pod of the adapter is Ready: the custom and external metrics APIs it serves are down, and every HPA on them is frozen at its current size.",
		Doctor:      "kubectl metricscale doctor -A",
	}, {
		Alert: "PrometheusAdapterRequestsFailing", Watches: "the adapter answering the metrics APIs with errors", Code: doctor.CodePrometheusUnreachable, Severity: Critical, For: 5 * time.Minute,
		Expr:        `sum by (job, group) (rate(apiserver_request_total{job="` + o.AdapterJob + `",group=~"(custom|external)\\.metrics\\.k8s\\.io",code=~"5.."}[5m])) > 0`,
		Summary:     "prometheus-adapter answers {{ $labels.group }} with errors",
		Description: "The adapter fails {{ $value | humanize }} requests a second for {{ $labels.group }}: its queries to Prometheus fail (Prometheus lost since the adapter listed its metrics, overloaded, or refusing a metricsQuery), and the HPAs reading those metrics see <unknown>.",
		Doctor:      "kubectl metricscale doctor -A",
	}, {
		// The adapter exports its Prometheus client's latency only where
		// its config has resourceRules (v0.12 installs that /metrics
		// handler with the resource metrics API); elsewhere this rule has
		// no series and stays silent.
		Alert: "PrometheusAdapterQueriesSlow", Watches: "the adapter's Prometheus queries over 5 s (p99)", Code: doctor.CodeAPIServiceTimeout, Severity: Warning, For: 10 * time.Minute,
		Expr:        `histogram_quantile(0.99, sum by (le, job) (rate(prometheus_adapter_prometheus_client_request_duration_seconds_bucket{job="` + o.AdapterJob + `"}[5m]))) > 5`,
		Summary:     "prometheus-adapter's queries to Prometheus are slow",
		Description: "The 99th percentile of the adapter's Prometheus queries is {{ $value | humanizeDuration }}; past the aggregation layer's timeout the metrics APIs answer 503.",
		Doctor:      "kubectl metricscale doctor -A",
	}}
}

// hpaRules watch the HPAs' conditions as kube-state-metrics exports them.
func hpaRules() []Rule {
	return []Rule{{
		Alert: "HPAScalingInactive", HPA: true, Watches: "an HPA whose ScalingActive is False", Code: doctor.CodeCannotCompute, Severity: Critical, For: 10 * time.Minute,
		Expr:        `max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_condition{condition="ScalingActive",status="false"}) == 1`,
		Summary:     "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} cannot compute replicas",
		Description: "Its ScalingActive condition has been False for 10 minutes: it reads no metric value and holds its workload at its current size.",
		Doctor:      "kubectl metricscale doctor {{ $labels.horizontalpodautoscaler }} -n {{ $labels.namespace }}",
	}, {
		Alert: "HPAHeldAtMaxReplicas", HPA: true, Watches: "an HPA running at its maxReplicas", Code: doctor.CodeAtMaxReplicas, Severity: Warning, For: 15 * time.Minute,
		Expr: `max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas)` +
			` >= max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas)`,
		Summary:     "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} is held at maxReplicas",
		Description: "It has run at its maxReplicas for 15 minutes: the load asks for more than it may give.",
		Doctor:      "kubectl metricscale doctor {{ $labels.horizontalpodautoscaler }} -n {{ $labels.namespace }}",
	}}
}

// kedaRules watch KEDA's scalers.
func kedaRules() []Rule {
	return []Rule{{
		Alert: "KEDAScalerErrors", Watches: "a KEDA scaler erring", Code: doctor.CodeTriggerQueryFails, Severity: Critical, For: 5 * time.Minute,
		Expr:        `sum by (namespace, scaledObject, scaler) (rate(keda_scaler_detail_errors_total[5m])) > 0`,
		Summary:     "KEDA scaler {{ $labels.scaler }} of {{ $labels.namespace }}/{{ $labels.scaledObject }} fails",
		Description: "The scaler errs {{ $value | humanize }} times a second: KEDA falls back or keeps the last value, and the HPA it feeds does not follow the load.",
		Doctor:      "kubectl metricscale doctor -n {{ $labels.namespace }}",
	}, {
		Alert: "KEDAScalerEmptyAnswers", Watches: "a KEDA trigger whose query returns no data", Code: doctor.CodeTriggerNoData, Severity: Warning, For: 10 * time.Minute,
		Expr:        `sum by (namespace, scaledResource, triggerName, metricName) (rate(keda_scaler_empty_upstream_responses_total[5m])) > 0`,
		Summary:     "KEDA trigger {{ $labels.triggerName }} of {{ $labels.namespace }}/{{ $labels.scaledResource }} gets empty answers",
		Description: "Its query returns no data: with ignoreNullValues KEDA reads 0 and scales in; without it the trigger errs.",
		Doctor:      "kubectl metricscale doctor -n {{ $labels.namespace }}",
	}}
}

// scaled is d times scale, whole seconds, at least one.
func scaled(d time.Duration, scale float64) time.Duration {
	if scale <= 0 || scale == 1 {
		return d
	}
	return max(time.Second, time.Duration(float64(d)*scale).Truncate(time.Second))
}

// RunbookBase is where the checks' documentation is published.
const RunbookBase = "https://github.com/metricscale/kubectl-metricscale/blob/main/docs/checks.md"

// Runbook is the URL of a check's entry in docs/checks.md: its heading's
// anchor, as GitHub makes it ("## MS102 metrics APIService is not
// available" → #ms102-metrics-apiservice-is-not-available).
func Runbook(code doctor.Code) string {
	return RunbookBase + "#" + anchor(string(code)+" "+doctor.Checks[code].Title)
}

// anchor is GitHub's anchor of a heading: lower case, spaces to dashes,
// other punctuation dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
