package doctor

import (
	"context"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
)

// windowProm serves raw samples of one series every interval up to newest,
// and lists the series from a start after newest only when listsAll.
type windowProm struct {
	fakeProm
	interval time.Duration
	newest   time.Time
	listsAll bool
	asked    []string
	dead     string // a label value whose series has no samples left
}

func (p *windowProm) Query(_ context.Context, q string) (prom.QueryResult, error) {
	p.asked = append(p.asked, q)
	if p.dead != "" && strings.Contains(q, p.dead) {
		m := pmodel.Matrix{}
		return prom.QueryResult{Type: pmodel.ValMatrix, Matrix: &m}, nil
	}
	var vals []pmodel.SamplePair
	for i := 9; i >= 0; i-- {
		vals = append(vals, pmodel.SamplePair{Timestamp: pmodel.TimeFromUnixNano(p.newest.Add(-time.Duration(i) * p.interval).UnixNano()), Value: 1})
	}
	// The live series: the first without the dead label value.
	metric := pmodel.Metric{}
	for _, sr := range p.series {
		if p.dead != "" && strings.Contains(seriesString(sr), p.dead) {
			continue
		}
		for k, v := range sr.Labels {
			metric[k] = v
		}
		metric[pmodel.MetricNameLabel] = pmodel.LabelValue(sr.Name)
		break
	}
	m := pmodel.Matrix{&pmodel.SampleStream{Metric: metric, Values: vals}}
	return prom.QueryResult{Type: pmodel.ValMatrix, Matrix: &m}, nil
}

func (p *windowProm) SeriesBetween(ctx context.Context, name string, start, _ time.Time) ([]prom.Series, error) {
	return p.SeriesNamed(ctx, name, start)
}

func (p *windowProm) SeriesNamed(_ context.Context, name string, since time.Time) ([]prom.Series, error) {
	if since.After(p.newest) && !p.listsAll {
		return nil, nil
	}
	return p.series, nil
}

// TestCheckWindowSkipsGoneSeries: a gone pod's series has no samples left:
// the check reads the series of the name with samples.
func TestCheckWindowSkipsGoneSeries(t *testing.T) {
	gone := series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-old}")
	live := series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}")
	p := &windowProm{fakeProm: fakeProm{ok: true, series: []prom.Series{gone, live}, targets: []prometheus.Target{{ScrapeInterval: "5s"}}},
		interval: 5 * time.Second, newest: now.Add(-time.Second), dead: "app-old"}
	fs := checkWindow(context.Background(), p, windowCheck{window: 2 * time.Second, relist: 2 * time.Second, adapterRef: "monitoring/prometheus-adapter", setMaxAge: setMaxAge(t)},
		map[string]bool{"MessageMetrics": true})
	record(t, fs)
	if codes(fs) != "MS216" || len(p.asked) != 1 || !strings.Contains(strings.Join(fs[0].Evidence, "\n"), "app-1") {
		t.Fatalf("findings %s, queries %v", codes(fs), p.asked)
	}
}

func TestCheckWindow(t *testing.T) {
	s := series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}")
	for _, c := range []struct {
		name           string
		window, scrape time.Duration
		samples        time.Duration
		listsAll       bool
		want           string        // "" none
		queries        int           // queries sent to Prometheus
		shown          time.Duration // the interval the finding names; samples when 0
	}{
		{name: "window shorter than the samples' interval, series listed by their samples", window: 2 * time.Second, scrape: 5 * time.Second, samples: 5 * time.Second,
			want: "MS216", queries: 1},
		{name: "a backend that lists every series it holds never drops one (asked three times)", window: 2 * time.Second, scrape: 5 * time.Second, samples: 5 * time.Second, listsAll: true,
			queries: 3},
		{name: "every job scraped within the window: nothing read", window: time.Minute, scrape: 30 * time.Second, samples: 5 * time.Minute},
		{name: "pushed rarely, though the scrape is frequent: measured from the samples", window: 10 * time.Second, scrape: 15 * time.Second, samples: 2 * time.Minute,
			want: "MS216", queries: 1},
		{name: "a scrape's jitter is not part of the interval named", window: 2 * time.Second, scrape: 5 * time.Second, samples: 5006 * time.Millisecond,
			want: "MS216", queries: 1, shown: 5 * time.Second},
		{name: "samples within the window", window: 10 * time.Second, scrape: 15 * time.Second, samples: 5 * time.Second, queries: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &windowProm{fakeProm: fakeProm{ok: true, series: []prom.Series{s},
				targets: []prometheus.Target{{ScrapeInterval: "1s"}, {ScrapeInterval: pmodel.Duration(c.scrape).String()}}},
				interval: c.samples, newest: now.Add(-time.Second), listsAll: c.listsAll}
			fs := checkWindow(context.Background(), p, windowCheck{window: c.window, relist: c.window, adapterRef: "monitoring/prometheus-adapter", setMaxAge: setMaxAge(t)},
				map[string]bool{"MessageMetrics": true})
			record(t, fs)
			if codes(fs) != c.want {
				t.Fatalf("findings %s, want %q", codes(fs), c.want)
			}
			if len(p.asked) != c.queries {
				t.Fatalf("%d queries, want %d: %v", len(p.asked), c.queries, p.asked)
			}
			if c.want == "" {
				return
			}
			shown := c.shown
			if shown == 0 {
				shown = c.samples
			}
			f := fs[0]
			if !strings.Contains(f.Message, "("+c.window.String()+")") || !strings.Contains(f.Message, "("+shown.String()+")") ||
				!strings.Contains(f.Fix.Description, "--metrics-max-age="+(2*shown).String()) ||
				f.Fix.Command != `kubectl -n monitoring patch deployment prometheus-adapter --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--metrics-max-age=`+(2*shown).String()+`"}]'` {
				t.Fatalf("finding: %+v\nfix: %+v", f, *f.Fix)
			}
			if !strings.Contains(strings.Join(f.Evidence, "\n"), `MessageMetrics{k8s_namespace="default",k8s_pod_name="app-1"}: 10 samples, one every `+shown.String()) {
				t.Fatalf("evidence: %v", f.Evidence)
			}
		})
	}
}

// TestWalkMetricRelistMissedBySamples: the simulated relist saw no series
// of the metric, a sample came in a moment later, and a rule does select
// it: the series were older than the window then (MS209), no rule is
// missing (no MS201), and the window check gets them.
func TestWalkMetricRelistMissedBySamples(t *testing.T) {
	p := &fakeProm{ok: true}
	w := newWalker(t, p, &fakeAPI{listed: map[string]bool{}}, defaultRules(t)+strings.TrimPrefix(interlokRule, "\n"))
	p.series = []prom.Series{series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}")}
	h, spec := podsHPA("MessageMetrics")
	mr := w.walkMetric(context.Background(), h, spec, target{pods: runningPods("app-1"), selector: labels.Everything()})
	record(t, mr.Findings)
	f := mustFinding(t, mr.Findings, "MS209")
	if codes(mr.Findings) != "MS209" || !strings.Contains(strings.Join(f.Evidence, "\n"), "selects them, but the simulated relist a moment before saw none") {
		t.Fatalf("findings %s: %v", codes(mr.Findings), f.Evidence)
	}
	if !w.used["MessageMetrics"] {
		t.Fatalf("the window check does not get the series: %v", w.used)
	}
}

// TestWalkMetricLoadedConfigNotListed: the current config serves the
// metric and the adapter's pods started after the ConfigMap last changed:
// restarting loads nothing new (MS217, not MS212), and the window check
// gets the series.
func TestWalkMetricLoadedConfigNotListed(t *testing.T) {
	p := &fakeProm{ok: true, series: []prom.Series{series("MessageMetrics{k8s_namespace=default,k8s_pod_name=app-1}")}}
	w := newWalker(t, p, &fakeAPI{listed: map[string]bool{}}, defaultRules(t)+strings.TrimPrefix(interlokRule, "\n"))
	w.configLoaded, w.configChanged, w.relist = true, now.Add(-time.Hour), 10*time.Second
	h, spec := podsHPA("MessageMetrics")
	mr := w.walkMetric(context.Background(), h, spec, target{pods: runningPods("app-1"), selector: labels.Everything()})
	record(t, mr.Findings)
	f := mustFinding(t, mr.Findings, "MS217")
	if codes(mr.Findings) != "MS217" || !strings.Contains(f.Fix.Description, "wait one relist (--metrics-relist-interval 10s)") || !w.used["MessageMetrics"] {
		t.Fatalf("findings %s, fix %+v, used %v", codes(mr.Findings), f.Fix, w.used)
	}
}

// setMaxAge is the fixture adapter's command for --metrics-max-age.
func setMaxAge(t *testing.T) func(string) string {
	t.Helper()
	a := adapterFixture(true)
	a.Container = corev1.Container{Name: "prometheus-adapter", Args: []string{"--config=/etc/adapter/config.yaml", "--metrics-relist-interval=2s"}}
	a.Deployment.Spec.Template.Spec.Containers = []corev1.Container{a.Container}
	return func(v string) string { return a.SetFlagCommand("metrics-max-age", v) }
}
