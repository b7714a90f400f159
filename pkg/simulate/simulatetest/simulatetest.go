// Package simulatetest gives tests of the discovery simulation a series
// source without Prometheus: series written as text, and a matcher for the
// selectors adapter rules use. The end-to-end tests run the real
// Prometheus; these are for the pure logic around it.
package simulatetest

import (
	"context"
	"sort"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// Series parses `name{a=1,b=2}` (values unquoted).
func Series(s string) prom.Series {
	name, rest, _ := strings.Cut(s, "{")
	out := prom.Series{Name: name, Labels: pmodel.LabelSet{}}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out.Labels[pmodel.LabelName(k)] = pmodel.LabelValue(v)
		}
	}
	return out
}

// Source answers series and label queries from a fixed set of series, as
// Prometheus does: series sorted by their labels, label values and names
// sorted.
type Source []prom.Series

// Series returns the series any of the selectors matches.
func (src Source) Series(_ context.Context, _ time.Time, sels ...prom.Selector) ([]prom.Series, error) {
	var out []prom.Series
	for _, s := range src {
		for _, sel := range sels {
			ok, err := Matches(string(sel), s)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, s)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return labels.Compare(asLabels(out[i]), asLabels(out[j])) < 0 })
	return out, nil
}

// EachSeries passes on the series any of the selectors matches.
func (src Source) EachSeries(ctx context.Context, start time.Time, each func(prom.Series), sels ...prom.Selector) error {
	out, err := src.Series(ctx, start, sels...)
	for _, s := range out {
		each(s)
	}
	return err
}

// PreferIndex is true: a relist from a Source is built from its label
// requests (SeriesOnly lists its series instead).
func (src Source) PreferIndex(context.Context) bool { return true }

// LabelValues lists the values of label over the series sel matches.
func (src Source) LabelValues(ctx context.Context, start time.Time, label string, sel prom.Selector) ([]string, error) {
	return src.labels(ctx, start, sel, func(s prom.Series) []string {
		if v := asLabels(s).Get(label); v != "" {
			return []string{v}
		}
		return nil
	})
}

// LabelNames lists the label names of the series sel matches.
func (src Source) LabelNames(ctx context.Context, start time.Time, sel prom.Selector) ([]string, error) {
	return src.labels(ctx, start, sel, func(s prom.Series) []string {
		var out []string
		asLabels(s).Range(func(l labels.Label) { out = append(out, l.Name) })
		return out
	})
}

func (src Source) labels(ctx context.Context, start time.Time, sel prom.Selector, of func(prom.Series) []string) ([]string, error) {
	series, err := src.Series(ctx, start, sel)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, s := range series {
		for _, v := range of(s) {
			set[v] = true
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}

// SeriesOnly is src without its label requests: a relist from it lists
// every series.
func (src Source) SeriesOnly() SeriesOnly { return SeriesOnly{src} }

// SeriesOnly answers series requests only.
type SeriesOnly struct{ src Source }

// EachSeries passes on the series any of the selectors matches.
func (s SeriesOnly) EachSeries(ctx context.Context, start time.Time, each func(prom.Series), sels ...prom.Selector) error {
	return s.src.EachSeries(ctx, start, each, sels...)
}

func asLabels(s prom.Series) labels.Labels {
	b := labels.NewScratchBuilder(len(s.Labels) + 1)
	b.Add(labels.MetricName, s.Name)
	for k, v := range s.Labels {
		b.Add(string(k), string(v))
	}
	b.Sort()
	return b.Labels()
}

// Matches reports whether the series selector sel (PromQL's syntax)
// selects s.
func Matches(sel string, s prom.Series) (bool, error) {
	ms, err := parser.ParseMetricSelector(sel)
	if err != nil {
		return false, err
	}
	ls := asLabels(s)
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false, nil
		}
	}
	return true, nil
}
