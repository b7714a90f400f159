package rules

import (
	"fmt"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
)

// Label conventions for the namespace and for each resource, in the order
// they are preferred. exported_* come first: when a series carries them,
// Prometheus scraped it without honor_labels and the plain labels name the
// exporter, not the workload.
var (
	NamespaceLabels = []string{"exported_namespace", "namespace", "k8s_namespace", "kubernetes_namespace"}
	ResourceLabels  = map[string][]string{
		"pods":        {"exported_pod", "pod", "k8s_pod_name", "kubernetes_pod_name", "pod_name"},
		"services":    {"exported_service", "service", "k8s_service_name", "kubernetes_service_name"},
		"deployments": {"exported_deployment", "deployment", "k8s_deployment_name"},
	}
)

// Request says what rule to propose; empty labels are inferred.
type Request struct {
	SeriesName     string // the metric's name in Prometheus
	Resource       string // plural: pods, services, ...
	As             string // the API metric name; default: SeriesName, without _total for a counter
	NamespaceLabel string
	ResourceLabel  string
}

// Proposal is an inferred rule, as an add-rule command and as YAML.
type Proposal struct {
	NamespaceLabel, ResourceLabel string
	// Alternatives are other labels that could name the resource.
	Alternatives []string
	Counter      bool
	APIName      string
	Command      string
	YAML         string
}

// Ambiguous is returned when the series offer several labels for one role
// and nothing says which; it names the flag and the choices.
type Ambiguous struct {
	Flag    string
	Choices []string
}

func (e *Ambiguous) Error() string {
	return fmt.Sprintf("the series carry several labels that could be meant: %s; choose one with %s", strings.Join(e.Choices, ", "), e.Flag)
}

// Propose infers a rule from the series of req.SeriesName. A name ending in
// _total is a counter: the query takes its rate and the API name drops
// _total (unless req.As says otherwise).
func Propose(series []prom.Series, req Request) (Proposal, error) {
	p := Proposal{Counter: strings.HasSuffix(req.SeriesName, "_total"), NamespaceLabel: req.NamespaceLabel, ResourceLabel: req.ResourceLabel}
	p.APIName = req.As
	if p.APIName == "" {
		p.APIName = strings.TrimSuffix(req.SeriesName, "_total")
	}
	present := func(candidates []string) []string {
		var out []string
		for _, l := range candidates {
			for _, s := range series {
				if _, ok := s.Labels[pmodel.LabelName(l)]; ok {
					out = append(out, l)
					break
				}
			}
		}
		return out
	}
	pick := func(candidates []string, flag string) (string, []string, error) {
		found := present(candidates)
		switch {
		case len(found) == 0:
			return "", nil, nil
		case strings.HasPrefix(found[0], "exported_") || len(found) == 1:
			return found[0], found[1:], nil
		}
		return found[0], found[1:], &Ambiguous{Flag: flag, Choices: found}
	}
	var err error
	if p.NamespaceLabel == "" {
		if p.NamespaceLabel, _, err = pick(NamespaceLabels, "--namespace-label"); err != nil {
			return p, err
		}
	}
	flag := "--resource LABEL=" + strings.TrimSuffix(req.Resource, "s")
	if req.Resource == "pods" {
		flag = "--pod-label"
	}
	if p.ResourceLabel == "" {
		if p.ResourceLabel, p.Alternatives, err = pick(ResourceLabels[req.Resource], flag); err != nil {
			return p, err
		}
	}
	if p.ResourceLabel == "" {
		var all []string
		for _, s := range series {
			for l := range s.Labels {
				all = append(all, string(l))
			}
		}
		sort.Strings(all)
		return p, fmt.Errorf("no label of the series names a %s (looked for %s; the series have %s): name it with %s",
			strings.TrimSuffix(req.Resource, "s"), strings.Join(ResourceLabels[req.Resource], ", "), strings.Join(dedup(all), ", "), flag)
	}
	p.Command, p.YAML = render(req, p)
	return p, nil
}

func render(req Request, p Proposal) (string, string) {
	singular := strings.TrimSuffix(req.Resource, "s")
	args := []string{"kubectl metricscale add-rule " + req.SeriesName}
	if p.APIName != strings.TrimSuffix(req.SeriesName, "_total") {
		args = append(args, "--as "+p.APIName)
	}
	if p.NamespaceLabel != "" {
		args = append(args, "--namespace-label "+p.NamespaceLabel)
	}
	if req.Resource == "pods" {
		args = append(args, "--pod-label "+p.ResourceLabel)
	} else {
		args = append(args, fmt.Sprintf("--resource %s=%s", p.ResourceLabel, singular))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "seriesQuery: '{__name__=%q", req.SeriesName)
	if p.NamespaceLabel != "" {
		fmt.Fprintf(&b, ",%s!=\"\"", p.NamespaceLabel)
	}
	fmt.Fprintf(&b, ",%s!=\"\"}'\n", p.ResourceLabel)
	b.WriteString("resources:\n  overrides:\n")
	if p.NamespaceLabel != "" {
		fmt.Fprintf(&b, "    %s: {resource: namespace}\n", p.NamespaceLabel)
	}
	fmt.Fprintf(&b, "    %s: {resource: %s}\n", p.ResourceLabel, singular)
	fmt.Fprintf(&b, "name:\n  matches: ^%s$\n  as: %q\n", quoteMeta(req.SeriesName), p.APIName)
	if p.Counter {
		b.WriteString("metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)\n")
	} else {
		b.WriteString("metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n")
	}
	return strings.Join(args, " "), b.String()
}

func quoteMeta(s string) string {
	return strings.NewReplacer(".", `\.`, "+", `\+`, "*", `\*`, "?", `\?`, "(", `\(`, ")", `\)`, "[", `\[`, "]", `\]`,
		"{", `\{`, "}", `\}`, "^", `\^`, "$", `\$`, "|", `\|`).Replace(s)
}

func dedup(ss []string) []string {
	var out []string
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}
