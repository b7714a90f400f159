package rules

import (
	"regexp"
	"slices"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// NamingLabels are the labels of series whose value is one of names (the
// objects a metric is read for): any label, whatever it is called, since
// the adapter maps a label to a resource by its values. The conventional
// labels of candidates come first, in their order (the tie-breaker), then
// the others by how many series they name, then by name.
func NamingLabels(series []prom.Series, names, candidates []string) []string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	hits := map[string]int{}
	for _, s := range series {
		for l, v := range s.Labels {
			if l != pmodel.MetricNameLabel && want[string(v)] {
				hits[string(l)]++
			}
		}
	}
	out := make([]string, 0, len(hits))
	for l := range hits {
		out = append(out, l)
	}
	rank := func(l string) int {
		if i := slices.Index(candidates, l); i >= 0 {
			return i
		}
		return len(candidates)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if hits[a] != hits[b] {
			return hits[a] > hits[b]
		}
		return a < b
	})
	return out
}

// Relabel is a Prometheus relabelling that copies the object's name out of
// a label whose values hold it with more around it ("default/shop",
// "shop.default.svc"), into Target.
type Relabel struct {
	Source string
	// Regex matches the whole value and captures the name, as Prometheus's
	// relabel_config anchors it.
	Regex  string
	Target string
}

// YAML is r as an entry of a scrape job's metric_relabel_configs.
func (r Relabel) YAML() string {
	return "- source_labels: [" + r.Source + "]\n" +
		"  regex: '" + strings.ReplaceAll(r.Regex, "'", "''") + "'\n" +
		"  target_label: " + r.Target + "\n" +
		"  replacement: '$1'\n"
}

// Apply is series as Prometheus stores them after the relabelling: Target
// set where Regex matches Source.
func (r Relabel) Apply(series []prom.Series) []prom.Series {
	re := regexp.MustCompile("^(?:" + r.Regex + ")$")
	out := make([]prom.Series, len(series))
	for i, s := range series {
		ls := s.Labels.Clone()
		if m := re.FindStringSubmatch(string(ls[pmodel.LabelName(r.Source)])); len(m) == 2 {
			ls[pmodel.LabelName(r.Target)] = pmodel.LabelValue(m[1])
		}
		out[i] = prom.Series{Name: s.Name, Labels: ls}
	}
	return out
}

// ContainingLabel finds a label of series whose values hold one of names
// inside a longer value, and the relabelling that extracts it into target:
// the regex is the text around the name in the first such value, and it
// must give an object's name back for every series whose value holds one.
func ContainingLabel(series []prom.Series, names []string, target string) (Relabel, bool) {
	var labels []string
	for _, s := range series {
		for l := range s.Labels {
			if l != pmodel.MetricNameLabel {
				labels = append(labels, string(l))
			}
		}
	}
	sort.Strings(labels)
	for _, l := range slices.Compact(labels) {
		if r, ok := containing(series, names, l, target); ok {
			return r, true
		}
	}
	return Relabel{}, false
}

// containing is ContainingLabel for the one label l.
func containing(series []prom.Series, names []string, l, target string) (Relabel, bool) {
	var r Relabel
	var re *regexp.Regexp // r.Regex anchored as Prometheus anchors it
	for _, s := range series {
		v := string(s.Labels[pmodel.LabelName(l)])
		for _, n := range names {
			i := strings.Index(v, n)
			if n == "" || v == n || i < 0 {
				continue
			}
			if re == nil {
				r = Relabel{Source: l, Target: target,
					Regex: regexp.QuoteMeta(v[:i]) + "(.+)" + regexp.QuoteMeta(v[i+len(n):])}
				re = regexp.MustCompile("^(?:" + r.Regex + ")$")
			}
			// The regex must turn the value into one of names.
			if m := re.FindStringSubmatch(v); len(m) != 2 || !slices.Contains(names, m[1]) {
				return Relabel{}, false
			}
		}
	}
	return r, re != nil
}
