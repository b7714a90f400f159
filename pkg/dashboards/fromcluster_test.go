package dashboards

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// sampleHPAMetrics are HPA metrics as the provision command finds them: a
// Pods metric, an Object metric and an External metric, two on one HPA.
var sampleHPAMetrics = []HPAMetric{
	{
		Namespace: "shop", HPA: "checkout", Metric: "queue_depth",
		Query:  `sum(queue_depth{queue="orders"})`,
		Target: 30,
	},
	{
		Namespace: "default", HPA: "interlok-autoscaler", Metric: "MessageMetrics",
		Query:  `sum(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"interlok-5dbc46597b-6ch78"}) by (k8s_pod_name)`,
		Target: 100,
	},
	{
		Namespace: "shop", HPA: "checkout", Metric: "http_requests_per_second",
		Query:  `sum(rate(http_requests_total{namespace="shop",service="checkout"}[2m])) by (service)`,
		Target: 0.5,
	},
}

func TestChainDashboardGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []HPAMetric
	}{
		{"one-metric", sampleHPAMetrics[1:2]},
		{"three-metrics", sampleHPAMetrics},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChainDashboard(tc.items, Options{})
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "chain-"+tc.name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./pkg/dashboards -run %s -update writes it)", err, t.Name())
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ChainDashboard differs from %s (rerun with -update if the change is meant):\n%s", golden, got)
			}
		})
	}
}

// TestChainDashboardDeterministic: the same HPA metrics in any order give
// byte-identical JSON, so a rerun of --from-cluster changes nothing.
func TestChainDashboardDeterministic(t *testing.T) {
	want, err := ChainDashboard(sampleHPAMetrics, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		items := slices.Clone(sampleHPAMetrics)
		r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		got, err := ChainDashboard(items, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("order %v gives other JSON:\n%s\nwant:\n%s", items, got, want)
		}
	}
}

func TestChainDashboardDoesNotReorderInput(t *testing.T) {
	items := slices.Clone(sampleHPAMetrics)
	if _, err := ChainDashboard(items, Options{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(items, sampleHPAMetrics) {
		t.Errorf("ChainDashboard reordered its argument: %v", items)
	}
}

func TestAllDeterministic(t *testing.T) {
	first, err := All()
	if err != nil {
		t.Fatal(err)
	}
	second, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(second) {
		t.Fatalf("%d dashboards, then %d", len(first), len(second))
	}
	for i := range first {
		if first[i].UID != second[i].UID || !bytes.Equal(first[i].JSON, second[i].JSON) {
			t.Errorf("dashboard %s differs between two builds", first[i].UID)
		}
	}
}

func TestChainDashboardRejects(t *testing.T) {
	valid := sampleHPAMetrics[1]
	with := func(edit func(*HPAMetric)) []HPAMetric {
		m := valid
		edit(&m)
		return []HPAMetric{m}
	}
	for _, tc := range []struct {
		name  string
		items []HPAMetric
		want  string
	}{
		{"nothing", nil, "no HPA metrics"},
		{"no namespace", with(func(m *HPAMetric) { m.Namespace = "" }), "namespace and name are both required"},
		{"no HPA name", with(func(m *HPAMetric) { m.HPA = "" }), "namespace and name are both required"},
		{"no metric", with(func(m *HPAMetric) { m.Metric = "" }), "metric name is empty"},
		{"no query", with(func(m *HPAMetric) { m.Query = "" }), "query is empty"},
		{"bad query", with(func(m *HPAMetric) { m.Query = "sum(rate(x[2m])" }), "is not valid PromQL"},
		{"NaN target", with(func(m *HPAMetric) { m.Target = math.NaN() }), "not a finite number"},
		{"infinite target", with(func(m *HPAMetric) { m.Target = math.Inf(1) }), "not a finite number"},
		{"twice", []HPAMetric{valid, valid}, "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChainDashboard(tc.items, Options{})
			if err == nil {
				t.Fatalf("no error; got %d bytes of JSON", len(got))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
