package simulate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate/simulatetest"
)

// The prometheus-adapter chart's default rules: seriesFilters and name
// matches on every series a namespace label selects.
const chartRules = `
rules:
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: .*_total$
  resources:
    template: <<.Resource>>
  name:
    matches: ""
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: .*_seconds_total
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - is: ^http_
  - isNot: _bucket$
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^(.*)_seconds_total$
    as: "${1}_per_second"
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__="up"}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

var clusterSeries = simulatetest.Source{
	simulatetest.Series("kube_pod_status_phase{namespace=a,pod=p-1,phase=Running,uid=u1}"),
	simulatetest.Series("kube_pod_status_phase{namespace=a,pod=p-2,phase=Running,uid=u2}"),
	simulatetest.Series("http_requests_total{namespace=a,pod=p-1}"),
	simulatetest.Series("http_request_duration_seconds_total{namespace=a,pod=p-1}"),
	simulatetest.Series("http_request_duration_seconds_bucket{namespace=a,pod=p-1,le=1}"),
	simulatetest.Series("grpc_server_handled_seconds_total{namespace=b,pod=p-3}"),
	simulatetest.Series("kube_pod_status_phase{namespace=b,pod=p-3,phase=Pending,uid=u3}"),
	simulatetest.Series("up{namespace=a,job=x}"),
}

func chartConfig(t *testing.T) *config.MetricsDiscoveryConfig {
	t.Helper()
	var cfg config.MetricsDiscoveryConfig
	if err := yaml.UnmarshalStrict([]byte(chartRules), &cfg); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// collidingRules: two rules serving pods/http_requests (the later wins),
// one naming every series alike, an external rule beside them.
const collidingRules = `
rules:
- seriesQuery: '{__name__="http_requests_total",namespace!="",pod!=""}'
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_total$
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"http_.*",namespace!="",pod!=""}'
  seriesFilters:
  - isNot: _bucket$
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^http_.*$
    as: http_requests
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__="up"}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"kube_node_.*"}'
  resources:
    template: <<.Resource>>
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__=~"kube_pod_.*"}'
  resources:
    template: <<.Resource>>
  name:
    matches: ^kube_pod_(.*)$
    as: pods_${1}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
- seriesQuery: '{__name__=~"kube_pod_.*"}'
  resources:
    template: <<.Resource>>
  name:
    as: pods_status_phase
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>})
`

func loadConfig(t *testing.T, text string) *config.MetricsDiscoveryConfig {
	t.Helper()
	var cfg config.MetricsDiscoveryConfig
	if err := yaml.UnmarshalStrict([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// reference is the relist as the adapter's code reads: every series of a
// query in hand, the namer's FilterSeries over them all, then the series
// registry rule after rule. Run names series as they stream in instead.
func reference(t *testing.T, src simulatetest.Source, cfg *config.MetricsDiscoveryConfig) ([]string, []string, map[string][2][]prom.Series) {
	t.Helper()
	var all []config.DiscoveryRule
	all = append(all, cfg.Rules...)
	all = append(all, cfg.ExternalRules...)
	namers, err := naming.NamersFromConfig(all, kubetest.DiscoveryMapper())
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		name, resource string
		namespaced     bool
		external       bool
	}
	var order []key
	last := map[key]string{}
	collided := map[[2]int]int{}
	var collisions []string
	owner := map[key]int{}
	series := map[string][2][]prom.Series{}
	for i, n := range namers {
		external := i >= len(cfg.Rules)
		label := (&Rule{Index: i, External: external}).Label()
		if external {
			label = (&Rule{Index: i - len(cfg.Rules), External: true}).Label()
		}
		selected, _ := src.Series(context.Background(), time.Time{}, n.Selector())
		kept := n.FilterSeries(selected)
		series[label] = [2][]prom.Series{selected, kept}
		note := func(k key, seriesName string) {
			if _, ok := last[k]; !ok {
				order = append(order, k)
			} else if prev := owner[k]; !external && prev != i {
				// Each pair once, on its first resource/metric in order.
				c := k.resource + "/" + k.name
				if at, ok := collided[[2]int{prev, i}]; !ok {
					collided[[2]int{prev, i}] = len(collisions)
					collisions = append(collisions, c)
				} else if c < collisions[at] {
					collisions[at] = c
				}
			}
			owner[k] = i
			last[k] = fmt.Sprintf("%s %s/%s namespaced=%v from %s", label, k.resource, k.name, k.namespaced, seriesName)
		}
		for _, s := range kept {
			name, err := n.MetricNameForSeries(s)
			if err != nil {
				continue
			}
			if external {
				note(key{name: name, external: true}, s.Name)
				continue
			}
			resources, namespaced := n.ResourcesForSeries(s)
			for _, res := range resources {
				ns := namespaced && res != naming.NsGroupResource && res != naming.NodeGroupResource && res != naming.PVGroupResource
				note(key{name: name, resource: res.String(), namespaced: ns}, s.Name)
			}
		}
	}
	var metrics []string
	for _, k := range order {
		metrics = append(metrics, last[k])
	}
	sort.Strings(metrics)
	return metrics, collisions, series
}

func described(d *Discovery) (metrics, collisions []string) {
	for _, m := range d.Metrics {
		metrics = append(metrics, fmt.Sprintf("%s %s/%s namespaced=%v from %s", m.Rule.Label(), m.Resource.String(), m.Name, m.Namespaced, m.SeriesName))
	}
	sort.Strings(metrics)
	for _, c := range d.Collisions {
		collisions = append(collisions, c.Resource+"/"+c.Metric)
	}
	return metrics, collisions
}

// TestRunIsTheAdapters: the streamed relist serves the metrics, collisions
// and series the adapter's own code gives over whole answers, whatever it
// keeps; it keeps exactly the series of the names asked for.
func TestRunIsTheAdapters(t *testing.T) {
	src := append(simulatetest.Source{}, clusterSeries...)
	src = append(src,
		simulatetest.Series("http_requests_total{namespace=b,pod=p-3}"),
		simulatetest.Series("http_errors_total{namespace=a,pod=p-1}"),
		// Cluster-scoped resources, and a label that names none.
		simulatetest.Series("kube_node_info{node=n1,persistentvolume=v1}"),
		simulatetest.Series("kube_node_info{node=n2,persistentvolume=v2,kernel=k}"),
		simulatetest.Series("kube_node_labels{node=n1,namespace=x}"),
	)
	for _, c := range []struct {
		name   string
		config string
	}{{"chart", chartRules}, {"colliding", collidingRules}} {
		t.Run(c.name, func(t *testing.T) {
			cfg := loadConfig(t, c.config)
			wantMetrics, wantCollisions, wantSeries := reference(t, src, cfg)
			for _, keep := range []struct {
				name  string
				keep  Keep
				names []string
			}{{"all", KeepAll, nil}, {"none", nil, []string{}}, {"some", KeepMetrics("http_requests", "up"), []string{"http_requests", "up"}}} {
				for _, from := range []struct {
					name string
					src  SeriesSource
				}{{"index", src}, {"series", src.SeriesOnly()}} {
					d := Run(context.Background(), from.src, cfg, kubetest.DiscoveryMapper(), time.Hour, time.Now(), keep.keep)
					if err := sameAsAdapter(d, keep.names, wantMetrics, wantCollisions, wantSeries); err != nil {
						t.Fatalf("keep %s, from the %s: %v", keep.name, from.name, err)
					}
				}
			}
			if c.name == "colliding" && len(wantCollisions) == 0 {
				t.Fatal("the colliding rules collide nowhere: the test proves nothing about collisions")
			}
		})
	}
}

// sameAsAdapter compares a relist with reference's answer; names: the
// metrics it keeps the series of (nil: all).
func sameAsAdapter(d *Discovery, keepNames, wantMetrics, wantCollisions []string, wantSeries map[string][2][]prom.Series) error {
	metrics, collisions := described(d)
	if !reflect.DeepEqual(metrics, wantMetrics) {
		return fmt.Errorf("metrics\n%s\nthe adapter's:\n%s", strings.Join(metrics, "\n"), strings.Join(wantMetrics, "\n"))
	}
	if !reflect.DeepEqual(collisions, wantCollisions) {
		return fmt.Errorf("collisions %v, the adapter's %v", collisions, wantCollisions)
	}
	for _, r := range d.Rules {
		want := wantSeries[r.Label()]
		if keepNames != nil {
			want = [2][]prom.Series{onlyOf(r, want[0], keepNames), onlyOf(r, want[1], keepNames)}
		}
		if !sameSeries(r.Selected, want[0]) || !sameSeries(r.Kept, want[1]) {
			return fmt.Errorf("%s kept %v of %v selected, want %v of %v", r.Label(), names(r.Kept), names(r.Selected), names(want[1]), names(want[0]))
		}
	}
	return nil
}

// onlyOf is the series of names (by series name or by the metric r names
// them: a series its filters drop is not named).
func onlyOf(r *Rule, series []prom.Series, names []string) []prom.Series {
	var out []prom.Series
	for _, s := range series {
		var metric string
		if len(r.Namer.FilterSeries([]prom.Series{s})) == 1 {
			metric, _ = r.Namer.MetricNameForSeries(s)
		}
		if slices.Contains(names, s.Name) || slices.Contains(names, metric) {
			out = append(out, s)
		}
	}
	return out
}

func sameSeries(a, b []prom.Series) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// TestRunMetrics: the chart's rules over a cluster's series serve what
// the adapter's naming code says, once per (resource, metric), each
// seriesQuery sent once.
func TestRunMetrics(t *testing.T) {
	d := Run(context.Background(), clusterSeries, chartConfig(t), kubetest.DiscoveryMapper(), time.Hour, time.Now(), nil)
	var got []string
	for _, m := range d.Metrics {
		got = append(got, m.Resource.String()+"/"+m.Name)
	}
	// rules[0]: names without _total; rules[1]: _total but not
	// _seconds_total, renamed without it; rules[2]: http_ and not _bucket,
	// _seconds_total renamed _per_second; rules[3]: up for its namespace.
	// grpc_server_handled_seconds_total: no rule keeps it.
	want := []string{
		"namespaces/kube_pod_status_phase", "pods/kube_pod_status_phase",
		"namespaces/http_request_duration_seconds_bucket", "pods/http_request_duration_seconds_bucket",
		"namespaces/http_requests", "pods/http_requests",
		"namespaces/http_request_duration_per_second", "pods/http_request_duration_per_second",
		"namespaces/up",
	}
	if !sameSet(got, want) {
		t.Fatalf("metrics %v\nwant %v", got, want)
	}
	if d.Queries != 2 {
		t.Fatalf("%d series queries, want 2 (one per distinct seriesQuery)", d.Queries)
	}
}

func names(ss []prom.Series) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// brokenSource passes its series on, then fails: an answer cut short.
type brokenSource struct{ simulatetest.Source }

func (b brokenSource) EachSeries(ctx context.Context, start time.Time, each func(prom.Series), sels ...prom.Selector) error {
	_ = b.Source.EachSeries(ctx, start, each, sels...)
	return errors.New("unexpected EOF")
}

// TestRunQueryFailsWhole: series read before an answer broke serve
// nothing, as the adapter's relist fails the query whole.
func TestRunQueryFailsWhole(t *testing.T) {
	d := Run(context.Background(), brokenSource{clusterSeries}, chartConfig(t), kubetest.DiscoveryMapper(), time.Hour, time.Now(), KeepAll)
	if len(d.Metrics) != 0 || len(d.Collisions) != 0 {
		t.Fatalf("metrics %d, collisions %d from failed queries, want none", len(d.Metrics), len(d.Collisions))
	}
	for _, r := range d.Rules {
		if r.QueryError == nil || len(r.Selected)+len(r.Kept) != 0 {
			t.Fatalf("%s: error %v, %d series kept", r.Label(), r.QueryError, len(r.Selected)+len(r.Kept))
		}
	}
}
