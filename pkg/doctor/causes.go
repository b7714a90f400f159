package doctor

import (
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
	// Fix is the first finding's fix; Fixes counts the distinct fixes of
	// the group (they differ when a fix names an HPA's own objects).
	Fix   *Fix `json:"fix,omitempty"`
	Fixes int  `json:"fixes,omitempty"`
}

// causes groups the HPAs' findings by code and metric, errors first, then
// by how many HPAs they touch.
func causes(hpas []HPAReport) []Cause {
	type group struct {
		Cause
		hpas  map[string]bool
		ns    map[string]bool
		fixes map[string]bool
	}
	groups := map[string]*group{}
	var order []string
	add := func(h HPAReport, metric string, f Finding) {
		key := f.Code + "\x00" + metric
		g := groups[key]
		if g == nil {
			g = &group{Cause: Cause{Code: f.Code, Severity: f.Severity, Title: f.Title, Metric: metric, Fix: f.Fix},
				hpas: map[string]bool{}, ns: map[string]bool{}, fixes: map[string]bool{}}
			groups[key] = g
			order = append(order, key)
		}
		g.hpas[h.Namespace+"/"+h.Name] = true
		g.ns[h.Namespace] = true
		if f.Fix != nil {
			g.fixes[f.Fix.Description+"\x00"+f.Fix.Command+"\x00"+f.Fix.YAML] = true
		}
	}
	for _, h := range hpas {
		for _, f := range h.Findings {
			add(h, "", f)
		}
		for _, m := range h.Metrics {
			for _, f := range m.Findings {
				add(h, m.Name, f)
			}
		}
	}
	out := make([]Cause, 0, len(order))
	for _, k := range order {
		g := groups[k]
		g.HPAs, g.Fixes = len(g.hpas), len(g.fixes)
		for ns := range g.ns {
			g.Namespaces = append(g.Namespaces, ns)
		}
		sort.Strings(g.Namespaces)
		out = append(out, g.Cause)
	}
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
	return out
}

// namespacesString shows up to three namespaces and how many more.
func namespacesString(ns []string) string {
	if len(ns) <= 3 {
		return strings.Join(ns, ", ")
	}
	return strings.Join(ns[:3], ", ") + ", +" + strconv.Itoa(len(ns)-3)
}
