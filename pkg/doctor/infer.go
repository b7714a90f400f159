package doctor

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/rules"
)

// proposeRule infers the rule that serves req from the series. A label
// whose values are the names of the objects the HPA reads (names), or of
// its namespace, maps them whatever it is called; the conventional label
// names only break ties and stand in where no value names an object. Where
// the series offer several labels for one role, it takes the first and
// names the others in note.
func proposeRule(series []prom.Series, req rules.Request, names []string, namespace string) (p rules.Proposal, note string, ok bool) {
	if ls := rules.NamingLabels(series, names, rules.ResourceLabels[req.Resource]); len(ls) > 0 {
		req.ResourceLabel = ls[0]
		if len(ls) > 1 {
			note += fmt.Sprintf(" (%s also hold the names: pass another with %s if it is meant)",
				strings.Join(ls[1:], ", "), rules.ResourceFlag(req.Resource, req.Singular))
		}
	}
	if ls := rules.NamingLabels(series, []string{namespace}, rules.NamespaceLabels); len(ls) > 0 && ls[0] != req.ResourceLabel {
		req.NamespaceLabel = ls[0]
	}
	for range 2 {
		var err error
		p, err = rules.Propose(series, req)
		var amb *rules.Ambiguous
		if errors.As(err, &amb) {
			note += fmt.Sprintf(" (the series also carry %s: if one of those names it, pass %s)", strings.Join(amb.Choices[1:], ", "), amb.Flag)
			if amb.Flag == "--namespace-label" {
				req.NamespaceLabel = amb.Choices[0]
			} else {
				req.ResourceLabel = amb.Choices[0]
			}
			continue
		}
		return p, note, err == nil
	}
	return p, note, false
}

// labelSummary renders the distinct label sets of series, for evidence.
func labelSummary(series []prom.Series, max int) []string {
	var out []string
	for i, s := range series {
		if i == max {
			out = append(out, fmt.Sprintf("... and %d more series", len(series)-max))
			break
		}
		out = append(out, seriesString(s))
	}
	return out
}

func seriesString(s prom.Series) string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, s.Labels[promLabel(k)]))
	}
	return s.Name + "{" + strings.Join(parts, ",") + "}"
}

func promLabel(s string) pmodel.LabelName { return pmodel.LabelName(s) }
