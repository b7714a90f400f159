// Package simulate runs prometheus-adapter's metric discovery against live
// Prometheus series with the adapter's own naming code, so that doctor sees
// exactly the metrics the adapter would serve for a config, and why a
// series becomes (or does not become) one.
package simulate

import (
	"context"
	"sort"
	"strconv"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// SeriesSource lists series as the adapter's relist does.
type SeriesSource interface {
	Series(ctx context.Context, start time.Time, selectors ...prom.Selector) ([]prom.Series, error)
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
	// seriesFilters and name.matches.
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
// (identical queries once in all), with start = now - maxAge.
func Run(ctx context.Context, src SeriesSource, cfg *config.MetricsDiscoveryConfig, mapper apimeta.RESTMapper, maxAge time.Duration, now time.Time) *Discovery {
	d := &Discovery{Since: now.Add(-maxAge)}
	// One relist sees one state of discovery; the naming code asks about
	// every label of every series (most are no resource).
	mapper = kube.MemoMapper(mapper)
	add := func(rules []config.DiscoveryRule, external bool) {
		for i, r := range rules {
			rule := &Rule{Index: i, External: external, Rule: r}
			namers, err := naming.NamersFromConfig([]config.DiscoveryRule{r}, mapper)
			if err != nil {
				rule.BuildError = err
			} else {
				rule.Namer = namers[0]
			}
			d.Rules = append(d.Rules, rule)
		}
	}
	if cfg != nil {
		add(cfg.Rules, false)
		add(cfg.ExternalRules, true)
	}
	type result struct {
		series []prom.Series
		err    error
	}
	cache := map[string]result{}
	for _, r := range d.Rules {
		if r.Namer == nil {
			continue
		}
		q := string(r.Namer.Selector())
		res, ok := cache[q]
		if !ok {
			s, err := src.Series(ctx, d.Since, r.Namer.Selector())
			res = result{s, err}
			cache[q] = res
			d.Queries++
		}
		r.Selected, r.QueryError = res.series, res.err
		r.Kept = filterByName(r.Namer, r.Selected)
	}
	// The adapter's series registry: later rules overwrite earlier ones for
	// the same (resource, metric), so keep the last.
	type key struct {
		name       string
		resource   schema.GroupResource
		namespaced bool
		external   bool
	}
	seen := map[key]int{}
	collided := map[[2]*Rule]bool{}
	for _, r := range d.Rules {
		for _, s := range r.Kept {
			name, err := r.Namer.MetricNameForSeries(s)
			if err != nil {
				continue
			}
			if r.External {
				k := key{name: name, external: true}
				if i, ok := seen[k]; ok {
					d.Metrics[i] = Metric{Name: name, SeriesName: s.Name, Rule: r}
					continue
				}
				seen[k] = len(d.Metrics)
				d.Metrics = append(d.Metrics, Metric{Name: name, SeriesName: s.Name, Rule: r})
				continue
			}
			resources, namespaced := r.Namer.ResourcesForSeries(s)
			for _, res := range resources {
				ns := namespaced
				if res == naming.NsGroupResource || res == naming.NodeGroupResource || res == naming.PVGroupResource {
					ns = false
				}
				k := key{name: name, resource: res, namespaced: ns}
				m := Metric{Name: name, Resource: res, Namespaced: ns, SeriesName: s.Name, Rule: r}
				if i, ok := seen[k]; ok {
					if prev := d.Metrics[i].Rule; prev != r && !collided[[2]*Rule{prev, r}] {
						collided[[2]*Rule{prev, r}] = true
						d.Collisions = append(d.Collisions, Collision{Metric: name, Resource: res.String(), First: prev, Second: r})
					}
					d.Metrics[i] = m
					continue
				}
				seen[k] = len(d.Metrics)
				d.Metrics = append(d.Metrics, m)
			}
		}
	}
	sort.SliceStable(d.Metrics, func(i, j int) bool {
		if d.Metrics[i].Resource.String() != d.Metrics[j].Resource.String() {
			return d.Metrics[i].Resource.String() < d.Metrics[j].Resource.String()
		}
		return d.Metrics[i].Name < d.Metrics[j].Name
	})
	return d
}

// filterByName is the namer's FilterSeries run once per series name: the
// adapter's seriesFilters look at the name only, and a relist reads
// thousands of series of each name (a regular expression per series was a
// fifth of doctor's time).
func filterByName(n naming.MetricNamer, selected []prom.Series) []prom.Series {
	seen := map[string]bool{}
	var firsts []prom.Series
	for _, s := range selected {
		if !seen[s.Name] {
			seen[s.Name] = true
			firsts = append(firsts, s)
		}
	}
	passes := map[string]bool{}
	for _, s := range n.FilterSeries(firsts) {
		passes[s.Name] = true
	}
	if len(passes) == len(seen) {
		return selected
	}
	kept := make([]prom.Series, 0, len(selected))
	for _, s := range selected {
		if passes[s.Name] {
			kept = append(kept, s)
		}
	}
	return kept
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
