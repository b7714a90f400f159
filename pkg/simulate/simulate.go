// Package simulate runs prometheus-adapter's metric discovery against live
// Prometheus series with the adapter's own naming code, so that doctor sees
// exactly the metrics the adapter would serve for a config, and why a
// series becomes (or does not become) one.
//
// One relist sends one series request per distinct seriesQuery and applies
// the adapter's pkg/naming for filters, names and resources. Each series is
// named as it streams in and then dropped unless the caller's Keep asks for
// it (doctor: the series of its HPAs' metrics; add-rule: all of its rule's;
// chain.Load: none). The registry is built rule after rule as the adapter's
// is (TestRunIsTheAdapters compares with the adapter's code over whole
// answers). A rule's seriesFilters and metric name are worked out once per
// series name, since they read only the name, and its resources once per
// label name, since the adapter's answer for a series is the union of its
// answers for each label alone: the RESTMapper is asked about each label
// name once per rule, not for every label of every series.
package simulate

import (
	"context"
	"sort"
	"strconv"
	"time"

	pmodel "github.com/prometheus/common/model"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"
)

// SeriesSource lists series as the adapter's relist does, passing each on
// as it is read; on an error, those passed before it do not count.
type SeriesSource interface {
	EachSeries(ctx context.Context, start time.Time, each func(prom.Series), selectors ...prom.Selector) error
}

// Keep chooses the series a relist keeps on its rules (Rule.Selected,
// Rule.Kept) by the series' name and the metric the rule names it (empty
// when the rule does not name it). Every series counts towards the metrics
// served either way: keeping only what the caller will look at keeps a
// relist over a cluster's 75,000 series in a few megabytes. A nil Keep
// keeps none.
type Keep func(series, metric string) bool

// KeepAll keeps every series.
func KeepAll(string, string) bool { return true }

// KeepMetrics keeps the series named one of names, or named by their rule
// one of names.
func KeepMetrics(names ...string) Keep {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return func(series, metric string) bool { return set[series] || (metric != "" && set[metric]) }
}

// Rule is one discovery rule and what it selected.
type Rule struct {
	Index    int                  `json:"index"`
	External bool                 `json:"external,omitempty"`
	Rule     config.DiscoveryRule `json:"-"`
	// Namer is the adapter's compiled rule; nil when BuildError is set.
	Namer      naming.MetricNamer `json:"-"`
	BuildError error              `json:"-"`
	// Selected is what the seriesQuery returned; Kept is what survives
	// seriesFilters and name.matches. Both hold only the series Run's Keep
	// chose.
	Selected []prom.Series `json:"-"`
	Kept     []prom.Series `json:"-"`
	// QueryError is Prometheus's error for the seriesQuery.
	QueryError error `json:"-"`
}

// Label is how a rule is named to people: "rules[3]" or "externalRules[0]".
func (r *Rule) Label() string {
	if r.External {
		return "externalRules[" + strconv.Itoa(r.Index) + "]"
	}
	return "rules[" + strconv.Itoa(r.Index) + "]"
}

// Metric is one metric the adapter would serve.
type Metric struct {
	Name       string
	Resource   schema.GroupResource // empty for external metrics
	Namespaced bool
	SeriesName string
	Rule       *Rule
}

// Discovery is the simulated result of one relist.
type Discovery struct {
	Since   time.Time
	Rules   []*Rule
	Metrics []Metric
	// Queries counts the series requests made (one per distinct seriesQuery).
	Queries int
	// Collisions are metrics that two rules produce for the same resource.
	Collisions []Collision
}

// Collision is a (resource, metric) produced by two rules; the adapter keeps
// the later one.
type Collision struct {
	Metric        string
	Resource      string
	First, Second *Rule
}

// Run simulates one relist of cfg: every rule's seriesQuery is sent once
// (identical queries once in all), with start = now - maxAge. Series are
// named as they are read; keep says which of them the rules keep.
func Run(ctx context.Context, src SeriesSource, cfg *config.MetricsDiscoveryConfig, mapper apimeta.RESTMapper, maxAge time.Duration, now time.Time, keep Keep) *Discovery {
	d := &Discovery{Since: now.Add(-maxAge), Rules: rulesOf(cfg, mapper)}
	if keep == nil {
		keep = func(string, string) bool { return false }
	}
	// Rules with the same seriesQuery share its request.
	var queries []string
	byQuery := map[string][]*ruleNames{}
	names := make([]*ruleNames, len(d.Rules))
	for i, r := range d.Rules {
		names[i] = &ruleNames{rule: r, keep: keep, index: map[metricKey]int{}, byName: map[string]seriesName{}, byLabel: map[pmodel.LabelName]labelResources{}}
		if r.Namer == nil {
			continue
		}
		q := string(r.Namer.Selector())
		if _, ok := byQuery[q]; !ok {
			queries = append(queries, q)
		}
		byQuery[q] = append(byQuery[q], names[i])
	}
	// Whether to build from the index is asked once per relist (a request
	// of its own to Prometheus).
	index, fromIndex := src.(IndexSource)
	fromIndex = fromIndex && len(queries) > 0 && index.PreferIndex(ctx)
	for _, q := range queries {
		group := byQuery[q]
		var err error
		if fromIndex {
			err = relistFromIndex(ctx, index, d.Since, group)
		} else {
			err = relistSeries(ctx, src, d.Since, group)
		}
		d.Queries++
		for _, rn := range group {
			if rn.rule.QueryError = err; err != nil {
				// The adapter's relist fails the query whole.
				rn.metrics, rn.index = nil, map[metricKey]int{}
				rn.rule.Selected, rn.rule.Kept = nil, nil
			}
		}
	}
	d.register(names)
	// In full: a metric served both namespaced and not has one order
	// whatever order the series came in.
	sort.SliceStable(d.Metrics, func(i, j int) bool {
		a, b := d.Metrics[i], d.Metrics[j]
		if a.Resource.String() != b.Resource.String() {
			return a.Resource.String() < b.Resource.String()
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return !a.Namespaced && b.Namespaced
	})
	return d
}

// rulesOf compiles cfg's rules, then its external rules, each with the
// adapter's naming code (a rule it cannot build keeps its error).
func rulesOf(cfg *config.MetricsDiscoveryConfig, mapper apimeta.RESTMapper) []*Rule {
	if cfg == nil {
		return nil
	}
	var out []*Rule
	add := func(rules []config.DiscoveryRule, external bool) {
		for i, r := range rules {
			rule := &Rule{Index: i, External: external, Rule: r}
			namers, err := naming.NamersFromConfig([]config.DiscoveryRule{r}, mapper)
			if err != nil {
				rule.BuildError = err
			} else {
				rule.Namer = namers[0]
			}
			out = append(out, rule)
		}
	}
	add(cfg.Rules, false)
	add(cfg.ExternalRules, true)
	return out
}

// relistSeries sends the group's seriesQuery and names every series of the
// answer, as the adapter does.
func relistSeries(ctx context.Context, src SeriesSource, since time.Time, group []*ruleNames) error {
	return src.EachSeries(ctx, since, func(s prom.Series) {
		for _, rn := range group {
			rn.add(s)
		}
	}, group[0].rule.Namer.Selector())
}

// metricKey is a metric in the adapter's series registry.
type metricKey struct {
	name       string
	resource   schema.GroupResource
	namespaced bool
	external   bool
}

// ruleNames is what one rule makes of the series it selects, in the order
// it first named each metric: the registry is built from it once every
// request is answered, in the rules' order, as the adapter's is.
type ruleNames struct {
	rule    *Rule
	keep    Keep
	metrics []Metric
	index   map[metricKey]int
	// byName caches what the rule makes of a series name: the adapter's
	// seriesFilters and its metric name read the name only, and a relist
	// reads thousands of series of each name (a regular expression or two
	// per series was a fifth of doctor's time).
	byName map[string]seriesName
	// byLabel caches the resources the rule makes of one label.
	byLabel map[pmodel.LabelName]labelResources
}

// labelResources is what a rule's ResourcesForSeries makes of one label.
type labelResources struct {
	resources  []schema.GroupResource
	namespaced bool
}

// seriesName is what a rule makes of a series name: whether its filters
// pass it and, if so, the metric it names.
type seriesName struct {
	pass   bool
	metric string
	err    error
}

// name is what the rule makes of a series name.
func (rn *ruleNames) name(series string) seriesName {
	sn, ok := rn.byName[series]
	if !ok {
		s := prom.Series{Name: series}
		if sn.pass = len(rn.rule.Namer.FilterSeries([]prom.Series{s})) == 1; sn.pass {
			sn.metric, sn.err = rn.rule.Namer.MetricNameForSeries(s)
		}
		rn.byName[series] = sn
	}
	return sn
}

// keeps reports whether the caller's Keep asks for the series of a name.
func (rn *ruleNames) keeps(series string) bool {
	return rn.keep(series, rn.name(series).metric)
}

// keepSeries keeps s on the rule (Selected, and Kept if its filters pass
// it) when the caller's Keep asks for it.
func (rn *ruleNames) keepSeries(s prom.Series) {
	if !rn.keeps(s.Name) {
		return
	}
	rn.rule.Selected = append(rn.rule.Selected, s)
	if rn.name(s.Name).pass {
		rn.rule.Kept = append(rn.rule.Kept, s)
	}
}

// add names one series the rule's query selected.
func (rn *ruleNames) add(s prom.Series) {
	rn.keepSeries(s)
	sn := rn.name(s.Name)
	if !sn.pass || sn.err != nil {
		return
	}
	if rn.rule.External {
		rn.noteExternal(sn.metric, s.Name)
		return
	}
	resources, namespaced := rn.resources(s)
	for _, res := range resources {
		rn.noteResource(sn.metric, res, namespaced, s.Name)
	}
}

// noteExternal records an external metric named from a series name.
func (rn *ruleNames) noteExternal(metric, series string) {
	rn.note(metricKey{name: metric, external: true}, Metric{Name: metric, SeriesName: series, Rule: rn.rule})
}

// noteResource records a metric of a resource for a series the adapter
// marks namespaced or not; it serves namespaces, nodes and persistent
// volumes as cluster-scoped either way.
func (rn *ruleNames) noteResource(metric string, res schema.GroupResource, namespaced bool, series string) {
	if res == naming.NsGroupResource || res == naming.NodeGroupResource || res == naming.PVGroupResource {
		namespaced = false
	}
	k := metricKey{name: metric, resource: res, namespaced: namespaced}
	rn.note(k, Metric{Name: metric, Resource: res, Namespaced: namespaced, SeriesName: series, Rule: rn.rule})
}

// resources is the rule's ResourcesForSeries(s), asked once per label
// name: the adapter's answer is the union of its answers for each label
// alone (it reads the label names, one at a time), and a relist reads the
// same few label names on tens of thousands of series (a <<.Resource>>
// template's regular expression on each was a quarter of doctor's time).
func (rn *ruleNames) resources(s prom.Series) ([]schema.GroupResource, bool) {
	var out []schema.GroupResource
	namespaced := false
	for l, v := range s.Labels {
		lr := rn.label(l, v)
		out = append(out, lr.resources...)
		namespaced = namespaced || lr.namespaced
	}
	return out, namespaced
}

// label is the rule's ResourcesForSeries of one label (with any value:
// the adapter reads the name only).
func (rn *ruleNames) label(l pmodel.LabelName, v pmodel.LabelValue) labelResources {
	lr, ok := rn.byLabel[l]
	if !ok {
		lr.resources, lr.namespaced = rn.rule.Namer.ResourcesForSeries(prom.Series{Labels: pmodel.LabelSet{l: v}})
		rn.byLabel[l] = lr
	}
	return lr
}

// note records a metric; a later series of the same metric replaces it.
func (rn *ruleNames) note(k metricKey, m Metric) {
	if i, ok := rn.index[k]; ok {
		rn.metrics[i] = m
		return
	}
	rn.index[k] = len(rn.metrics)
	rn.metrics = append(rn.metrics, m)
}

// register is the adapter's series registry: later rules overwrite earlier
// ones for the same (resource, metric), so the last is kept. A pair of rules
// that collide is reported once, on its first (resource, metric) in order:
// the naming code gives a series' resources in no fixed order.
func (d *Discovery) register(rules []*ruleNames) {
	seen := map[metricKey]int{}
	collided := map[[2]*Rule]int{}
	for _, rn := range rules {
		for j, m := range rn.metrics {
			k := metricKey{name: m.Name, resource: m.Resource, namespaced: m.Namespaced, external: rn.rule.External}
			i, ok := seen[k]
			if !ok {
				seen[k] = len(d.Metrics)
				d.Metrics = append(d.Metrics, rn.metrics[j])
				continue
			}
			if prev := d.Metrics[i].Rule; !k.external && prev != rn.rule {
				c := Collision{Metric: m.Name, Resource: m.Resource.String(), First: prev, Second: rn.rule}
				if at, ok := collided[[2]*Rule{prev, rn.rule}]; !ok {
					collided[[2]*Rule{prev, rn.rule}] = len(d.Collisions)
					d.Collisions = append(d.Collisions, c)
				} else if old := d.Collisions[at]; c.Resource < old.Resource || (c.Resource == old.Resource && c.Metric < old.Metric) {
					d.Collisions[at] = c
				}
			}
			d.Metrics[i] = m
		}
	}
}

// Resources are the resources the discovered metrics are served for.
func (d *Discovery) Resources() map[schema.GroupResource]bool {
	out := map[schema.GroupResource]bool{}
	for _, m := range d.Metrics {
		if m.Resource.Resource != "" {
			out[m.Resource] = true
		}
	}
	return out
}

// Served returns the discovered metric name for resource (an empty resource
// means external), or nil.
func (d *Discovery) Served(resource schema.GroupResource, name string) *Metric {
	for i := range d.Metrics {
		m := &d.Metrics[i]
		if m.Name == name && m.Resource == resource && (m.Rule.External == (resource == schema.GroupResource{})) {
			return m
		}
	}
	return nil
}

// SeriesNamed returns, per rule, the selected series whose name is name.
func (r *Rule) SeriesNamed(name string) (selected, kept []prom.Series) {
	for _, s := range r.Selected {
		if s.Name == name {
			selected = append(selected, s)
		}
	}
	for _, s := range r.Kept {
		if s.Name == name {
			kept = append(kept, s)
		}
	}
	return selected, kept
}
