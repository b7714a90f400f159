package doctor

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/relax"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// emptiedBy looks, for a query q of the adapter that answers nothing for
// the request's objects, for the part of the rule's own that empties it:
// the first relaxation of q (pkg/relax) that answers for them. The
// matchers the adapter renders for the request itself (the namespace, the
// objects, the metric's selector) are the request's and stay. ok is false
// when no single part does it.
func (w *walker) emptiedBy(ctx context.Context, m *hpaMetric, s *simulate.Metric, q string, label pmodel.LabelName) (Finding, bool) {
	rs, err := relax.Query(q, slowestScrape(ctx, w.prom))
	if err != nil {
		return Finding{}, false
	}
	requests := requestLabels(m, s, label)
	for _, r := range rs {
		if name, _, _, ok := splitMatcher(r.Part); r.Kind == relax.KindMatcher && (!ok || requests[name]) {
			continue
		}
		res, err := w.prom.Query(ctx, r.Query)
		if err != nil {
			continue
		}
		vec := forObjects(vectorOf(res), label, m.names)
		if len(vec) == 0 {
			continue
		}
		f := newFinding(CodeQueryPartEmpties, m.obj, s.Rule.Label(), m.name, r.Kind, r.Part).
			withEvidence("query: "+q, "without "+r.Part+": "+r.Query, "result: "+vectorString(vec, 3))
		return f.withFix(w.partFix(ctx, m, s, r, label)), true
	}
	return Finding{}, false
}

// requestLabels are the labels of the matchers the adapter renders for the
// request: the namespace's, the objects', the metric selector's.
func requestLabels(m *hpaMetric, s *simulate.Metric, label pmodel.LabelName) map[string]bool {
	out := map[string]bool{string(label): true}
	if ns, err := s.Rule.Namer.LabelForResource(naming.NsGroupResource); err == nil {
		out[string(ns)] = true
	}
	if m.req.MetricSelector != nil {
		reqs, _ := m.req.MetricSelector.Requirements()
		for _, r := range reqs {
			out[r.Key()] = true
		}
	}
	return out
}

// partFix is the rule without the part, when the part can be found in its
// metricsQuery and the corrected rule, rendered as the adapter renders it,
// answers for the objects; otherwise where to look.
func (w *walker) partFix(ctx context.Context, m *hpaMetric, s *simulate.Metric, r relax.Relaxation, label pmodel.LabelName) Fix {
	plain := Fix{Description: fmt.Sprintf("remove %s from %s's metricsQuery (%s), or make the series carry what it requires", r.Part, s.Rule.Label(), s.Rule.Rule.MetricsQuery)}
	if r.Kind == relax.KindRange {
		plain.Description = fmt.Sprintf("give %s's metricsQuery (%s) a range of at least two scrape intervals instead of %s (a rate needs two samples in it)", s.Rule.Label(), s.Rule.Rule.MetricsQuery, r.Part)
	}
	rule := s.Rule.Rule
	fixed, ok := withoutPart(rule.MetricsQuery, r)
	if !ok {
		return plain
	}
	rule.MetricsQuery = fixed
	namers, err := naming.NamersFromConfig([]config.DiscoveryRule{rule}, w.mapper)
	if err != nil {
		return plain
	}
	alt := *s
	altRule := *s.Rule
	altRule.Namer, altRule.Rule = namers[0], rule
	alt.Rule = &altRule
	q, err := m.req.Query(&alt, m.req.Objects(m.queried))
	if err != nil {
		return plain
	}
	res, err := w.prom.Query(ctx, string(q))
	if err != nil || len(forObjects(vectorOf(res), label, m.names)) == 0 {
		return plain
	}
	b, err := yaml.Marshal([]config.DiscoveryRule{rule})
	if err != nil {
		return plain
	}
	return Fix{Description: fmt.Sprintf("remove %s from %s's metricsQuery; the corrected rule (its query answers for %s):", r.Part, s.Rule.Label(), strings.Join(m.names, ", ")), YAML: string(b)}
}

// withoutPart removes a part from a metricsQuery template, where it is
// written there as PromQL writes it give or take spaces and quotes.
func withoutPart(template string, r relax.Relaxation) (string, bool) {
	var pattern string
	switch r.Kind {
	case relax.KindMatcher:
		name, op, value, ok := splitMatcher(r.Part)
		if !ok {
			return "", false
		}
		m := regexp.QuoteMeta(name) + `\s*` + regexp.QuoteMeta(op) + `\s*["'` + "`" + `]` + regexp.QuoteMeta(value) + `["'` + "`" + `]`
		pattern = `\s*,\s*` + m + `|` + m + `\s*,?\s*`
	case relax.KindOffset:
		pattern = `\s+` + strings.ReplaceAll(regexp.QuoteMeta(r.Part), ` `, `\s+`)
	case relax.KindComparison:
		pattern = `\s*` + strings.ReplaceAll(regexp.QuoteMeta(r.Part), ` `, `\s*`)
	default:
		return "", false
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", false
	}
	locs := re.FindAllStringIndex(template, -1)
	if len(locs) != 1 {
		return "", false // not there, or there more than once
	}
	return template[:locs[0][0]] + template[locs[0][1]:], true
}

// splitMatcher splits `name="value"` (=, !=, =~, !~) as labels.Matcher
// writes it.
func splitMatcher(part string) (name, op, value string, ok bool) {
	for _, o := range []string{"!=", "=~", "!~", "="} {
		if i := strings.Index(part, o); i > 0 {
			v := part[i+len(o):]
			if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
				return "", "", "", false
			}
			return part[:i], o, v[1 : len(v)-1], true
		}
	}
	return "", "", "", false
}

// slowestScrape is the longest scrape interval of Prometheus's active
// targets (0: unknown).
func slowestScrape(ctx context.Context, p Prometheus) time.Duration {
	targets, err := p.Targets(ctx)
	if err != nil {
		return 0
	}
	var slowest time.Duration
	for _, t := range targets {
		if d, err := time.ParseDuration(t.ScrapeInterval); err == nil && d > slowest {
			slowest = d
		}
	}
	return slowest
}
