// Package simulatetest gives tests of the discovery simulation a series
// source without Prometheus: series written as text, and a matcher for the
// selectors adapter rules use. The end-to-end tests run the real
// Prometheus; these are for the pure logic around it.
package simulatetest

import (
	"context"
	"regexp"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
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

// Source answers series queries from a fixed set of series.
type Source []prom.Series

// Series returns the series any of the selectors matches.
func (src Source) Series(_ context.Context, _ time.Time, sels ...prom.Selector) ([]prom.Series, error) {
	var out []prom.Series
	for _, s := range src {
		for _, sel := range sels {
			if Matches(string(sel), s) {
				out = append(out, s)
				break
			}
		}
	}
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

// Matches reports whether the selector {__name__="x",l=~"re",l!="",...}
// (matchers joined by commas, no commas inside values) selects s.
func Matches(sel string, s prom.Series) bool {
	for _, m := range strings.Split(strings.Trim(strings.TrimSpace(sel), "{}"), ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		var l, op, v string
		for _, o := range []string{"!~", "=~", "!=", "="} {
			if a, b, ok := strings.Cut(m, o); ok {
				l, op, v = strings.TrimSpace(a), o, strings.Trim(strings.TrimSpace(b), `"`)
				break
			}
		}
		got := string(s.Labels[pmodel.LabelName(l)])
		if l == "__name__" {
			got = s.Name
		}
		switch op {
		case "=":
			if got != v {
				return false
			}
		case "!=":
			if got == v {
				return false
			}
		case "=~", "!~":
			if regexp.MustCompile("^(?:"+v+")$").MatchString(got) != (op == "=~") {
				return false
			}
		}
	}
	return true
}
