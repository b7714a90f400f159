package doctor

import (
	"context"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate/simulatetest"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var series = simulatetest.Series

// fakeProm answers series queries from a fixed set of series with
// timestamps, and queries from a table.
type fakeProm struct {
	ok      bool
	series  []prom.Series
	old     []prom.Series // seen only before the adapter's window
	queries map[string]prom.QueryResult
	qerr    error
	lastQ   string
	targets []prometheus.Target
}

func (p *fakeProm) Targets(context.Context) ([]prometheus.Target, error) { return p.targets, nil }

// EachSeries implements simulate.SeriesSource over the series in the window.
func (p *fakeProm) EachSeries(ctx context.Context, since time.Time, each func(prom.Series), sels ...prom.Selector) error {
	return simulatetest.Source(p.series).EachSeries(ctx, since, each, sels...)
}

func (p *fakeProm) OK() bool { return p.ok }

// SeriesBetween lists the series of a name in the window, as of start.
func (p *fakeProm) SeriesBetween(ctx context.Context, name string, start, _ time.Time) ([]prom.Series, error) {
	return p.SeriesNamed(ctx, name, start)
}
func (p *fakeProm) SeriesNamed(_ context.Context, name string, since time.Time) ([]prom.Series, error) {
	var out []prom.Series
	pool := p.series
	if since.Before(now.Add(-30 * time.Minute)) {
		pool = append(append([]prom.Series{}, p.series...), p.old...)
	}
	for _, s := range pool {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out, nil
}
func (p *fakeProm) Query(_ context.Context, q string) (prom.QueryResult, error) {
	p.lastQ = q
	if p.qerr != nil {
		return prom.QueryResult{}, p.qerr
	}
	for k, v := range p.queries {
		if strings.Contains(q, k) {
			return v, nil
		}
	}
	return prom.QueryResult{Type: pmodel.ValVector, Vector: &pmodel.Vector{}}, nil
}
func (p *fakeProm) MetricNames(context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]prom.Series{}, p.series...), p.old...) {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	return out, nil
}

type fakeAPI struct {
	down   string
	listed map[string]bool
	values map[string]*cmv1beta2.MetricValueList
	asked  []string // the paths of the requests sent
}

func (a *fakeAPI) Available() (bool, string) { return a.down == "", a.down }
func (a *fakeAPI) Listed(r, m string) bool   { return a.listed[r+"/"+m] }
func (a *fakeAPI) ListedNames(r string) []string {
	var out []string
	for k := range a.listed {
		if rr, m, _ := strings.Cut(k, "/"); rr == r {
			out = append(out, m)
		}
	}
	return out
}

// Values answers a request from values by its path, or, for a request
// without a metric selector, by namespace/resource/metric.
func (a *fakeAPI) Values(_ context.Context, req hpareq.Request) (*cmv1beta2.MetricValueList, error) {
	a.asked = append(a.asked, req.Path())
	if v, ok := a.values[req.Path()]; ok {
		return v, nil
	}
	if v, ok := a.values[req.Namespace+"/"+req.Resource.Resource+"/"+req.Metric]; ok && req.MetricSelector.Empty() {
		return v, nil
	}
	return &cmv1beta2.MetricValueList{}, nil
}

func values(kind string, kv ...string) *cmv1beta2.MetricValueList {
	l := &cmv1beta2.MetricValueList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l.Items = append(l.Items, cmv1beta2.MetricValue{DescribedObject: corev1.ObjectReference{Kind: kind, Name: kv[i]}, Value: resource.MustParse(kv[i+1])})
	}
	return l
}

func loadRules(t *testing.T, y string) *config.MetricsDiscoveryConfig {
	t.Helper()
	var cfg config.MetricsDiscoveryConfig
	if err := yaml.UnmarshalStrict([]byte(y), &cfg); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

func podsHPA(metric string) (*autoscalingv2.HorizontalPodAutoscaler, autoscalingv2.MetricSpec) {
	spec := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: metric},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)}}}
	return hpa(spec), spec
}

func objectHPA(metric, kind, name string) (*autoscalingv2.HorizontalPodAutoscaler, autoscalingv2.MetricSpec) {
	spec := autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
		Metric:          autoscalingv2.MetricIdentifier{Name: metric},
		DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: kind, Name: name},
		Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: resource.NewQuantity(40, resource.DecimalSI)}}}
	return hpa(spec), spec
}

func hpa(spec autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "app", APIVersion: "apps/v1"},
			MaxReplicas: 5, Metrics: []autoscalingv2.MetricSpec{spec}},
	}
}

func runningPods(names ...string) []corev1.Pod {
	var out []corev1.Pod
	for _, n := range names {
		out = append(out, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "default"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}})
	}
	return out
}

func codes(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return strings.Join(out, ",")
}

func newWalker(t *testing.T, p *fakeProm, api *fakeAPI, rules string) *walker {
	t.Helper()
	var disc *simulate.Discovery
	if rules != "" {
		disc = simulate.Run(context.Background(), p, loadRules(t, rules), kubetest.DiscoveryMapper(), 10*time.Minute, now, simulate.KeepAll)
	}
	return &walker{api: api, prom: p, disc: disc, mapper: kubetest.DiscoveryMapper(), maxAge: 10 * time.Minute, now: now, adapterRef: "monitoring/prometheus-adapter", seriesWindow: time.Hour,
		targets: fakeTargets{"default/Deployment/app": runningPods("app-1", "app-2")}, adapterDenied: map[schema.GroupResource]bool{}}
}

func mustFinding(t *testing.T, fs []Finding, code string) Finding {
	t.Helper()
	for _, f := range fs {
		if f.Code == code {
			return f
		}
	}
	t.Fatalf("no %s among %s", code, codes(fs))
	return Finding{}
}

func configFromYAML(raw string) (*config.MetricsDiscoveryConfig, error) {
	return config.FromYAML([]byte(raw))
}
