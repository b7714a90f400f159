package doctor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
)

// TestWhereTheSeriesWent: the API lists the metric but has no value for the
// target's pods, while series exist. doctor names the objects the series
// name, says why each does not count, and gives the fix of the class.
func TestWhereTheSeriesWent(t *testing.T) {
	const rule = `rules:
- seriesQuery: '{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}'
  resources: {overrides: {k8s_namespace: {resource: namespace}, k8s_pod_name: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`
	vec := func(lbls ...pmodel.LabelSet) prom.QueryResult {
		v := pmodel.Vector{}
		for _, l := range lbls {
			v = append(v, &pmodel.Sample{Metric: pmodel.Metric(l), Value: 1})
		}
		return prom.QueryResult{Type: pmodel.ValVector, Vector: &v}
	}
	pushgateway := map[string]prom.QueryResult{
		"push_time_seconds":      vec(pmodel.LabelSet{"__name__": "push_time_seconds", "job": "interlok", "k8s_pod_name": "app-old"}),
		"pushgateway_build_info": vec(pmodel.LabelSet{"job": "prometheus-pushgateway", "instance": "10.0.0.9:9091"}),
	}
	pgTargets := []prometheus.Target{
		{ScrapeURL: "http://10.0.0.8:9090/metrics", Labels: map[string]string{"job": "prometheus", "instance": "10.0.0.8:9090"}},
		{ScrapeURL: "http://10.0.0.9:9091/metrics", Labels: map[string]string{"job": "prometheus-pushgateway", "instance": "10.0.0.9:9091"}},
	}
	for _, c := range []struct {
		name     string
		series   []string
		queries  map[string]prom.QueryResult
		targets  []prometheus.Target
		existing fakeTargets // pods that exist beside the target's
		evidence []string
		fix      []string
		command  string
	}{
		{
			name:     "a Pushgateway group outlived its pod",
			series:   []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}"},
			queries:  pushgateway,
			targets:  pgTargets,
			evidence: []string{"name pods that do not exist in namespace default: app-old", "pushed to the Pushgateway in group /metrics/job/interlok/k8s_pod_name/app-old"},
			fix:      []string{"outlived their pods", "push MessageMetrics from the target's current pods (app-1, app-2)", ".../metrics/job/interlok/k8s_pod_name/<name>"},
			command:  "curl -X DELETE http://10.0.0.9:9091/metrics/job/interlok/k8s_pod_name/app-old",
		},
		{
			// The mapped label names a pod that is gone, but another label
			// names the target's current pod: deleting the group would
			// delete the HPA's data.
			name:     "a live pod named by another label: no deletion",
			series:   []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old,team_pod=app-1}"},
			queries:  pushgateway,
			targets:  pgTargets,
			evidence: []string{"name pods that do not exist in namespace default: app-old"},
			fix:      []string{"not stale: their label team_pod holds the name of the target's current pods", "keep their Pushgateway group"},
			command:  "kubectl metricscale add-rule MessageMetrics --pod-label team_pod",
		},
		{
			// The namespace the series name is gone: so is the pod, and the
			// group is stale; labelling the series is not the fix.
			name:   "a Pushgateway group of a namespace that is gone",
			series: []string{"MessageMetrics{job=interlok,k8s_namespace=deleted-x,k8s_pod_name=app-old}"},
			queries: map[string]prom.QueryResult{
				"push_time_seconds":      vec(pmodel.LabelSet{"__name__": "push_time_seconds", "job": "interlok", "k8s_namespace": "deleted-x", "k8s_pod_name": "app-old"}),
				"pushgateway_build_info": pushgateway["pushgateway_build_info"],
			},
			targets:  pgTargets,
			evidence: []string{"name pods in namespaces that do not exist: deleted-x/app-old"},
			fix:      []string{"outlived their pods"},
			command:  "curl -X DELETE http://10.0.0.9:9091/metrics/job/interlok/k8s_namespace/deleted-x/k8s_pod_name/app-old",
		},
		{
			name:   "a Pushgateway group without the pod in its grouping key",
			series: []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}"},
			queries: map[string]prom.QueryResult{
				"push_time_seconds":      vec(pmodel.LabelSet{"job": "interlok"}),
				"pushgateway_build_info": pushgateway["pushgateway_build_info"],
			},
			targets: pgTargets,
			fix:     []string{"grouping key does not name the pod", "grouping key per object"},
			command: "curl -X DELETE http://10.0.0.9:9091/metrics/job/interlok",
		},
		{
			name:   "the Pushgateway's target labels are not part of the grouping key",
			series: []string{"MessageMetrics{job=interlok,namespace=monitoring,k8s_namespace=default,k8s_pod_name=app-old}"},
			queries: map[string]prom.QueryResult{
				"push_time_seconds":      vec(pmodel.LabelSet{"job": "interlok", "namespace": "monitoring", "k8s_pod_name": "app-old"}),
				"pushgateway_build_info": vec(pmodel.LabelSet{"job": "pgw", "instance": "10.0.0.9:9091", "namespace": "monitoring"}),
			},
			targets: []prometheus.Target{{ScrapeURL: "http://10.0.0.9:9091/metrics", Labels: map[string]string{"job": "pgw", "instance": "10.0.0.9:9091", "namespace": "monitoring"}}},
			command: "curl -X DELETE http://10.0.0.9:9091/metrics/job/interlok/k8s_pod_name/app-old",
		},
		{
			name:     "pushed, but Prometheus scrapes no Pushgateway it can name",
			series:   []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}"},
			queries:  map[string]prom.QueryResult{"push_time_seconds": pushgateway["push_time_seconds"]},
			fix:      []string{"PUSHGATEWAY: the Pushgateway's address"},
			command:  "curl -X DELETE http://PUSHGATEWAY:9091/metrics/job/interlok/k8s_pod_name/app-old",
			evidence: []string{"do not exist in namespace default: app-old"},
		},
		{
			name:     "scraped from pods that are gone, not pushed",
			series:   []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}"},
			evidence: []string{"do not exist in namespace default: app-old"},
			fix:      []string{"their exporter went with them", "current pods (app-1, app-2) do not export MessageMetrics"},
		},
		{
			name:     "series of another namespace",
			series:   []string{"MessageMetrics{job=interlok,k8s_namespace=staging,k8s_pod_name=app-1}"},
			evidence: []string{"name pods in other namespaces: staging/app-1"},
			fix:      []string{"in namespace staging, where the adapter serves them, not in default", "label the series with namespace default"},
		},
		{
			name:     "pods of another workload",
			series:   []string{"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=worker-1}"},
			existing: fakeTargets{"default/Deployment/worker": runningPods("worker-1")},
			evidence: []string{"that the HPA does not read (it reads the pods of Deployment/app): worker-1"},
			fix:      []string{"the HPA does not read (worker-1; it reads the pods of Deployment/app)"},
		},
		{
			name: "each class on its own line, gone first",
			series: []string{
				"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=worker-1}",
				"MessageMetrics{job=interlok,k8s_namespace=staging,k8s_pod_name=app-1}",
				"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}",
				"MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-1}",
			},
			existing: fakeTargets{"default/Deployment/worker": runningPods("worker-1")},
			evidence: []string{"do not exist in namespace default: app-old\n", "other namespaces: staging/app-1\n", "(it reads the pods of Deployment/app): worker-1\n", "name pods the HPA reads: app-1\n"},
			fix:      []string{"their exporter went with them"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProm{ok: true, queries: c.queries, targets: c.targets}
			for _, s := range c.series {
				p.series = append(p.series, series(s))
			}
			api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}, values: map[string]*cmv1beta2.MetricValueList{}}
			w := newWalker(t, p, api, rule)
			tg := fakeTargets{"default/Deployment/app": runningPods("app-1", "app-2")}
			for k, v := range c.existing {
				tg[k] = v
			}
			w.targets = tg
			h, spec := podsHPA("MessageMetrics")
			mr := w.walkMetric(context.Background(), h, spec, target{pods: runningPods("app-1", "app-2"), selector: labels.Everything()})
			record(t, mr.Findings)
			f := mustFinding(t, mr.Findings, "MS302")
			if len(mr.Findings) != 1 {
				t.Fatalf("one finding expected, got %s", codes(mr.Findings))
			}
			ev := strings.Join(f.Evidence, "\n") + "\n"
			for _, want := range c.evidence {
				if !strings.Contains(ev, want) {
					t.Errorf("evidence lacks %q:\n%s", want, ev)
				}
			}
			if f.Fix == nil {
				t.Fatal("no fix")
			}
			for _, want := range c.fix {
				if !strings.Contains(f.Fix.Description, want) {
					t.Errorf("fix lacks %q: %s", want, f.Fix.Description)
				}
			}
			if f.Fix.Command != c.command {
				t.Errorf("fix command %q, want %q", f.Fix.Command, c.command)
			}
		})
	}
}

// TestSomePodsMissingWhereTheSeriesWent: the controller reads the metric
// (one pod has a series), the other pod has none while a pod that is gone
// still has its Pushgateway group: MS304 names it and the DELETE.
func TestSomePodsMissingWhereTheSeriesWent(t *testing.T) {
	const rule = `rules:
- seriesQuery: '{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}'
  resources: {overrides: {k8s_namespace: {resource: namespace}, k8s_pod_name: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`
	vec := func(l pmodel.LabelSet) prom.QueryResult {
		v := pmodel.Vector{&pmodel.Sample{Metric: pmodel.Metric(l), Value: 1}}
		return prom.QueryResult{Type: pmodel.ValVector, Vector: &v}
	}
	p := &fakeProm{ok: true, series: []prom.Series{
		series("MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-1}"),
		series("MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}"),
	}, queries: map[string]prom.QueryResult{
		"push_time_seconds":      vec(pmodel.LabelSet{"job": "interlok", "k8s_pod_name": "app-old"}),
		"pushgateway_build_info": vec(pmodel.LabelSet{"job": "pgw", "instance": "10.0.0.9:9091"}),
	}, targets: []prometheus.Target{{ScrapeURL: "http://10.0.0.9:9091/metrics", Labels: map[string]string{"job": "pgw", "instance": "10.0.0.9:9091"}}}}
	w := newWalker(t, p, &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}}, rule)
	h, spec := podsHPA("MessageMetrics")
	v := resource.MustParse("100")
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"}}
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "MessageMetrics"}, Current: autoscalingv2.MetricValueStatus{AverageValue: &v}}}}
	mr := w.walkMetric(context.Background(), h, spec, target{pods: runningPods("app-1", "app-2"), selector: labels.Everything()})
	record(t, mr.Findings)
	f := mustFinding(t, mr.Findings, "MS304")
	ev := strings.Join(f.Evidence, "\n")
	if !strings.Contains(ev, "no series with label k8s_pod_name for: app-2") || !strings.Contains(ev, "do not exist in namespace default: app-old") ||
		f.Fix == nil || f.Fix.Command != "curl -X DELETE http://10.0.0.9:9091/metrics/job/interlok/k8s_pod_name/app-old" ||
		!strings.Contains(f.Fix.Description, "current pods (app-2)") {
		t.Fatalf("MS304: %s\nfix: %+v", ev, f.Fix)
	}
}

// countedTargets counts the existence lookups.
type countedTargets struct {
	fakeTargets
	lookups *int
}

func (c countedTargets) Exists(ctx context.Context, gr schema.GroupResource, ns, name string) (bool, error) {
	*c.lookups++
	return c.fakeTargets.Exists(ctx, gr, ns, name)
}

// TestWhereTheSeriesWentBounded: a metric exported in fifty other
// namespaces costs at most maxExistenceChecks lookups, and the gone pod of
// the HPA's own namespace, listed last, is still found first.
func TestWhereTheSeriesWentBounded(t *testing.T) {
	const rule = `rules:
- seriesQuery: '{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}'
  resources: {overrides: {k8s_namespace: {resource: namespace}, k8s_pod_name: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`
	p := &fakeProm{ok: true}
	for i := range 50 {
		p.series = append(p.series, series(fmt.Sprintf("MessageMetrics{job=interlok,k8s_namespace=team-%02d,k8s_pod_name=app-1}", i)))
	}
	p.series = append(p.series, series("MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=app-old}"))
	api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}, values: map[string]*cmv1beta2.MetricValueList{}}
	w := newWalker(t, p, api, rule)
	lookups := 0
	w.targets = countedTargets{fakeTargets{"default/Deployment/app": runningPods("app-1", "app-2")}, &lookups}
	h, spec := podsHPA("MessageMetrics")
	mr := w.walkMetric(context.Background(), h, spec, target{pods: runningPods("app-1", "app-2"), selector: labels.Everything()})
	f := mustFinding(t, mr.Findings, "MS302")
	ev := strings.Join(f.Evidence, "\n")
	if lookups > maxExistenceChecks+1 || !strings.Contains(ev, "do not exist in namespace default: app-old") || !strings.Contains(ev, "were not looked up") {
		t.Fatalf("%d lookups (want at most %d); evidence:\n%s", lookups, maxExistenceChecks+1, ev)
	}
}
