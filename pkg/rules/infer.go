package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	pmodel "github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
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
	// inferOrder is the order resources are tried when none is asked for:
	// pods first, the resource a Pods metric of an HPA reads.
	inferOrder = []string{"pods", "services", "deployments"}
)

// Request says what rule to propose; empty fields are inferred from the
// series.
type Request struct {
	SeriesName string // the metric's name in Prometheus
	// Resource is the plural resource the rule serves the metric for (pods,
	// services, ...); empty means the first of pods, services, deployments
	// that a label of the series names. Unused for external rules.
	Resource string
	// Group is the resource's API group ("" for the core group).
	Group string
	// Singular is the resource's singular name as the API server's
	// RESTMapper gives it (ingresses → ingress, endpoints → endpoints).
	Singular       string
	As             string // the API metric name; default: SeriesName, without _total for a counter
	NamespaceLabel string
	ResourceLabel  string
	// SeriesQuery and MetricsQuery replace the generated ones.
	SeriesQuery  string
	MetricsQuery string
	// External proposes an externalRules entry; NotNamespaced makes it
	// cluster-wide (resources.namespaced: false).
	External      bool
	NotNamespaced bool
	// ClusterScoped says Resource's objects belong to no namespace (nodes):
	// their rule needs no namespace label.
	ClusterScoped bool
}

// Proposal is an inferred rule, as an add-rule command and as YAML.
type Proposal struct {
	NamespaceLabel, ResourceLabel string
	// Resource is the plural resource the metric is served for ("" for an
	// external rule), and Singular its singular name.
	Resource, Singular string
	External           bool
	// Alternatives are other labels that could name the resource.
	Alternatives []string
	Counter      bool
	APIName      string
	Command      string
	YAML         string
}

// List is the config list the proposal goes into.
func (p Proposal) List() List {
	if p.External {
		return External
	}
	return Custom
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

// ResourceFlag is the add-rule flag that names the label of a resource whose
// singular name is singular.
func ResourceFlag(resource, singular string) string {
	if resource == "pods" {
		return "--pod-label"
	}
	return "--resource LABEL=" + singular
}

// LabelFlag is the add-rule flag that maps label to resource (singular:
// its singular name).
func LabelFlag(resource, singular, label string) string {
	if resource == "pods" {
		return "--pod-label " + label
	}
	return "--resource " + label + "=" + singular
}

// inferredSingular names the resources Propose infers by themselves, as
// kubectl prints them; any other resource's singular comes with the
// request, from the API server's RESTMapper.
var inferredSingular = map[string]string{"pods": "pod", "services": "service", "deployments": "deployment"}

// singular is resource's singular name: the request's (the RESTMapper's) for
// its resource, else the inferred resources' own, else the resource itself.
func (req Request) singular(resource string) string {
	if req.Singular != "" && resource == req.Resource {
		return req.Singular
	}
	if s, ok := inferredSingular[resource]; ok {
		return s
	}
	return resource
}

// Propose infers a rule from the series of req.SeriesName. A name ending in
// _total is a counter: the query takes its rate and the API name drops
// _total (unless req.As says otherwise).
func Propose(series []prom.Series, req Request) (Proposal, error) {
	p := Proposal{Counter: strings.HasSuffix(req.SeriesName, "_total"), NamespaceLabel: req.NamespaceLabel,
		ResourceLabel: req.ResourceLabel, Resource: req.Resource, External: req.External}
	p.APIName = req.As
	if p.APIName == "" {
		p.APIName = strings.TrimSuffix(req.SeriesName, "_total")
	}
	var err error
	if p.NamespaceLabel == "" && !req.NotNamespaced {
		if p.NamespaceLabel, _, err = pick(series, NamespaceLabels, "--namespace-label"); err != nil {
			return p, err
		}
	}
	if req.NotNamespaced {
		p.NamespaceLabel = ""
	}
	if p.External {
		p.Resource, p.ResourceLabel = "", ""
		if p.NamespaceLabel == "" && !req.NotNamespaced {
			return p, fmt.Errorf("no label of the series names a namespace (looked for %s; the series have %s): name it with --namespace-label, or serve the metric cluster-wide with --namespaced=false",
				strings.Join(NamespaceLabels, ", "), strings.Join(LabelNames(series), ", "))
		}
		return checked(req, p)
	}
	if err := p.inferResource(series, req); err != nil {
		return p, err
	}
	if p.NamespaceLabel == "" && !req.ClusterScoped && p.Resource != "namespaces" {
		// The adapter answers a request for namespaced objects only from
		// series whose namespace label names the request's namespace.
		return p, fmt.Errorf("no label of the series names a namespace (looked for %s; the series have %s): a rule without one serves %s of no namespace, which no HPA can read; name it with --namespace-label",
			strings.Join(NamespaceLabels, ", "), strings.Join(LabelNames(series), ", "), p.Resource)
	}
	return checked(req, p)
}

// present are the candidates that label at least one of the series, in
// the candidates' order.
func present(series []prom.Series, candidates []string) []string {
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

// pick is the first present candidate and the others. Two or more, the
// first not an exported_ one, are ambiguous: the user names one with flag.
func pick(series []prom.Series, candidates []string, flag string) (string, []string, error) {
	found := present(series, candidates)
	switch {
	case len(found) == 0:
		return "", nil, nil
	case strings.HasPrefix(found[0], "exported_") || len(found) == 1:
		return found[0], found[1:], nil
	}
	return found[0], found[1:], &Ambiguous{Flag: flag, Choices: found}
}

// inferResource sets the resource the series describe and the label that
// names it: as the request gives them, else the first resource of
// inferOrder whose label the series have (pods when none).
func (p *Proposal) inferResource(series []prom.Series, req Request) error {
	if p.Resource == "" {
		p.Resource = "pods"
		if p.ResourceLabel == "" {
			for _, r := range inferOrder {
				if len(present(series, ResourceLabels[r])) > 0 {
					p.Resource = r
					break
				}
			}
		}
	}
	if p.ResourceLabel != "" {
		return nil
	}
	var err error
	if p.ResourceLabel, p.Alternatives, err = pick(series, ResourceLabels[p.Resource], ResourceFlag(p.Resource, req.singular(p.Resource))); err != nil || p.ResourceLabel != "" {
		return err
	}
	looked := ResourceLabels[p.Resource]
	what := req.singular(p.Resource)
	flag := ResourceFlag(p.Resource, what)
	if req.Resource == "" {
		looked = nil
		for _, r := range inferOrder {
			looked = append(looked, ResourceLabels[r]...)
		}
		what, flag = "pod, service or deployment", "--pod-label LABEL or --resource LABEL=RESOURCE (e.g. --resource svc_name=service)"
	}
	return fmt.Errorf("no label of the series names a %s (looked for %s; the series have %s): name it with %s",
		what, strings.Join(looked, ", "), strings.Join(LabelNames(series), ", "), flag)
}

// checked renders the proposal and parses its rule as the adapter would,
// then checks its queries with Prometheus's parser.
func checked(req Request, p Proposal) (Proposal, error) {
	if !p.External {
		p.Singular = req.singular(p.Resource)
	}
	p.Command, p.YAML = renderCommand(req, p), renderRule(req, p)
	rule, err := ParseRule(p.List(), p.YAML)
	if err != nil {
		return p, err
	}
	return p, CheckQueries(rule, p.List())
}

// LabelNames are the distinct label names of series, sorted.
func LabelNames(series []prom.Series) []string {
	var all []string
	for _, s := range series {
		for l := range s.Labels {
			all = append(all, string(l))
		}
	}
	sort.Strings(all)
	return dedup(all)
}

// renderCommand is the add-rule command line that writes p.
func renderCommand(req Request, p Proposal) string {
	args := []string{"kubectl metricscale add-rule " + req.SeriesName}
	if p.APIName != strings.TrimSuffix(req.SeriesName, "_total") {
		args = append(args, "--api-name "+p.APIName)
	}
	if p.External {
		args = append(args, "--external")
		if req.NotNamespaced {
			args = append(args, "--namespaced=false")
		}
	}
	if p.NamespaceLabel != "" {
		args = append(args, "--namespace-label "+p.NamespaceLabel)
	}
	switch {
	case p.External:
	case p.Resource == "pods":
		args = append(args, "--pod-label "+p.ResourceLabel)
	default:
		args = append(args, fmt.Sprintf("--resource %s=%s", p.ResourceLabel, p.Singular))
	}
	if req.SeriesQuery != "" {
		args = append(args, "--series-query "+shellQuote(req.SeriesQuery))
	}
	if req.MetricsQuery != "" {
		args = append(args, "--metrics-query "+shellQuote(req.MetricsQuery))
	}
	return strings.Join(args, " ")
}

// renderRule is p as the adapter's rule YAML, in the style its own
// documentation writes rules.
func renderRule(req Request, p Proposal) string {
	var b strings.Builder
	b.WriteString("seriesQuery: " + quoted(proposedSeriesQuery(req, p)) + "\n")
	switch {
	case p.NamespaceLabel == "" && p.ResourceLabel == "":
		b.WriteString("resources:\n  namespaced: false\n")
	default:
		b.WriteString("resources:\n  overrides:\n")
		if p.NamespaceLabel != "" {
			fmt.Fprintf(&b, "    %s: {resource: namespace}\n", p.NamespaceLabel)
		}
		if p.ResourceLabel != "" && req.Group != "" {
			fmt.Fprintf(&b, "    %s: {group: %s, resource: %s}\n", p.ResourceLabel, req.Group, p.Singular)
		} else if p.ResourceLabel != "" {
			fmt.Fprintf(&b, "    %s: {resource: %s}\n", p.ResourceLabel, p.Singular)
		}
	}
	fmt.Fprintf(&b, "name:\n  matches: %s\n  as: %q\n", plainOrQuoted("^"+regexp.QuoteMeta(req.SeriesName)+"$"), p.APIName)
	b.WriteString("metricsQuery: " + plainOrQuoted(proposedMetricsQuery(req, p)) + "\n")
	return b.String()
}

// proposedSeriesQuery is the request's series query, else one selecting
// the series by name with the labels p maps non-empty.
func proposedSeriesQuery(req Request, p Proposal) string {
	if req.SeriesQuery != "" {
		return req.SeriesQuery
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "{__name__=%q", req.SeriesName)
	if p.NamespaceLabel != "" {
		fmt.Fprintf(&sb, ",%s!=\"\"", p.NamespaceLabel)
	}
	if p.ResourceLabel != "" {
		fmt.Fprintf(&sb, ",%s!=\"\"", p.ResourceLabel)
	}
	sb.WriteString("}")
	return sb.String()
}

// proposedMetricsQuery is the request's metrics query, else a sum (of the
// rate, for a counter) by the object the HPA reads.
func proposedMetricsQuery(req Request, p Proposal) string {
	switch {
	case req.MetricsQuery != "":
		return req.MetricsQuery
	case p.Counter:
		return "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"
	default:
		return "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
	}
}

// quoted renders s as a YAML single-quoted scalar, the style the adapter's
// documentation uses for seriesQuery; a multi-line string is double-quoted
// (a JSON string is one), since single quotes fold newlines into spaces.
func quoted(s string) string {
	if strings.ContainsAny(s, "\n\r\t") {
		b, _ := json.Marshal(s)
		return string(b)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// plainOrQuoted renders s as YAML, unquoted when YAML reads it back as the
// same string.
func plainOrQuoted(s string) string {
	var back string
	if !strings.ContainsAny(s, "\n") && yaml.Unmarshal([]byte("v: "+s), &struct {
		V *string `yaml:"v"`
	}{&back}) == nil && back == s {
		return s
	}
	return quoted(s)
}

// shellQuote quotes s for a POSIX shell command line.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func dedup(ss []string) []string {
	var out []string
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}
