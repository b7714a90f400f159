package doctor

import (
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Cause groups the findings of many HPAs that have one cause: the same code
// on the same metric. At fleet scale a broken rule or a missing series
// repeats for every HPA that reads it; the causes say it once.
type Cause struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Metric is the HPA metric the findings are about ("" for findings on
	// the HPA itself).
	Metric     string   `json:"metric,omitempty"`
	HPAs       int      `json:"hpas"`
	Namespaces []string `json:"namespaces"`
	// Contexts are the kubeconfig contexts the HPAs are in (doctor over
	// several contexts only).
	Contexts []string `json:"contexts,omitempty"`
	// Fix is the first finding's fix; Fixes counts the distinct fixes of
	// the group (they differ when a fix names an HPA's own objects).
	Fix   *Fix `json:"fix,omitempty"`
	Fixes int  `json:"fixes,omitempty"`
}

// causes groups the HPAs' findings by code and metric, errors first, then
// by how many HPAs they touch.
func causes(hpas []HPAReport) []Cause {
	return groupCauses([]contextHPAs{{hpas: hpas}})
}

// contextHPAs are the HPAs of one kubeconfig context ("" when doctor looks
// at one cluster).
type contextHPAs struct {
	context string
	hpas    []HPAReport
}

// groupCauses groups the findings of the HPAs of every context by code and
// metric: one cause for a broken rule, however many clusters repeat it.
func groupCauses(scopes []contextHPAs) []Cause {
	var g causeGroups
	for _, s := range scopes {
		for _, h := range s.hpas {
			explained := metricErrors(h)
			for _, f := range h.Findings {
				if !(explained && symptoms[f.Code]) {
					g.add(s.context, h, "", f)
				}
			}
			for _, m := range h.Metrics {
				for _, f := range m.Findings {
					g.add(s.context, h, m.Name, f)
				}
			}
		}
	}
	out := g.causes()
	sortCauses(out)
	return out
}

// causeGroups collects findings by code and metric, in the order each
// group was first seen.
type causeGroups struct {
	byKey map[string]*causeGroup
	order []string
}

type causeGroup struct {
	Cause
	hpas, ns, contexts, fixes map[string]bool
}

func (c *causeGroups) add(context string, h HPAReport, metric string, f Finding) {
	key := f.Code + "\x00" + metric
	g := c.byKey[key]
	if g == nil {
		g = &causeGroup{Cause: Cause{Code: f.Code, Severity: f.Severity, Title: f.Title, Metric: metric, Fix: f.Fix},
			hpas: map[string]bool{}, ns: map[string]bool{}, contexts: map[string]bool{}, fixes: map[string]bool{}}
		if c.byKey == nil {
			c.byKey = map[string]*causeGroup{}
		}
		c.byKey[key] = g
		c.order = append(c.order, key)
	}
	g.hpas[context+"\x00"+h.Namespace+"/"+h.Name] = true
	g.ns[h.Namespace] = true
	if context != "" {
		g.contexts[context] = true
	}
	if f.Fix != nil {
		g.fixes[f.Fix.Description+"\x00"+f.Fix.Command+"\x00"+f.Fix.YAML] = true
	}
}

// causes are the groups as Causes, with their counts and sorted names.
func (c *causeGroups) causes() []Cause {
	out := make([]Cause, 0, len(c.order))
	for _, k := range c.order {
		g := c.byKey[k]
		g.HPAs, g.Fixes = len(g.hpas), len(g.fixes)
		g.Namespaces, g.Contexts = slices.Sorted(maps.Keys(g.ns)), slices.Sorted(maps.Keys(g.contexts))
		out = append(out, g.Cause)
	}
	return out
}

// sortCauses puts errors first, then the causes that reach the most HPAs.
func sortCauses(out []Cause) {
	rank := map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Severity] != rank[b.Severity] {
			return rank[a.Severity] < rank[b.Severity]
		}
		if a.HPAs != b.HPAs {
			return a.HPAs > b.HPAs
		}
		return a.Code+a.Metric < b.Code+b.Metric
	})
}

// symptoms are the codes that repeat what the HPA controller says, not
// why: as causes they give way to the HPA's metric findings that say why.
var symptoms = map[string]bool{string(CodeCannotCompute): true}

// metricErrors says whether a metric of the HPA has an error finding.
func metricErrors(h HPAReport) bool {
	for _, m := range h.Metrics {
		for _, f := range m.Findings {
			if f.Severity == SeverityError {
				return true
			}
		}
	}
	return false
}

// shortList shows up to three names (namespaces, contexts) and how many
// more.
func shortList(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:3], ", ") + ", +" + strconv.Itoa(len(names)-3)
}
