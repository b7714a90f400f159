package doctor

import (
	"fmt"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// Label conventions for the namespace and for each resource, in the order
// they are preferred. exported_* come first: when a series carries them,
// Prometheus scraped without honor_labels and the plain labels name the
// exporter, not the workload.
var (
	namespaceLabels = []string{"exported_namespace", "namespace", "k8s_namespace", "kubernetes_namespace"}
	resourceLabels  = map[string][]string{
		"pods":        {"exported_pod", "pod", "k8s_pod_name", "kubernetes_pod_name", "pod_name"},
		"services":    {"exported_service", "service", "k8s_service_name", "kubernetes_service_name"},
		"deployments": {"exported_deployment", "deployment", "k8s_deployment_name"},
	}
)

// ruleProposal is an adapter rule that would serve metric name for resource
// from the given series, as an add-rule command and as YAML.
type ruleProposal struct {
	NamespaceLabel, ResourceLabel string
	Counter                       bool
	Command, YAML                 string
}

// proposeRule infers the labels that name the namespace and the resource on
// the series; ok is false when the series carry no label for the resource.
func proposeRule(series []prom.Series, seriesName, resource, apiName string) (ruleProposal, bool) {
	has := func(l string) bool {
		for _, s := range series {
			if _, ok := s.Labels[promLabel(l)]; ok {
				return true
			}
		}
		return false
	}
	p := ruleProposal{Counter: strings.HasSuffix(seriesName, "_total")}
	for _, l := range namespaceLabels {
		if has(l) {
			p.NamespaceLabel = l
			break
		}
	}
	for _, l := range resourceLabels[resource] {
		if has(l) {
			p.ResourceLabel = l
			break
		}
	}
	if p.ResourceLabel == "" {
		return p, false
	}
	singular := strings.TrimSuffix(resource, "s")
	args := []string{"kubectl metricscale add-rule " + seriesName}
	if apiName != seriesName {
		args = append(args, "--as "+apiName)
	}
	if p.NamespaceLabel != "" {
		args = append(args, "--namespace-label "+p.NamespaceLabel)
	}
	if resource == "pods" {
		args = append(args, "--pod-label "+p.ResourceLabel)
	} else {
		args = append(args, fmt.Sprintf("--resource %s=%s", p.ResourceLabel, singular))
	}
	p.Command = strings.Join(args, " ")

	var b strings.Builder
	fmt.Fprintf(&b, "- seriesQuery: '{__name__=%q", seriesName)
	if p.NamespaceLabel != "" {
		fmt.Fprintf(&b, ",%s!=\"\"", p.NamespaceLabel)
	}
	fmt.Fprintf(&b, ",%s!=\"\"}'\n", p.ResourceLabel)
	b.WriteString("  resources:\n    overrides:\n")
	if p.NamespaceLabel != "" {
		fmt.Fprintf(&b, "      %s: {resource: namespace}\n", p.NamespaceLabel)
	}
	fmt.Fprintf(&b, "      %s: {resource: %s}\n", p.ResourceLabel, singular)
	fmt.Fprintf(&b, "  name:\n    matches: ^%s$\n    as: %q\n", regexpQuote(seriesName), apiName)
	if p.Counter {
		b.WriteString("  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)\n")
	} else {
		b.WriteString("  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n")
	}
	p.YAML = b.String()
	return p, true
}

func regexpQuote(s string) string {
	r := strings.NewReplacer(".", `\.`, "+", `\+`, "*", `\*`, "?", `\?`, "(", `\(`, ")", `\)`, "[", `\[`, "]", `\]`, "{", `\{`, "}", `\}`, "^", `\^`, "$", `\$`, "|", `\|`)
	return r.Replace(s)
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

// nearest returns up to n candidates closest to name by edit distance,
// ignoring those too far to be a plausible typo or rename.
func nearest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	var out []scored
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein(strings.ToLower(name), strings.ToLower(c))
		limit := max(3, len(name)/3)
		if strings.HasPrefix(c, name) || strings.HasPrefix(name, c) {
			d = min(d, 2)
		}
		if d <= limit {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].s < out[j].s
	})
	var names []string
	for i := 0; i < len(out) && i < n; i++ {
		names = append(names, out[i].s)
	}
	return names
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func promLabel(s string) pmodel.LabelName { return pmodel.LabelName(s) }
