package simulate

import (
	"context"
	"reflect"
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

var relistSeries = simulatetest.Source{
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

// TestFilterByName: the same series as the adapter's FilterSeries, for
// filters that keep all, some or none of a rule's series.
func TestFilterByName(t *testing.T) {
	cfg := chartConfig(t)
	namers, err := naming.NamersFromConfig(cfg.Rules, kubetest.DiscoveryMapper())
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range namers {
		selected, _ := relistSeries.Series(context.Background(), time.Time{}, n.Selector())
		want := n.FilterSeries(selected)
		got := filterByName(n, selected)
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("rules[%d]: kept %v, the adapter's FilterSeries %v", i, names(got), names(want))
		}
	}
}

// TestRunMetrics: the chart's rules over a cluster's series serve what
// the adapter's naming code says, once per (resource, metric), each
// seriesQuery sent once.
func TestRunMetrics(t *testing.T) {
	d := Run(context.Background(), relistSeries, chartConfig(t), kubetest.DiscoveryMapper(), time.Hour, time.Now())
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
