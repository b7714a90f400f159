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

// proposeRule infers the rule that serves the HPA's metric name for
// resource (singular: its singular name) from the series. Where the series offer several labels for one
// role, it takes the first and names the others in note.
func proposeRule(series []prom.Series, seriesName, resource, singular, apiName string) (p rules.Proposal, note string, ok bool) {
	req := rules.Request{SeriesName: seriesName, Resource: resource, Singular: singular, As: apiName}
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
