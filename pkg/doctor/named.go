package doctor

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/pushgateway"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// objectClass says why an object that a metric's series name does or does
// not count for the HPA.
type objectClass int

const (
	classSelected       objectClass = iota // exists and is one of the objects the HPA reads
	classNotSelected                       // exists in the HPA's namespace, but the HPA does not read it
	classGone                              // does not exist in the HPA's namespace
	classNamespaceGone                     // named in another namespace, which does not exist
	classOtherNamespace                    // named in another namespace
)

// maxExistenceChecks bounds the objects looked up per metric: enough to
// explain, never a request per series of a large metric.
const maxExistenceChecks = 20

// namedObject is an object that series of the metric name.
type namedObject struct {
	namespace, name string
	class           objectClass
	series          prom.Series // one series that names it
}

// seriesObjects is what a metric's series say about where its data went.
type seriesObjects struct {
	seriesName string
	resource   schema.GroupResource
	// label is the rule's label for resource; singular is the resource's
	// singular name.
	label    pmodel.LabelName
	singular string
	// namespace is the HPA's; reads says in words what the HPA reads.
	namespace, reads string
	objects          []namedObject
	unchecked        int // objects beyond maxExistenceChecks
}

func (o seriesObjects) of(c objectClass) []namedObject {
	var out []namedObject
	for _, x := range o.objects {
		if x.class == c {
			out = append(out, x)
		}
	}
	return out
}

// classifySeries lists the objects that series name (series of s, the
// metric m is served as: by its rule's resource label, in the namespace of
// its namespace label) and classifies each against m's namespace and
// queried, the objects the HPA reads.
func classifySeries(ctx context.Context, exists existsFunc,
	m *hpaMetric, s *simulate.Metric, series []prom.Series, queried []string) seriesObjects {
	gr, ns, rule := m.req.Resource, m.req.Namespace, s.Rule
	label, err := rule.Namer.LabelForResource(gr)
	out := seriesObjects{seriesName: s.SeriesName, resource: gr, label: label, namespace: ns, reads: m.reads}
	if err != nil {
		return out
	}
	nsLabel, err := rule.Namer.LabelForResource(schema.GroupResource{Resource: "namespaces"})
	if err != nil {
		nsLabel = ""
	}
	namespaceOf := func(x prom.Series) string {
		if v, ok := x.Labels[pmodel.LabelName(nsLabel)]; nsLabel != "" && ok {
			return string(v)
		}
		return ns
	}
	c := &classifier{ctx: ctx, exists: exists, resource: gr, namespace: ns, reads: map[string]bool{}, namespaces: map[string]bool{}}
	for _, n := range queried {
		c.reads[n] = true
	}
	seen := map[string]bool{}
	for _, x := range ownNamespaceFirst(series, namespaceOf, ns) {
		name, objNS := string(x.Labels[label]), namespaceOf(x)
		if name == "" {
			continue
		}
		if !c.admitNamespace(objNS) {
			out.unchecked++
			continue
		}
		if key := objNS + "/" + name; !seen[key] {
			seen[key] = true
			if o, ok := c.classify(namedObject{namespace: objNS, name: name, series: x}); ok {
				out.objects = append(out.objects, o)
			} else {
				out.unchecked++
			}
		}
	}
	sortByClass(out.objects)
	return out
}

// existsFunc reports whether the object ns/name of gr exists.
type existsFunc func(ctx context.Context, gr schema.GroupResource, ns, name string) (bool, error)

// classifier classifies the objects of one metric's series, spending at
// most maxExistenceChecks lookups across namespaces and objects together.
type classifier struct {
	ctx        context.Context
	exists     existsFunc
	resource   schema.GroupResource
	namespace  string          // the HPA's
	reads      map[string]bool // the objects the HPA reads
	namespaces map[string]bool // other namespaces already looked up
	checked    int
}

// admitNamespace reports whether objects of namespace ns can be
// classified: the HPA's own always; another once its lookup fits the bound.
func (c *classifier) admitNamespace(ns string) bool {
	if ns == c.namespace || c.exists == nil || c.namespaces[ns] {
		return true
	}
	if c.checked == maxExistenceChecks {
		return false
	}
	c.checked++
	c.namespaces[ns] = true
	return true
}

// classify sets o's class; false when it is left unchecked (over the
// bound, or its lookup failed).
func (c *classifier) classify(o namedObject) (namedObject, bool) {
	switch {
	case o.namespace != c.namespace:
		o.class = otherNamespace(c.ctx, c.exists, o.namespace)
	case c.reads[o.name]:
		o.class = classSelected
	case c.checked == maxExistenceChecks || c.exists == nil:
		return o, false
	default:
		c.checked++
		ok, err := c.exists(c.ctx, c.resource, c.namespace, o.name)
		if err != nil {
			return o, false
		}
		o.class = classNotSelected
		if !ok {
			o.class = classGone
		}
	}
	return o, true
}

// otherNamespace classifies an object of namespace ns, not the HPA's: gone
// with its namespace when that no longer exists.
func otherNamespace(ctx context.Context, exists existsFunc, ns string) objectClass {
	if exists == nil {
		return classOtherNamespace
	}
	if ok, err := exists(ctx, schema.GroupResource{Resource: "namespaces"}, "", ns); err == nil && !ok {
		return classNamespaceGone
	}
	return classOtherNamespace
}

// sortByClass orders objects by class, then namespace and name.
func sortByClass(objects []namedObject) {
	sort.Slice(objects, func(i, j int) bool {
		a, b := objects[i], objects[j]
		if a.class != b.class {
			return a.class < b.class
		}
		return a.namespace+"/"+a.name < b.namespace+"/"+b.name
	})
}

// evidence is one line per class of object.
func (o seriesObjects) evidence() []string {
	seriesName, ns, target := o.seriesName, o.namespace, o.reads
	var out []string
	names := func(xs []namedObject, withNS bool) string {
		var s []string
		for _, x := range xs {
			if withNS {
				s = append(s, x.namespace+"/"+x.name)
			} else {
				s = append(s, x.name)
			}
		}
		return strings.Join(s, ", ")
	}
	r := o.resource.Resource
	if xs := o.of(classGone); len(xs) > 0 {
		out = append(out, fmt.Sprintf("series of %s name %s that do not exist in namespace %s: %s", seriesName, r, ns, names(xs, false)))
	}
	if xs := o.of(classNamespaceGone); len(xs) > 0 {
		out = append(out, fmt.Sprintf("series of %s name %s in namespaces that do not exist: %s", seriesName, r, names(xs, true)))
	}
	if xs := o.of(classOtherNamespace); len(xs) > 0 {
		out = append(out, fmt.Sprintf("series of %s name %s in other namespaces: %s", seriesName, r, names(xs, true)))
	}
	if xs := o.of(classNotSelected); len(xs) > 0 {
		out = append(out, fmt.Sprintf("series of %s name %s of namespace %s that the HPA does not read (it reads %s): %s", seriesName, r, ns, target, names(xs, false)))
	}
	if xs := o.of(classSelected); len(xs) > 0 {
		out = append(out, fmt.Sprintf("series of %s name %s the HPA reads: %s", seriesName, r, names(xs, false)))
	}
	if o.unchecked > 0 {
		out = append(out, fmt.Sprintf("%d more %s named by series of %s were not looked up", o.unchecked, r, seriesName))
	}
	return out
}

// pushedGroup is the Pushgateway group a series was pushed in.
type pushedGroup struct {
	job      string
	grouping map[string]string
}

// pushGroups finds, for series, the Pushgateway groups they were pushed in
// (a group's push_time_seconds carries its job and grouping key, and every
// series of the group carries them too, as Prometheus scrapes a
// Pushgateway with honor_labels; without, doctor reports the exported_*
// labels first), and the base URLs of the
// Pushgateways Prometheus scrapes (the targets that export
// pushgateway_build_info). A series not pushed has no entry.
func pushGroups(ctx context.Context, p Prometheus, series []prom.Series) (map[int]pushedGroup, []string) {
	jobs := map[string]bool{}
	for _, s := range series {
		if j := string(s.Labels["job"]); j != "" {
			jobs[j] = true
		}
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	var quoted []string
	for j := range jobs {
		quoted = append(quoted, regexp.QuoteMeta(j))
	}
	sort.Strings(quoted)
	sel := fmt.Sprintf(`push_time_seconds{job=~%q}`, strings.Join(quoted, "|"))
	res, err := p.Query(ctx, sel)
	if err != nil {
		return nil, nil
	}
	groups := vectorOf(res)
	if len(groups) == 0 {
		return nil, nil
	}
	bases, targetLabels := pushgateways(ctx, p)
	out := map[int]pushedGroup{}
	for i, s := range series {
		for _, g := range groups {
			if !carries(s.Labels, g.Metric) {
				continue
			}
			pg := pushedGroup{job: string(g.Metric["job"]), grouping: map[string]string{}}
			for k, v := range g.Metric {
				if k == pmodel.MetricNameLabel || k == "job" || targetLabels[string(k)+"="+string(v)] {
					continue
				}
				pg.grouping[string(k)] = string(v)
			}
			out[i] = pg
			break
		}
	}
	return out, bases
}

// carries reports whether a series has every label of a group (its
// metric name aside).
func carries(s pmodel.LabelSet, group pmodel.Metric) bool {
	for k, v := range group {
		if k != pmodel.MetricNameLabel && s[k] != v {
			return false
		}
	}
	return true
}

// pushgateways are the base URLs of the scrape targets that are
// Pushgateways, and their target labels (name=value), which Prometheus adds
// to every series it scrapes from them and so are not part of any grouping
// key.
func pushgateways(ctx context.Context, p Prometheus) ([]string, map[string]bool) {
	labels := map[string]bool{}
	res, err := p.Query(ctx, "pushgateway_build_info")
	if err != nil {
		return nil, labels
	}
	targets, err := p.Targets(ctx)
	if err != nil {
		return nil, labels
	}
	var bases []string
	for _, info := range vectorOf(res) {
		for _, t := range targets {
			if t.Labels["job"] != string(info.Metric["job"]) || t.Labels["instance"] != string(info.Metric["instance"]) {
				continue
			}
			if base := scrapeBase(t); base != "" {
				bases = append(bases, base)
			}
			for k, v := range t.Labels {
				labels[k+"="+v] = true
			}
		}
	}
	sort.Strings(bases)
	return bases, labels
}

// scrapeBase is a target's address without its metrics path.
func scrapeBase(t prometheus.Target) string {
	u, err := url.Parse(t.ScrapeURL)
	if err != nil || u.Host == "" {
		return ""
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/metrics")
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// deleteCommands are the commands that delete the groups, on each
// Pushgateway (a placeholder when none was found).
func deleteCommands(groups []pushedGroup, bases []string) []string {
	if len(bases) == 0 {
		bases = []string{"http://PUSHGATEWAY:9091"}
	}
	seen := map[string]bool{}
	var out []string
	for _, b := range bases {
		for _, g := range groups {
			cmd := "curl -X DELETE " + pushgateway.GroupURL(b, g.job, g.grouping)
			if !seen[cmd] {
				seen[cmd] = true
				out = append(out, cmd)
			}
		}
	}
	return out
}

// otherIdentity is the fix for series whose mapped label names objects
// that are gone while another of their labels holds the name of an object
// the HPA reads (names): they are not stale, and deleting their
// Pushgateway group would delete the HPA's data; the rule maps the wrong
// label.
func (o seriesObjects) otherIdentity(series []prom.Series, names []string) (*Fix, bool) {
	for _, l := range rules.NamingLabels(series, names, nil) {
		if pmodel.LabelName(l) == o.label {
			continue
		}
		return &Fix{Description: fmt.Sprintf("the series are not stale: their label %s holds the name of the target's current %s (%s), while the rule maps %s, whose values name %s that no longer exist; map %s instead, and keep their Pushgateway group",
			l, o.resource.Resource, strings.Join(names, ", "), o.label, o.resource.Resource, l),
			Command: fmt.Sprintf("kubectl metricscale add-rule %s %s", o.seriesName, rules.LabelFlag(o.resource.Resource, o.singular, l))}, true
	}
	return nil, false
}

// whereFix is the fix that fits where the metric's series went, by the
// first class present: objects that are gone (a Pushgateway group outlives
// its pod; else the exporter went with it), another namespace, objects the
// HPA does not read; names are the objects it should read the metric of.
// ok is false when the series name only objects the HPA reads, which says
// nothing about where the data went.
func whereFix(ctx context.Context, p Prometheus, o seriesObjects, names []string) (*Fix, []string, bool) {
	r, seriesName, ns, target, label := o.resource.Resource, o.seriesName, o.namespace, o.reads, o.label
	// Objects of a namespace that is gone went with it: stale as the rest.
	if gone := append(o.of(classGone), o.of(classNamespaceGone)...); len(gone) > 0 {
		var series []prom.Series
		for _, x := range gone {
			series = append(series, x.series)
		}
		if fix, ok := o.otherIdentity(series, names); ok {
			return fix, nil, true
		}
		groups, bases := pushGroups(ctx, p, series)
		if len(groups) > 0 {
			var pushed []pushedGroup
			perObject := true
			for i := range series {
				if g, ok := groups[i]; ok {
					pushed = append(pushed, g)
					if _, keyed := g.grouping[string(label)]; !keyed {
						perObject = false
					}
				}
			}
			var ev []string
			for _, g := range pushed {
				ev = append(ev, fmt.Sprintf("pushed to the Pushgateway in group %s", pushgateway.GroupPath(g.job, g.grouping)))
			}
			desc := fmt.Sprintf("the series come from Pushgateway groups that outlived their %s (a group stays until it is deleted): push %s from the target's current %s (%s), each with a grouping key of its own (.../metrics/job/%s/%s/<name>), and delete the stale groups",
				r, seriesName, r, strings.Join(names, ", "), pushed[0].job, label)
			if !perObject {
				desc = fmt.Sprintf("the series come from a Pushgateway group whose grouping key does not name the %s, so every pusher overwrites it and it outlives them: push %s from each of the target's current %s (%s) with a grouping key per object (.../metrics/job/%s/%s/<name>), and delete the stale group",
					strings.TrimSuffix(r, "s"), seriesName, r, strings.Join(names, ", "), pushed[0].job, label)
			}
			if len(bases) == 0 {
				desc += " (PUSHGATEWAY: the Pushgateway's address; Prometheus scrapes none that exports pushgateway_build_info)"
			} else {
				desc += " (the Pushgateway's address as Prometheus scrapes it; from outside the cluster, port-forward it first)"
			}
			return &Fix{Description: desc, Command: strings.Join(deleteCommands(pushed, bases), "\n")}, ev, true
		}
		return &Fix{Description: fmt.Sprintf("the series name only %s that no longer exist: their exporter went with them, and the target's current %s (%s) do not export %s; make them export it (labelled %s=<name>) and check that Prometheus scrapes them (its targets page)",
			r, r, strings.Join(names, ", "), seriesName, label)}, nil, true
	}
	if other := o.of(classOtherNamespace); len(other) > 0 {
		return &Fix{Description: fmt.Sprintf("the series name %s in namespace %s, where the adapter serves them, not in %s: label the series with namespace %s (a relabel_config, or the exporter's own label), or create the HPA where its %s are",
			r, other[0].namespace, ns, ns, r)}, nil, true
	}
	if notSel := o.of(classNotSelected); len(notSel) > 0 {
		return &Fix{Description: fmt.Sprintf("the series name %s the HPA does not read (%s; it reads %s): point the HPA (scaleTargetRef, or describedObject) at what exports %s, or make %s export it",
			r, notSel[0].name, target, seriesName, target)}, nil, true
	}
	return nil, nil, false
}

// ownNamespaceFirst orders the series of the HPA's own namespace first: its
// objects say most, and the lookups of objects and of other namespaces
// share one bound (a metric exported in every namespace would otherwise
// cost a request per namespace).
func ownNamespaceFirst(series []prom.Series, namespaceOf func(prom.Series) string, ns string) []prom.Series {
	var own, others []prom.Series
	for _, x := range series {
		if namespaceOf(x) == ns {
			own = append(own, x)
		} else {
			others = append(others, x)
		}
	}
	return append(own, others...)
}
