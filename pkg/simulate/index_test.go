package simulate

import (
	"context"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate/simulatetest"
)

// fuzzNames and fuzzLabels are what FuzzRelistFromIndex's series are made
// of: names the chart's and the colliding rules treat differently, and
// labels that name namespaced and cluster-scoped resources, namespaces, and
// nothing.
var (
	fuzzNames  = []string{"http_requests_total", "http_errors_total", "http_latency_seconds_total", "http_latency_bucket", "kube_node_info", "kube_pod_status", "up", "queue_depth"}
	fuzzLabels = []pmodel.LabelName{"namespace", "pod", "node", "service", "job", "persistentvolume", "kernel", "deployment"}
)

// fuzzSeries makes a series of each two bytes: a name, and which labels it
// carries (two values each, so that series of a name differ).
func fuzzSeries(data []byte) simulatetest.Source {
	var src simulatetest.Source
	for i := 0; i+1 < len(data); i += 2 {
		s := prom.Series{Name: fuzzNames[int(data[i])%len(fuzzNames)], Labels: pmodel.LabelSet{}}
		for j, l := range fuzzLabels {
			if data[i+1]&(1<<j) != 0 {
				s.Labels[l] = pmodel.LabelValue([]string{"a", "b"}[(int(data[i])/len(fuzzNames))%2])
			}
		}
		src = append(src, s)
	}
	return src
}

// FuzzRelistFromIndex: a relist from Prometheus's index serves what the
// adapter's code serves from the series, and keeps the same series.
func FuzzRelistFromIndex(f *testing.F) {
	f.Add([]byte{0, 3, 1, 3, 4, 1 << 2, 4, 1<<2 | 1, 6, 1, 6, 1<<4 | 1, 5, 0xff, 7, 1 << 7, 3, 3})
	f.Add([]byte{8, 3, 0, 1 << 1, 2, 1<<3 | 1, 12, 1 << 5})
	// kube_node_info of a pod without a namespace, and with one.
	f.Add([]byte{4, 1 << 1, 12, 1<<1 | 1, 4, 1<<3 | 1<<4})
	f.Fuzz(func(t *testing.T, data []byte) {
		src := fuzzSeries(data)
		for _, text := range []string{chartRules, collidingRules} {
			cfg := loadConfig(t, text)
			wantMetrics, wantCollisions, wantSeries := reference(t, src, cfg)
			keepNames := []string{"http_requests", "up", "kube_node_info"}
			d := Run(context.Background(), src, cfg, kubetest.DiscoveryMapper(), time.Hour, time.Now(), KeepMetrics(keepNames...))
			if err := sameAsAdapter(d, keepNames, wantMetrics, wantCollisions, wantSeries); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// countingSource counts the series requests and what they answer.
type countingSource struct {
	simulatetest.Source
	requests, series, asked int
}

func (c *countingSource) PreferIndex(ctx context.Context) bool {
	c.asked++
	return c.Source.PreferIndex(ctx)
}

func (c *countingSource) EachSeries(ctx context.Context, start time.Time, each func(prom.Series), sels ...prom.Selector) error {
	c.requests++
	return c.Source.EachSeries(ctx, start, func(s prom.Series) { c.series++; each(s) }, sels...)
}

// TestRelistFromIndexListsOnlyTheKept: the series of names nobody keeps
// are never listed; with nothing kept, no series request is sent at all.
func TestRelistFromIndexListsOnlyTheKept(t *testing.T) {
	cfg := chartConfig(t)
	for _, c := range []struct {
		name         string
		keep         Keep
		requests     int
		seriesListed int
	}{
		{"nothing kept", nil, 0, 0},
		{"one metric", KeepMetrics("http_requests"), 1, 1},
		{"everything", KeepAll, 2, len(clusterSeries) + 1},
	} {
		src := &countingSource{Source: clusterSeries}
		Run(context.Background(), src, cfg, kubetest.DiscoveryMapper(), time.Hour, time.Now(), c.keep)
		if src.requests != c.requests || src.series != c.seriesListed {
			t.Errorf("%s: %d series requests listing %d series, want %d listing %d", c.name, src.requests, src.series, c.requests, c.seriesListed)
		}
		if src.asked != 1 {
			t.Errorf("%s: asked %d times whether to use the index, want once per relist", c.name, src.asked)
		}
	}
}

// staleIndex is a Prometheus whose index still holds series that stopped
// before the window: its label requests answer for them, its series
// requests do not.
type staleIndex struct {
	simulatetest.Source
	stale simulatetest.Source
}

func (s staleIndex) LabelValues(ctx context.Context, start time.Time, label string, sel prom.Selector) ([]string, error) {
	return append(s.Source, s.stale...).LabelValues(ctx, start, label, sel)
}

func (s staleIndex) LabelNames(ctx context.Context, start time.Time, sel prom.Selector) ([]string, error) {
	return append(s.Source, s.stale...).LabelNames(ctx, start, sel)
}

// TestRelistFromIndexKeptAreExact: a metric the caller keeps is served only
// when its series are in the window, as the adapter serves it, although
// the index still names them; a metric nobody keeps is counted from the
// index.
func TestRelistFromIndexKeptAreExact(t *testing.T) {
	src := staleIndex{Source: clusterSeries, stale: simulatetest.Source{
		simulatetest.Series("queue_depth{namespace=a,pod=p-9}"),
		simulatetest.Series("old_backlog{namespace=a,pod=p-9}"),
	}}
	d := Run(context.Background(), src, chartConfig(t), kubetest.DiscoveryMapper(), time.Hour, time.Now(), KeepMetrics("queue_depth"))
	pods := schema.GroupResource{Resource: "pods"}
	if m := d.Served(pods, "queue_depth"); m != nil {
		t.Errorf("queue_depth served from %s, whose series stopped before the window", m.SeriesName)
	}
	if d.Served(pods, "old_backlog") == nil {
		t.Error("old_backlog, in the index, not counted")
	}
	if d.Served(pods, "http_requests") == nil {
		t.Error("http_requests, in the window, not served")
	}
}
