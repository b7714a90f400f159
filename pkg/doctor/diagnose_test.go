package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	adapterchain "github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/hpainput"
	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

func (a *fakeAPI) Count() int { return len(a.listed) }

// fakeTargets holds the Running pods of scale targets by
// namespace/Kind/name; a target not in it does not exist. Every described
// object exists.
type fakeTargets map[string][]corev1.Pod

func (f fakeTargets) PodsOf(_ context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error) {
	pods, ok := f[ns+"/"+ref.Kind+"/"+ref.Name]
	return pods, ok, nil
}

// PodSelector selects app=<name>, as a Deployment of the scale target's
// name would.
func (f fakeTargets) PodSelector(_ context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (labels.Selector, error) {
	if _, ok := f[ns+"/"+ref.Kind+"/"+ref.Name]; !ok {
		return nil, errors.New("no such target")
	}
	return labels.SelectorFromSet(labels.Set{"app": ref.Name}), nil
}

// ScaleOf states as many replicas as the target has pods, selecting
// app=<name>.
func (f fakeTargets) ScaleOf(_ context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (hpainput.Scale, error) {
	pods, ok := f[ns+"/"+ref.Kind+"/"+ref.Name]
	if !ok {
		return hpainput.Scale{}, errors.New("no such target")
	}
	n := int32(len(pods))
	return hpainput.Scale{SpecReplicas: n, StatusReplicas: n, Selector: "app=" + ref.Name}, nil
}

func (f fakeTargets) ControllerPods(_ context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error) {
	pods, ok := f[ns+"/"+ref.Kind+"/"+ref.Name]
	return pods, ok, nil
}

func (fakeTargets) ObjectExists(context.Context, string, autoscalingv2.CrossVersionObjectReference) (bool, error) {
	return true, nil
}

// Exists finds a pod among the pods of every target of its namespace; other
// objects exist.
func (f fakeTargets) Exists(_ context.Context, gr schema.GroupResource, ns, name string) (bool, error) {
	if gr.Resource == "namespaces" {
		return !strings.HasPrefix(name, "deleted-"), nil // deleted-*: namespaces that are gone
	}
	if gr.Resource != "pods" {
		return true, nil
	}
	for key, pods := range f {
		if !strings.HasPrefix(key, ns+"/") {
			continue
		}
		for _, p := range pods {
			if p.Name == name {
				return true, nil
			}
		}
	}
	return false, nil
}

const adapterPromURL = "http://prometheus-server.monitoring.svc:80/"

// collected is what Collect reads from the sandbox's monitoring stack: the
// custom metrics APIService available, one Ready adapter pod, the given
// rules, Prometheus reached through the service proxy; no HPAs yet.
func collected(t *testing.T, p *fakeProm, api *fakeAPI, rules string) *Collected {
	t.Helper()
	cfg := loadRules(t, rules)
	a := &adapter.Adapter{Namespace: "monitoring", Name: "prometheus-adapter", Image: "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
		PrometheusURL: adapterPromURL, ConfigPath: "/etc/adapter/config.yaml", ConfigMap: "prometheus-adapter", ConfigKey: "config.yaml",
		RelistInterval: time.Minute, MaxAge: time.Minute,
		Pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-adapter-1"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}}}
	ch := &adapterchain.Chain{Adapter: a, Config: &adapter.Config{Parsed: cfg}, PrometheusURL: adapterPromURL, PrometheusSource: adapterchain.SourceAdapter,
		Prometheus: &prometheus.Connection{URL: adapterPromURL, Via: prometheus.ViaServiceProxy, Status: 200}, Window: time.Minute}
	ch.Discovery = simulate.Run(context.Background(), p, cfg, kubetest.DiscoveryMapper(), 10*time.Minute, now, simulate.KeepAll)
	return &Collected{Now: now, SeriesWindow: time.Hour, ServerMinor: -1,
		APIServices: []APIService{{Name: CustomAPIService, Present: true, Available: true, Reason: "Passed", Service: "monitoring/prometheus-adapter"}, {Name: ExternalAPIService}, {Name: ResourceAPIService}},
		Chain:       ch, Mapper: kubetest.DiscoveryMapper(), API: api, Prometheus: p, Targets: fakeTargets{}}
}

// Diagnose decides doctor's exit code (HasErrors): a chain that serves the
// HPA's metric has no error, each broken link has one.
func TestDiagnoseDecidesExit(t *testing.T) {
	healthyAPI := func() *fakeAPI {
		return &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true},
			values: map[string]*cmv1beta2MetricValueList{"default/pods/MessageMetrics": values("Pod", "interlok-1", "150")}}
	}
	cases := []struct {
		name       string
		rules      string
		api        *fakeAPI
		edit       func(*Collected)
		wantErrors bool
		wantCodes  []string
	}{
		{name: "served", rules: defaultRules(t) + strings.TrimPrefix(interlokRule, "\n"), api: healthyAPI()},
		{name: "no rule selects the series", rules: defaultRules(t), api: &fakeAPI{listed: map[string]bool{}}, wantErrors: true, wantCodes: []string{"MS201"}},
		{name: "no adapter", rules: defaultRules(t) + strings.TrimPrefix(interlokRule, "\n"), api: healthyAPI(), edit: func(in *Collected) {
			in.Chain = &adapterchain.Chain{AdapterErr: errors.New("no prometheus-adapter Deployment found in any namespace")}
		}, wantErrors: true, wantCodes: []string{"MS107"}},
		{name: "scale target gone", rules: defaultRules(t) + strings.TrimPrefix(interlokRule, "\n"), api: healthyAPI(), edit: func(in *Collected) { in.Targets = fakeTargets{} }, wantErrors: true, wantCodes: []string{"MS402"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProm{ok: true, series: []prom.Series{series("MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=interlok-1}")}}
			in := collected(t, p, c.api, c.rules)
			h, _ := podsHPA("MessageMetrics")
			h.Spec.ScaleTargetRef.Name = "interlok"
			h.Status.CurrentReplicas = 1
			in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{*h}
			in.Targets = fakeTargets{"default/Deployment/interlok": runningPods("interlok-1")}
			if c.edit != nil {
				c.edit(in)
			}
			r, err := Diagnose(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var all []Finding
			all = append(all, r.Findings...)
			for _, hr := range r.HPAs {
				all = append(all, hr.Findings...)
				for _, m := range hr.Metrics {
					all = append(all, m.Findings...)
				}
			}
			record(t, all)
			if r.HasErrors() != c.wantErrors {
				t.Fatalf("HasErrors %v, want %v; findings %s", r.HasErrors(), c.wantErrors, codes(all))
			}
			for _, code := range c.wantCodes {
				mustFinding(t, all, code)
			}
		})
	}
}

// An HPA's FailedGetPodsMetric is explained away as stale (MS408) only when
// doctor sent the controller's own request, metric selector and pod
// selector included, and got values: a selector that matches no series
// leaves the HPA broken (exit 1) even though the metric without the
// selector has a value.
func TestStaleOnlyWhenTheControllersRequestAnswers(t *testing.T) {
	const base = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dinterlok"
	for _, c := range []struct {
		job        string
		wantErrors bool
		want       string
	}{
		{job: "nope", wantErrors: true, want: "MS401"},
		{job: "interlok", wantErrors: false, want: "MS408"},
	} {
		t.Run(c.job, func(t *testing.T) {
			in, api := failedSelectorCase(t, c.job)
			r, err := Diagnose(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			hr := r.HPAs[0]
			record(t, hr.Findings)
			record(t, hr.Metrics[0].Findings)
			want := base + "&metricLabelSelector=job%3D" + c.job
			if len(api.asked) != 1 || api.asked[0] != want {
				t.Fatalf("requests %q, want the controller's %s", api.asked, want)
			}
			if r.HasErrors() != c.wantErrors || hr.Metrics[0].Healthy {
				t.Fatalf("errors %v (want %v), metric healthy %v; findings %s / %s", r.HasErrors(), c.wantErrors, hr.Metrics[0].Healthy, codes(hr.Findings), codes(hr.Metrics[0].Findings))
			}
			f := mustFinding(t, hr.Findings, c.want)
			if c.want == "MS408" && !strings.Contains(strings.Join(f.Evidence, "\n"), "GET "+want+" returned values") {
				t.Fatalf("MS408's evidence does not name the request: %q", f.Evidence)
			}
			if c.want == "MS401" {
				nv := mustFinding(t, hr.Metrics[0].Findings, "MS302")
				ev := strings.Join(nv.Evidence, "\n")
				if !strings.Contains(ev, "GET "+want) || !strings.Contains(ev, "query: ") || !strings.Contains(ev, "matches 0 of the 1 series") {
					t.Fatalf("MS302's evidence should name the request, the query with the selector and the mismatch:\n%s", ev)
				}
			}
		})
	}
}

// failedSelectorCase is an HPA whose Pods metric selects job; the
// controller's last sync failed (no metrics returned). The adapter answers
// the metric without a selector and with job=interlok; job=nope matches no
// series.
func failedSelectorCase(t *testing.T, job string) (*Collected, *fakeAPI) {
	t.Helper()
	const base = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dinterlok"
	p := &fakeProm{ok: true, series: []prom.Series{series("MessageMetrics{job=interlok,k8s_namespace=default,k8s_pod_name=interlok-1}")}}
	api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true}, values: map[string]*cmv1beta2MetricValueList{
		base: values("Pod", "interlok-1", "150"),
		base + "&metricLabelSelector=job%3Dinterlok": values("Pod", "interlok-1", "150"),
	}}
	in := collected(t, p, api, defaultRules(t)+strings.TrimPrefix(interlokRule, "\n"))
	h, _ := podsHPA("MessageMetrics")
	h.Spec.ScaleTargetRef.Name = "interlok"
	h.Spec.Metrics[0].Pods.Metric.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"job": job}}
	h.Status.CurrentReplicas = 1
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetPodsMetric",
		Message: "the HPA was unable to compute the replica count: unable to get metric MessageMetrics: no metrics returned from custom metrics API"}}
	in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{*h}
	in.Targets = fakeTargets{"default/Deployment/interlok": runningPods("interlok-1")}
	return in, api
}

// With -A (ControllerView) a metric the controller failed to read is judged
// from the controller's answer: no request is sent, the evidence says whose
// answer it is, and the query is still run and judged.
func TestControllerViewTakesTheControllersFailure(t *testing.T) {
	in, api := failedSelectorCase(t, "nope")
	in.ControllerView = true
	r, err := Diagnose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(api.asked) != 0 {
		t.Fatalf("requests %q: want none, the controller's last reading stands", api.asked)
	}
	hr := r.HPAs[0]
	record(t, hr.Findings)
	record(t, hr.Metrics[0].Findings)
	mustFinding(t, hr.Findings, "MS401")
	ev := strings.Join(mustFinding(t, hr.Metrics[0].Findings, "MS302").Evidence, "\n")
	if !strings.Contains(ev, "no metrics returned from custom metrics API (the HPA controller's answer at its last sync)") || !strings.Contains(ev, "matches 0 of the 1 series") {
		t.Fatalf("MS302's evidence should give the controller's answer and the mismatch:\n%s", ev)
	}
}
