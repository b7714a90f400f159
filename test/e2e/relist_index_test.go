package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// indexed relists from the sandbox Prometheus's index whatever its size
// (the assertion: a relist from it is built from the index, or the test
// does not compile).
var _ simulate.IndexSource = indexed{}

type indexed struct{ *prometheus.Connection }

func (indexed) PreferIndex(context.Context) bool { return true }

// seriesOnly relists from the series, as the adapter does.
type seriesOnly struct{ c *prometheus.Connection }

func (s seriesOnly) EachSeries(ctx context.Context, start time.Time, each func(prom.Series), sels ...prom.Selector) error {
	return s.c.EachSeries(ctx, start, each, sels...)
}

// TestRelistFromIndexOnPrometheus: on the real Prometheus, a relist built
// from its index (its label endpoints, as doctor does on a large
// Prometheus) serves every metric the adapter's relist from the series
// serves, and the metric kept for an HPA exactly as the series do: the same
// series, the same rule, the same series name.
func TestRelistFromIndexOnPrometheus(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "relist-")
	metric := "relist_probe_" + suffix
	body := fmt.Sprintf("# TYPE %s gauge\n%s{namespace=%q,pod=\"probe-0\"} 1\n%s{namespace=%q,pod=\"probe-1\"} 2\n", metric, metric, ns, metric, ns)
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "relist-probe", map[string]string{"instance": ns}, body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePushGroup(t, "job/relist-probe/instance/"+ns) })
	clients, err := kube.NewClients(env.rest, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := prometheus.Connect(ctx, clients, env.info.PrometheusURL)
	if !conn.OK() {
		t.Fatalf("Prometheus: %s", conn.Error)
	}
	cfg, err := config.FromYAML([]byte(adapterConfig(t)))
	if err != nil {
		t.Fatal(err)
	}
	pods := schema.GroupResource{Resource: "pods"}
	eventually(t, time.Minute, "Prometheus has "+metric, func(ctx context.Context) error {
		if v, err := promVector(ctx, "count("+metric+")"); err != nil || len(v) == 0 || v[0].Value != 2 {
			return fmt.Errorf("count(%s): %v %v", metric, v, err)
		}
		return nil
	})
	now := time.Now()
	keep := simulate.KeepMetrics(metric)
	fromSeries := simulate.Run(ctx, seriesOnly{conn}, cfg, clients.Mapper, 10*time.Minute, now, keep)
	fromIndex := simulate.Run(ctx, indexed{conn}, cfg, clients.Mapper, 10*time.Minute, now, keep)
	want := fromSeries.Served(pods, metric)
	got := fromIndex.Served(pods, metric)
	if want == nil || got == nil || got.SeriesName != want.SeriesName || got.Rule.Label() != want.Rule.Label() || got.Namespaced != want.Namespaced {
		t.Fatalf("%s from the index: %+v; from the series: %+v", metric, got, want)
	}
	for i, r := range fromSeries.Rules {
		ri := fromIndex.Rules[i]
		if r.QueryError != nil || ri.QueryError != nil {
			t.Fatalf("%s: from the series %v, from the index %v", r.Label(), r.QueryError, ri.QueryError)
		}
		if a, b := seriesText(r.Kept), seriesText(ri.Kept); a != b {
			t.Errorf("%s kept from the series:\n%s\nfrom the index:\n%s", r.Label(), a, b)
		}
	}
	indexMetrics := map[string]bool{}
	for _, m := range fromIndex.Metrics {
		indexMetrics[m.Rule.Label()+" "+m.Resource.String()+"/"+m.Name] = true
	}
	for _, m := range fromSeries.Metrics {
		if k := m.Rule.Label() + " " + m.Resource.String() + "/" + m.Name; !indexMetrics[k] {
			t.Errorf("%s served from the series, not from the index", k)
		}
	}
	t.Logf("%d metrics from the series, %d from the index (which also holds series that stopped before the window)", len(fromSeries.Metrics), len(fromIndex.Metrics))
}

func seriesText(ss []prom.Series) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name+s.Labels.String())
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
