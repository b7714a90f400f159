package doctor

import (
	"context"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	emfake "k8s.io/metrics/pkg/client/external_metrics/fake"

	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
)

type fakeExternal struct {
	down   string
	values map[string]*emv1beta1.ExternalMetricValueList // by namespace/metric
	err    error
	asked  []string
}

func (e *fakeExternal) Available() (bool, string) { return e.down == "", e.down }
func (e *fakeExternal) Values(_ context.Context, req hpareq.Request) (*emv1beta1.ExternalMetricValueList, error) {
	ns, metric := req.Namespace, req.Metric
	e.asked = append(e.asked, ns+"/"+metric+"?"+req.MetricSelector.String())
	if e.err != nil {
		return nil, e.err
	}
	if v, ok := e.values[ns+"/"+metric]; ok {
		return v, nil
	}
	return &emv1beta1.ExternalMetricValueList{}, nil
}

func externalValues(vs ...string) *emv1beta1.ExternalMetricValueList {
	l := &emv1beta1.ExternalMetricValueList{}
	for _, v := range vs {
		l.Items = append(l.Items, emv1beta1.ExternalMetricValue{MetricName: "m", Value: resource.MustParse(v)})
	}
	return l
}

func externalHPA(metric string, selector map[string]string) (*autoscalingv2.HorizontalPodAutoscaler, autoscalingv2.MetricSpec) {
	spec := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: metric},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(30, resource.DecimalSI)}}}
	if selector != nil {
		spec.External.Metric.Selector = &metav1.LabelSelector{MatchLabels: selector}
	}
	return hpa(spec), spec
}

const queueRule = `
externalRules:
- seriesQuery: '{__name__="queue_depth",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func TestWalkExternal(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "external.metrics.k8s.io", Resource: "queue_depth"}, "")
	cases := []struct {
		name     string
		rules    string
		series   []string
		ext      *fakeExternal
		promDown bool
		selector map[string]string
		status   bool // the controller read the metric on its last sync
		failing  bool // ... but its ScalingActive condition is False now
		want     string
		chain    string
		current  string
		check    func(t *testing.T, mr MetricReport, e *fakeExternal)
	}{
		// The controller computed replicas from the metric on its last sync
		// (ScalingActive=True): its reading is taken, no request repeated.
		{name: "the controller's own reading", series: []string{"queue_depth{namespace=default}"}, rules: queueRule,
			ext: &fakeExternal{}, status: true, chain: "prometheus ✔ → rule ✔ → api ✔ → hpa ✔", current: "42",
			check: func(t *testing.T, mr MetricReport, e *fakeExternal) {
				if len(e.asked) != 0 {
					t.Fatalf("asked the API %v", e.asked)
				}
			}},
		// Without ScalingActive=True the status is not taken on trust: the
		// controller's request is sent, and it returns nothing.
		{name: "a failing controller's status is not trusted: its request returns nothing", series: []string{"queue_depth{namespace=default}"}, rules: queueRule,
			ext: &fakeExternal{}, status: true, failing: true, want: "MS307", chain: "prometheus ✔ → rule ✔ → api ✘ → hpa ✘",
			check: func(t *testing.T, mr MetricReport, e *fakeExternal) {
				if len(e.asked) != 1 || mr.Request != "" {
					t.Fatalf("asked the API %v; request %q", e.asked, mr.Request)
				}
			}},
		{name: "served: the sum of the values", rules: queueRule, series: []string{"queue_depth{namespace=default}"},
			ext:      &fakeExternal{values: map[string]*emv1beta1.ExternalMetricValueList{"default/queue_depth": externalValues("20", "2500m")}},
			selector: map[string]string{"queue": "orders"}, chain: "prometheus ✔ → rule ✔ → api ✔ → hpa ✔", current: "22.5",
			check: func(t *testing.T, mr MetricReport, e *fakeExternal) {
				if len(e.asked) != 1 || e.asked[0] != "default/queue_depth?queue=orders" {
					t.Fatalf("asked %v", e.asked)
				}
				if mr.Request != "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Dorders" {
					t.Fatalf("request %q", mr.Request)
				}
			}},
		{name: "the external API is unavailable though externalRules exist", rules: queueRule, series: []string{"queue_depth{namespace=default}"},
			ext:  &fakeExternal{down: "APIService Available=False FailedDiscoveryCheck: 503"},
			want: "MS407", chain: "prometheus · → rule · → api ✘ → hpa ✘"},
		{name: "the external API is unavailable because the config has no externalRules", series: []string{"queue_depth{namespace=default}"},
			ext:  &fakeExternal{down: "APIService Available=False FailedDiscoveryCheck: 404"},
			want: "MS201", chain: "prometheus ✔ → rule ✘ → api · → hpa ✘",
			check: func(t *testing.T, mr MetricReport, e *fakeExternal) {
				f := mustFinding(t, mr.Findings, "MS201")
				if !strings.Contains(strings.Join(f.Evidence, "\n"), "serves it only when its config has externalRules") || f.Fix == nil || !strings.Contains(f.Fix.Command, "--external") {
					t.Fatalf("finding %+v", f)
				}
				if len(e.asked) != 0 {
					t.Fatalf("asked an unavailable API: %v", e.asked)
				}
			}},
		{name: "series, but no externalRules entry (namespaced)", series: []string{"queue_depth{namespace=default,queue=orders}"},
			ext: &fakeExternal{err: notFound}, want: "MS201", chain: "prometheus ✔ → rule ✘ → api · → hpa ✘",
			check: func(t *testing.T, mr MetricReport, _ *fakeExternal) {
				f := mustFinding(t, mr.Findings, "MS201")
				if f.Fix == nil || f.Fix.Command != "kubectl metricscale add-rule queue_depth --external --namespace-label namespace" || !strings.Contains(f.Fix.YAML, "{resource: namespace}") {
					t.Fatalf("fix %+v", f.Fix)
				}
			}},
		{name: "series without a namespace label: a cluster-wide rule", series: []string{"queue_depth{queue=orders}"},
			ext: &fakeExternal{err: notFound}, want: "MS201",
			check: func(t *testing.T, mr MetricReport, _ *fakeExternal) {
				f := mustFinding(t, mr.Findings, "MS201")
				if f.Fix == nil || f.Fix.Command != "kubectl metricscale add-rule queue_depth --external --namespaced=false" || !strings.Contains(f.Fix.YAML, "namespaced: false") {
					t.Fatalf("fix %+v", f.Fix)
				}
			}},
		{name: "no series: the nearest names", series: []string{"queue_depths{namespace=default}"},
			ext: &fakeExternal{err: notFound}, want: "MS208", chain: "prometheus ✘ → rule · → api · → hpa ✘",
			check: func(t *testing.T, mr MetricReport, _ *fakeExternal) {
				if f := mustFinding(t, mr.Findings, "MS208"); !strings.Contains(strings.Join(f.Evidence, "\n"), "similar metrics: queue_depths") {
					t.Fatalf("evidence %v", f.Evidence)
				}
			}},
		{name: "the config serves it, the running adapter does not", rules: queueRule, series: []string{"queue_depth{namespace=default}"},
			ext: &fakeExternal{err: notFound}, want: "MS212", chain: "prometheus ✔ → rule ✔ → api ✘ → hpa ✘"},
		{name: "served, but not for this namespace", rules: queueRule, series: []string{"queue_depth{namespace=other}"},
			ext: &fakeExternal{}, want: "MS307"},
		{name: "Prometheus unreachable", ext: &fakeExternal{err: notFound}, promDown: true, want: "MS404"},
		{name: "the HPA's selector is invalid", selector: map[string]string{"queue": "not a label value"}, ext: &fakeExternal{}, want: "MS409",
			chain: "prometheus · → rule · → api · → hpa ✘",
			check: func(t *testing.T, _ MetricReport, e *fakeExternal) {
				if len(e.asked) != 0 {
					t.Fatalf("asked the API with an invalid selector: %v", e.asked)
				}
			}},
		{name: "the adapter's config does not parse", rules: "-", series: []string{"queue_depth{namespace=default}"}, ext: &fakeExternal{err: notFound}, want: "MS404"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProm{ok: !c.promDown}
			for _, s := range c.series {
				p.series = append(p.series, series(s))
			}
			rules := "rules: []\n"
			if c.rules != "" && c.rules != "-" {
				rules = "rules: []\n" + strings.TrimPrefix(c.rules, "\n")
			}
			w := newWalker(t, p, &fakeAPI{}, rules)
			if c.rules == "-" {
				w.disc = nil // as Run leaves it when the config does not parse
			}
			w.ext = c.ext
			h, spec := externalHPA("queue_depth", c.selector)
			if c.status {
				h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"}}
				if c.failing {
					h.Status.Conditions[0] = autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetExternalMetric"}
				}
				h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"}, Current: autoscalingv2.MetricValueStatus{AverageValue: resource.NewQuantity(42, resource.DecimalSI)}}}}
			} else if c.want != "" {
				h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetExternalMetric"}}
			}
			mr := w.walkExternal(context.Background(), h, spec)
			record(t, mr.Findings)
			if got := codes(mr.Findings); got != c.want {
				for _, f := range mr.Findings {
					t.Logf("%s %s %v", f.Code, f.Message, f.Evidence)
				}
				t.Fatalf("codes %q, want %q", got, c.want)
			}
			if c.chain != "" && ChainPicture(finishChain(mr.Chain)) != c.chain {
				t.Fatalf("chain %s, want %s", ChainPicture(finishChain(mr.Chain)), c.chain)
			}
			if c.current != "" && mr.Current != c.current {
				t.Fatalf("current %q, want %q", mr.Current, c.current)
			}
			if (c.want == "") != mr.Healthy {
				t.Fatalf("healthy %v with findings %q", mr.Healthy, c.want)
			}
			if c.check != nil {
				c.check(t, mr, c.ext)
			}
		})
	}
}

// TestLiveExternalAPICachesPerRequest: HPAs sharing an external metric in a
// namespace, with the same selector, share one request.
func TestLiveExternalAPICachesPerRequest(t *testing.T) {
	f := &emfake.FakeExternalMetricsClient{}
	f.AddReactor("list", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, externalValues("7"), nil
	})
	a := &liveExternalAPI{client: f, available: true, cache: map[string]externalResult{}}
	orders := labels.SelectorFromSet(labels.Set{"queue": "orders"})
	req := func(ns string, sel labels.Selector) hpareq.Request {
		return hpareq.Request{Type: autoscalingv2.ExternalMetricSourceType, Namespace: ns, Metric: "queue_depth", MetricSelector: sel}
	}
	for i := 0; i < 3; i++ {
		if _, err := a.Values(context.Background(), req("default", orders)); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = a.Values(context.Background(), req("default", labels.Everything()))
	_, _ = a.Values(context.Background(), req("other", orders))
	if n := len(f.Actions()); n != 3 {
		t.Fatalf("%d requests for 3 distinct (namespace, metric, selector), want 3", n)
	}
}
