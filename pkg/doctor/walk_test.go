package doctor

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/grant"
)

func defaultRules(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/default-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const interlokRule = `
- seriesQuery: '{__name__=~"MessageMetrics"}'
  resources:
    overrides:
      k8s_namespace: {resource: namespace}
      k8s_pod_name: {resource: pod}
  name: {matches: "", as: "MessageMetrics"}
  metricsQuery: MessageMetrics
`

func TestWalkMetric(t *testing.T) {
	pods := runningPods("app-1", "app-2")
	type tc struct {
		name      string
		rules     string // appended to the default rules unless noDefaults
		noDefault bool
		series    []string
		old       []string
		api       *fakeAPI
		hpaKind   string // "" Pods; else Object kind (Service)
		metric    string
		queries   map[string]prom.QueryResult
		qerr      error
		promDown  bool
		denied    []schema.GroupResource // what the adapter may not list
		want      string                 // codes, in order
		check     func(t *testing.T, mr MetricReport)
	}
	vec := func(lbls ...pmodel.LabelSet) prom.QueryResult {
		v := pmodel.Vector{}
		for _, l := range lbls {
			v = append(v, &pmodel.Sample{Metric: pmodel.Metric(l), Value: 5})
		}
		return prom.QueryResult{Type: pmodel.ValVector, Vector: &v}
	}
	cases := []tc{
		{
			name:   "interlok: labels k8s_namespace/k8s_pod_name that no rule maps",
			series: []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-1}"},
			api:    &fakeAPI{listed: map[string]bool{}}, metric: "MessageMetrics",
			want: "MS201",
			check: func(t *testing.T, mr MetricReport) {
				f := mustFinding(t, mr.Findings, "MS201")
				if f.Fix == nil || f.Fix.Command != "kubectl metricscale add-rule MessageMetrics --namespace-label k8s_namespace --pod-label k8s_pod_name" {
					t.Fatalf("fix: %+v", f.Fix)
				}
				if ChainPicture(finishChain(mr.Chain)) != "prometheus ✔ → rule ✘ → api · → hpa ✘" {
					t.Fatalf("chain %s", ChainPicture(finishChain(mr.Chain)))
				}
			},
		},
		{
			name:      "a rule selects the series but maps labels they do not carry",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"MessageMetrics\"}'\n  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
			series:    []string{"MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}"},
			api:       &fakeAPI{listed: map[string]bool{}}, metric: "MessageMetrics",
			want: "MS202",
		},
		{
			name:      "name.matches filters the series out",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=~\"Message.*\"}'\n  resources: {template: <<.Resource>>}\n  name: {matches: ^Messages_(.*)$}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
			series:    []string{"MessageMetrics{namespace=default,pod=app-1}"},
			api:       &fakeAPI{listed: map[string]bool{}}, metric: "MessageMetrics",
			want: "MS203",
		},
		{
			// The chart's counter rules select a gauge too and drop it by
			// their name.matches: the gauge rule's miss is the one cause.
			name:   "the chart's counter rules drop a gauge: a note under the finding that matters",
			series: []string{"app_queue{namespace=default,team_service=prom-fake}"},
			api:    &fakeAPI{listed: map[string]bool{}}, metric: "app_queue", hpaKind: "Service",
			want: "MS211",
			check: func(t *testing.T, mr MetricReport) {
				var notes []string
				for _, e := range mr.Findings[0].Evidence {
					if strings.HasPrefix(e, "not a cause: ") {
						notes = append(notes, e)
					}
				}
				if len(notes) != 2 || !strings.Contains(notes[0], "rules[4] selects them too, and its filters (seriesFilters: isNot: .*_seconds_total, name.matches: ^(.*)_total$) drop them") {
					t.Fatalf("notes: %q", notes)
				}
				// team_service's value is the Service's name: it maps it,
				// although no convention names it so.
				if fix := mr.Findings[0].Fix; fix == nil || fix.Command != "kubectl metricscale add-rule app_queue --namespace-label namespace --resource team_service=service" {
					t.Fatalf("fix: %+v", fix)
				}
			},
		},
		{
			name:   "the Service's name only inside a label: relabel, then the rule",
			series: []string{"app_queue{namespace=default,host=prom-fake.default.svc}"},
			api:    &fakeAPI{listed: map[string]bool{}}, metric: "app_queue", hpaKind: "Service",
			want: "MS211",
			check: func(t *testing.T, mr MetricReport) {
				fix := mr.Findings[0].Fix
				want := "- source_labels: [host]\n  regex: '(.+)\\.default\\.svc'\n  target_label: service\n  replacement: '$1'\n"
				if fix == nil || fix.YAML != want || fix.Command != "kubectl metricscale add-rule app_queue --namespace-label namespace --resource service=service" {
					t.Fatalf("fix: %+v", fix)
				}
			},
		},
		{
			// The rule alone would fail every request: "unable to list
			// matching resources". The fix grants the right first.
			name:   "the adapter may not list what the proposed rule maps",
			series: []string{"app_queue{namespace=default,team_service=prom-fake}"},
			api:    &fakeAPI{listed: map[string]bool{}}, metric: "app_queue", hpaKind: "Service",
			denied: []schema.GroupResource{{Resource: "services"}},
			want:   "MS211",
			check: func(t *testing.T, mr MetricReport) {
				lines := strings.Split(mr.Findings[0].Fix.Command, "\n")
				if len(lines) != 3 || !strings.HasPrefix(lines[0], "kubectl create clusterrole metricscale-adapter-read-services ") ||
					!strings.Contains(lines[1], "--serviceaccount=monitoring:prometheus-adapter") ||
					lines[2] != "kubectl metricscale add-rule app_queue --namespace-label namespace --resource team_service=service" {
					t.Fatalf("fix: %+v", mr.Findings[0].Fix)
				}
			},
		},
		{
			name:   "pushed through a Pushgateway scraped without honor_labels",
			series: []string{"MessageMetrics{exported_namespace=default,exported_pod=app-1,namespace=monitoring,pod=pushgateway-0}"},
			// The default rules map namespace/pod: the metric lands on the Pushgateway's pod.
			api: &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}}, metric: "MessageMetrics",
			want: "MS206,MS302",
		},
		{
			name:      "kong: a rule maps namespace/service, which name the scrape target",
			noDefault: true,
			rules: `rules:
- seriesQuery: '{__name__=~"^kong_upstream_latency_ms_(sum|count)",kubernetes_namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}, service: {resource: service}}}
  name: {as: kong_upstream_latency_ms_60s_average}
  metricsQuery: sum(rate(kong_upstream_latency_ms_sum{<<.LabelMatchers>>}[60s:10s])) by (<<.GroupBy>>)
`,
			series: []string{"kong_upstream_latency_ms_sum{exported_namespace=default,exported_service=echo,kubernetes_namespace=default,namespace=kong,service=kong-proxy}"},
			api:    &fakeAPI{listed: map[string]bool{"services/kong_upstream_latency_ms_60s_average": true}},
			metric: "kong_upstream_latency_ms_60s_average", hpaKind: "Service",
			want: "MS206,MS302",
			check: func(t *testing.T, mr MetricReport) {
				y := mr.Findings[0].Fix.YAML
				if !strings.Contains(y, "exported_namespace:") || !strings.Contains(y, "exported_service:") || strings.Contains(y, "\n      namespace:") {
					t.Fatalf("corrected rule:\n%s", y)
				}
				t.Logf("corrected rule:\n%s", y)
			},
		},
		{
			name:      "exported_* labels and no rule",
			noDefault: true, rules: "rules: []\n",
			series: []string{"MessageMetrics{exported_namespace=default,exported_pod=app-1,namespace=monitoring,pod=pushgateway-0}"},
			api:    &fakeAPI{listed: map[string]bool{}}, metric: "MessageMetrics",
			want: "MS206,MS201",
			check: func(t *testing.T, mr MetricReport) {
				f := mustFinding(t, mr.Findings, "MS201")
				if !strings.Contains(f.Fix.Command, "--namespace-label exported_namespace --pod-label exported_pod") {
					t.Fatalf("fix should map the exported labels: %s", f.Fix.Command)
				}
			},
		},
		{
			name:   "the HPA names the counter, the rule serves it without _total",
			series: []string{"http_requests_total{namespace=default,pod=app-1}"},
			api:    &fakeAPI{listed: map[string]bool{"pods/http_requests": true}}, metric: "http_requests_total",
			want: "MS207",
			check: func(t *testing.T, mr MetricReport) {
				if !strings.Contains(mr.Findings[0].Message, `"http_requests"`) {
					t.Fatal(mr.Findings[0].Message)
				}
			},
		},
		{
			name:   "no series at all; a similar metric is served",
			series: []string{"MessageMetric{namespace=default,pod=app-1}"},
			api:    &fakeAPI{listed: map[string]bool{"pods/MessageMetric": true}}, metric: "MessageMetrics",
			want: "MS208",
			check: func(t *testing.T, mr MetricReport) {
				f := mustFinding(t, mr.Findings, "MS208")
				if f.Fix == nil || !strings.Contains(f.Fix.Description, `"MessageMetric"`) || !strings.Contains(strings.Join(f.Evidence, " "), "MessageMetric") {
					t.Fatalf("want a nearest-name suggestion, got %+v", f)
				}
			},
		},
		{
			name: "series older than the adapter's window",
			old:  []string{"MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}"},
			api:  &fakeAPI{listed: map[string]bool{}}, metric: "MessageMetrics",
			want: "MS209",
		},
		{
			name:      "Object metric on a Service, but only pods are mapped",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"prom_fake_value\"}'\n  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
			series:    []string{"prom_fake_value{namespace=default,pod=fake-1,service=prom-fake}"},
			api:       &fakeAPI{listed: map[string]bool{"pods/prom_fake_value": true}}, metric: "prom_fake_value", hpaKind: "Service",
			want: "MS211",
			check: func(t *testing.T, mr MetricReport) {
				f := mustFinding(t, mr.Findings, "MS211")
				if !strings.Contains(f.Fix.Command, "--resource service=service") {
					t.Fatalf("fix %+v", f.Fix)
				}
			},
		},
		{
			name:      "series without a namespace label",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"queue_depth\"}'\n  resources: {overrides: {pod: {resource: pod}}}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
			series:    []string{"queue_depth{pod=app-1}"},
			api:       &fakeAPI{listed: map[string]bool{"pods/queue_depth": true}}, metric: "queue_depth",
			want: "MS205",
		},
		{
			name:   "the current config serves it, the running adapter does not",
			rules:  interlokRule,
			series: []string{"MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}"},
			api:    &fakeAPI{listed: map[string]bool{}}, metric: "MessageMetrics",
			want: "MS212",
			check: func(t *testing.T, mr MetricReport) {
				if mr.Findings[0].Fix.Command != "kubectl rollout restart deployment/prometheus-adapter -n monitoring" {
					t.Fatal(mr.Findings[0].Fix.Command)
				}
			},
		},
		{
			name:   "served with a value for every pod: healthy, milli-quantity decoded",
			rules:  interlokRule,
			series: []string{"MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}", "MessageMetrics{k8s_namespace=default,k8s_pod_name=app-2}"},
			api: &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true},
				values: map[string]*cmv1beta2MetricValueList{"default/pods/MessageMetrics": values("Pod", "app-1", "102312m", "app-2", "150")}},
			metric: "MessageMetrics",
			want:   "MS306",
			check: func(t *testing.T, mr MetricReport) {
				if !mr.Healthy || mr.Current != "126.156 (average)" {
					t.Fatalf("healthy=%v current=%q", mr.Healthy, mr.Current)
				}
				if !strings.Contains(mr.Findings[0].Message, "102.312") {
					t.Fatal(mr.Findings[0].Message)
				}
			},
		},
		{
			name:   "values for one pod of two",
			rules:  interlokRule,
			series: []string{"MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}"},
			api: &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true},
				values: map[string]*cmv1beta2MetricValueList{"default/pods/MessageMetrics": values("Pod", "app-1", "150")}},
			metric: "MessageMetrics",
			want:   "MS304",
		},
		{
			name:   "two series for one pod are summed",
			rules:  interlokRule,
			series: []string{"MessageMetrics{job=a,k8s_namespace=default,k8s_pod_name=app-1}", "MessageMetrics{job=b,k8s_namespace=default,k8s_pod_name=app-1}", "MessageMetrics{job=a,k8s_namespace=default,k8s_pod_name=app-2}"},
			api: &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true},
				values: map[string]*cmv1beta2MetricValueList{"default/pods/MessageMetrics": values("Pod", "app-1", "300", "app-2", "150")}},
			metric: "MessageMetrics",
			want:   "MS305",
		},
		{
			name:      "the metricsQuery aggregates the pod label away",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"jobs\",namespace!=\"\",pod!=\"\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: avg(<<.Series>>{<<.LabelMatchers>>}) by (release)\n",
			series:    []string{"jobs{namespace=default,pod=app-1,release=r1}"},
			api:       &fakeAPI{listed: map[string]bool{"pods/jobs": true}}, metric: "jobs",
			queries: map[string]prom.QueryResult{"avg(jobs": vec(pmodel.LabelSet{"release": "r1"})},
			want:    "MS301",
		},
		{
			name:      "a matcher of the metricsQuery empties it",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"jobs\",namespace!=\"\",pod!=\"\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>,queue=\"a\"}) by (<<.GroupBy>>)\n",
			series:    []string{"jobs{namespace=default,pod=app-1,queue=b}", "jobs{namespace=default,pod=app-2,queue=b}"},
			api:       &fakeAPI{listed: map[string]bool{"pods/jobs": true}}, metric: "jobs",
			queries: map[string]prom.QueryResult{`jobs{namespace="default",pod=~"app-1|app-2"}`: vec(pmodel.LabelSet{"pod": "app-1"}, pmodel.LabelSet{"pod": "app-2"})},
			want:    "MS315",
			check: func(t *testing.T, mr MetricReport) {
				f := mr.Findings[0]
				if !strings.Contains(f.Message, `without the label matcher queue="a"`) || f.Fix == nil ||
					!strings.Contains(f.Fix.YAML, `metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`) {
					t.Fatalf("message %q, fix %+v", f.Message, f.Fix)
				}
			},
		},
		{
			name:      "the metricsQuery fails",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"jobs\",namespace!=\"\",pod!=\"\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>})) by (<<.GroupBy>>)\n",
			series:    []string{"jobs{namespace=default,pod=app-1}"},
			api:       &fakeAPI{listed: map[string]bool{"pods/jobs": true}}, metric: "jobs",
			qerr: errors.New("bad_data: expected type range vector in call to function rate"),
			want: "MS303",
		},
		{
			name:      "served for other pods only",
			noDefault: true,
			rules:     "rules:\n- seriesQuery: '{__name__=\"jobs\",namespace!=\"\",pod!=\"\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
			series:    []string{"jobs{namespace=default,pod=other-1}"},
			api: &fakeAPI{listed: map[string]bool{"pods/jobs": true},
				values: map[string]*cmv1beta2MetricValueList{"default/pods/jobs": values("Pod", "other-1", "3")}},
			metric: "jobs",
			want:   "MS302",
			check: func(t *testing.T, mr MetricReport) {
				ev := strings.Join(mr.Findings[0].Evidence, "\n")
				if !strings.Contains(ev, "pods that do not exist in namespace default: other-1") || !strings.Contains(ev, "query: sum(jobs{") {
					t.Fatalf("evidence:\n%s", ev)
				}
			},
		},
		{
			name:     "Prometheus unreachable: the API's own list still suggests a name",
			promDown: true, noDefault: true,
			api: &fakeAPI{listed: map[string]bool{"pods/messagemetrics": true}}, metric: "MessageMetrics",
			want: "MS404",
			check: func(t *testing.T, mr MetricReport) {
				if !strings.Contains(mr.Findings[0].Message, `did you mean "messagemetrics"?`) {
					t.Fatal(mr.Findings[0].Message)
				}
			},
		},
		{
			name:   "the custom metrics API is down",
			series: []string{"MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}"},
			api:    &fakeAPI{down: "APIService Available=False FailedDiscoveryCheck"}, metric: "MessageMetrics",
			want: "MS407",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProm{ok: !c.promDown, queries: c.queries, qerr: c.qerr}
			for _, s := range c.series {
				p.series = append(p.series, series(s))
			}
			for _, s := range c.old {
				p.old = append(p.old, series(s))
			}
			rules := c.rules
			if !c.noDefault {
				rules = defaultRules(t) + strings.TrimPrefix(c.rules, "\n")
			}
			w := newWalker(t, p, c.api, rules)
			w.adapterSA = grant.ServiceAccount{Namespace: "monitoring", Name: "prometheus-adapter"}
			for _, gr := range c.denied {
				w.adapterDenied[gr] = true
			}
			h, spec := podsHPA(c.metric)
			if c.hpaKind != "" {
				h, spec = objectHPA(c.metric, c.hpaKind, "prom-fake")
			}
			mr := w.walkMetric(context.Background(), h, spec, target{pods: pods, selector: labels.Everything()})
			record(t, mr.Findings)
			if got := codes(mr.Findings); got != c.want {
				for _, f := range mr.Findings {
					t.Logf("%s %s %v", f.Code, f.Message, f.Evidence)
				}
				t.Fatalf("codes %q, want %q", got, c.want)
			}
			if c.check != nil {
				c.check(t, mr)
			}
		})
	}
}

type cmv1beta2MetricValueList = cmv1beta2.MetricValueList

func TestHPAFindings(t *testing.T) {
	cond := func(typ autoscalingv2.HorizontalPodAutoscalerConditionType, st corev1.ConditionStatus, reason, msg string) autoscalingv2.HorizontalPodAutoscalerCondition {
		return autoscalingv2.HorizontalPodAutoscalerCondition{Type: typ, Status: st, Reason: reason, Message: msg}
	}
	cases := []struct {
		name        string
		conds       []autoscalingv2.HorizontalPodAutoscalerCondition
		found       bool
		ready, pods int
		want        string
	}{
		{"healthy", []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", "")}, true, 1, 1, ""},
		{"target missing", nil, false, 0, 0, "MS402"},
		{"pods not ready", nil, true, 0, 2, "MS403"},
		{"metric missing", []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetPodsMetric", "the server could not find the metric m for pods")}, true, 1, 1, "MS401"},
		{"forbidden", []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetPodsMetric",
			`unable to fetch metrics from custom metrics API: pods.custom.metrics.k8s.io "*" is forbidden: User "system:serviceaccount:kube-system:horizontal-pod-autoscaler" cannot get resource "pods/m"`)}, true, 1, 1, "MS114"},
		{"at max", []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.ScalingLimited, corev1.ConditionTrue, "TooManyReplicas", "the desired replica count is more than the maximum replica count")}, true, 5, 5, "MS405"},
		{"cannot get scale", []autoscalingv2.HorizontalPodAutoscalerCondition{cond(autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", "deployments/scale.apps \"x\" not found")}, true, 1, 1, "MS402"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _ := podsHPA("m")
			h.Status.Conditions = c.conds
			ev := corev1.Event{Type: corev1.EventTypeWarning, Reason: "FailedGetPodsMetric", Count: 12, Message: "failed to get pods metric value"}
			fs := hpaFindings(h, c.found, c.ready, c.pods, ev)
			if f := findCodeIn(fs, "MS401"); f != nil && (len(f.Evidence) != 1 || f.Evidence[0] != "event FailedGetPodsMetric (x12): failed to get pods metric value") {
				t.Fatalf("evidence %q", f.Evidence)
			}
			record(t, fs)
			if got := codes(fs); got != c.want {
				t.Fatalf("codes %q, want %q", got, c.want)
			}
		})
	}
	h, spec := objectHPA("m", "Service", "gone")
	f := describedObjectMissing(h, spec)
	record(t, []Finding{f})
	if f.Code != "MS406" || !strings.Contains(f.Message, "Service gone") {
		t.Fatal(f)
	}
}

func findCodeIn(fs []Finding, code string) *Finding {
	for i := range fs {
		if fs[i].Code == code {
			return &fs[i]
		}
	}
	return nil
}

// A status whose ScalingActive condition is failing is not taken on trust,
// even with a value in currentMetrics: doctor sends the controller's
// request, pod selector included, and the metric is healthy only when that
// returns values.
func TestWalkMetricAsksAsTheController(t *testing.T) {
	p := &fakeProm{ok: true, series: []prom.Series{series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}")}}
	h, spec := podsHPA("MessageMetrics")
	v := resource.MustParse("150500m")
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetPodsMetric"}}
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "MessageMetrics"}, Current: autoscalingv2.MetricValueStatus{AverageValue: &v}}}}
	const path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dapp"
	tg := target{pods: runningPods("app-1", "app-2"), selector: labels.SelectorFromSet(labels.Set{"app": "app"})}
	for _, answers := range []bool{true, false} {
		api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}, values: map[string]*cmv1beta2MetricValueList{}}
		if answers {
			api.values[path] = values("Pod", "app-1", "150500m")
		}
		w := newWalker(t, p, api, defaultRules(t)+strings.TrimPrefix(interlokRule, "\n"))
		mr := w.walkMetric(context.Background(), h, spec, tg)
		record(t, mr.Findings)
		if len(api.asked) != 1 || api.asked[0] != path {
			t.Fatalf("requests %q, want the controller's %s", api.asked, path)
		}
		if !answers {
			if mr.Healthy || mr.Request != "" || codes(mr.Findings) != "MS302" {
				t.Fatalf("no values: healthy %v request %q codes %s", mr.Healthy, mr.Request, codes(mr.Findings))
			}
			continue
		}
		// The request answers now, but the HPA's condition still fails:
		// not healthy until its next sync (settle says it is stale).
		if mr.Healthy || mr.Current != "150.5" || mr.Request != path || codes(mr.Findings) != "MS304,MS306" {
			t.Fatalf("healthy %v current %q request %q codes %s", mr.Healthy, mr.Current, mr.Request, codes(mr.Findings))
		}
	}
}

// When the controller computed replicas from the metric on its last sync
// (ScalingActive=True, the value in status.currentMetrics for the same
// selector), its reading is taken: no request per HPA. A currentMetrics
// entry for another selector is not this metric's.
func TestWalkMetricTakesTheControllersReading(t *testing.T) {
	p := &fakeProm{ok: true, series: []prom.Series{series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}")}}
	tg := target{pods: runningPods("app-1"), selector: labels.SelectorFromSet(labels.Set{"app": "app"})}
	v := resource.MustParse("150500m")
	for _, sameSelector := range []bool{true, false} {
		h, spec := podsHPA("MessageMetrics")
		h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"}}
		id := autoscalingv2.MetricIdentifier{Name: "MessageMetrics"}
		if !sameSelector {
			id.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job": "other"}}
		}
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
			Metric: id, Current: autoscalingv2.MetricValueStatus{AverageValue: &v}}}}
		api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}, values: map[string]*cmv1beta2MetricValueList{}}
		w := newWalker(t, p, api, defaultRules(t)+strings.TrimPrefix(interlokRule, "\n"))
		mr := w.walkMetric(context.Background(), h, spec, tg)
		record(t, mr.Findings)
		if sameSelector {
			if len(api.asked) != 0 || !mr.Healthy || mr.Current != "150.5" || codes(mr.Findings) != "MS306" {
				t.Fatalf("asked %q, healthy %v, current %q, codes %s", api.asked, mr.Healthy, mr.Current, codes(mr.Findings))
			}
			continue
		}
		if len(api.asked) != 1 || mr.Healthy {
			t.Fatalf("another selector's reading was taken: asked %q, healthy %v", api.asked, mr.Healthy)
		}
	}
}

func TestSettleStaleCondition(t *testing.T) {
	const path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/m?labelSelector=app%3Dapp"
	stale := func() HPAReport {
		return HPAReport{Findings: []Finding{newFinding(CodeCannotCompute, "x", "FailedGetPodsMetric", "...")},
			Metrics: []MetricReport{{Chain: chain(LinkOK, LinkOK, LinkOK, LinkBroken), Request: path}}}
	}
	hr := stale()
	settle(&hr)
	record(t, hr.Findings)
	if hr.Findings[0].Severity != SeverityWarning || !strings.Contains(hr.Findings[0].Message, "last sync") {
		t.Fatalf("%+v", hr.Findings[0])
	}
	if f := hr.Findings[0]; f.Code != "MS408" || len(f.Evidence) != 2 || f.Evidence[0] != "condition ScalingActive=False FailedGetPodsMetric: ..." ||
		f.Evidence[1] != "GET "+path+" returned values" {
		t.Fatalf("the stale condition is MS408 with the condition and the request as evidence: %+v", f)
	}
	hr = stale()
	hr.Metrics = append(hr.Metrics, MetricReport{Chain: chain(LinkOK, LinkBroken, LinkUnknown, LinkBroken)})
	settle(&hr)
	record(t, hr.Findings)
	if hr.Findings[0].Severity != SeverityError {
		t.Fatal("a metric that is not served keeps MS401 an error")
	}
	// An API link shown as working without the controller's request having
	// answered (MS207: the API serves the metric under another name) is no
	// reason to call the condition stale.
	hr = stale()
	hr.Metrics[0].Request = ""
	settle(&hr)
	if hr.Findings[0].Code != "MS401" {
		t.Fatal("only a request that returned values makes the condition stale")
	}
}

// A Pods metric's selector is part of the request and of the adapter's
// query, which is about every Running pod the target selects; an invalid
// selector is reported, and nothing is requested.
func TestWalkMetricSelector(t *testing.T) {
	const rule = "rules:\n- seriesQuery: '{__name__=\"jobs\",namespace!=\"\",pod!=\"\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n"
	p := &fakeProm{ok: true, series: []prom.Series{series("jobs{job=a,namespace=default,pod=app-1}")}}
	api := &fakeAPI{listed: map[string]bool{"pods/jobs": true}, values: map[string]*cmv1beta2MetricValueList{
		"/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/jobs?labelSelector=app%3Dapp&metricLabelSelector=job%3Da": values("Pod", "app-1", "3")}}
	w := newWalker(t, p, api, rule)
	tg := target{pods: runningPods("app-1"), running: []string{"app-1", "app-3"}, selector: labels.SelectorFromSet(labels.Set{"app": "app"})}
	walk := func(sel *metav1.LabelSelector) MetricReport {
		h, spec := podsHPA("jobs")
		spec.Pods.Metric.Selector = sel
		h.Spec.Metrics[0] = spec
		mr := w.walkMetric(context.Background(), h, spec, tg)
		record(t, mr.Findings)
		return mr
	}
	if mr := walk(&metav1.LabelSelector{MatchLabels: map[string]string{"job": "a"}}); !mr.Healthy || mr.Current != "3" {
		t.Fatalf("job=a: healthy %v current %q findings %s", mr.Healthy, mr.Current, codes(mr.Findings))
	}
	mr := walk(&metav1.LabelSelector{MatchLabels: map[string]string{"job": "b"}})
	if mr.Healthy || codes(mr.Findings) != "MS302" {
		t.Fatalf("job=b: healthy %v findings %s", mr.Healthy, codes(mr.Findings))
	}
	if want := `sum(jobs{job="b",namespace="default",pod=~"app-1|app-3"}) by (pod)`; p.lastQ != want {
		t.Fatalf("query\n got %s\nwant %s", p.lastQ, want)
	}
	if f := mr.Findings[0]; f.Fix == nil || !strings.Contains(f.Fix.Description, "pods.metric.selector") {
		t.Fatalf("the fix should name the selector: %+v", f.Fix)
	}
	asked := len(api.asked)
	mr = walk(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "job", Operator: "Near"}}})
	if mr.Healthy || codes(mr.Findings) != "MS409" || len(api.asked) != asked {
		t.Fatalf("invalid selector: healthy %v findings %s, %d requests", mr.Healthy, codes(mr.Findings), len(api.asked)-asked)
	}
}

// An Object metric on a Deployment: the adapter lists it with its group
// (deployments.apps/backlog) and the controller asks for
// /namespaces/NS/deployments.apps/NAME/backlog; doctor finds it listed and
// asks the same.
func TestWalkMetricGroupResource(t *testing.T) {
	p := &fakeProm{ok: true, series: []prom.Series{series("backlog{namespace=default,deployment=worker}")}}
	h, spec := objectHPA("backlog", "Deployment", "worker")
	spec.Object.DescribedObject.APIVersion = "apps/v1"
	h.Spec.Metrics[0] = spec
	const path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/deployments.apps/worker/backlog"
	api := &fakeAPI{listed: map[string]bool{"deployments.apps/backlog": true}, values: map[string]*cmv1beta2MetricValueList{path: values("Deployment", "worker", "7")}}
	w := newWalker(t, p, api, defaultRules(t))
	mr := w.walkMetric(context.Background(), h, spec, target{})
	record(t, mr.Findings)
	if len(api.asked) != 1 || api.asked[0] != path || mr.Current != "7" || mr.Request != path {
		t.Fatalf("asked %q, current %q, request %q, findings %s", api.asked, mr.Current, mr.Request, codes(mr.Findings))
	}
}
