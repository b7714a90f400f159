package doctor

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Print writes the report as a table ("table", "wide" or "") or as data
// ("json", "yaml"); the command's -o flags (pkg/printers) check the format.
func Print(w io.Writer, r *Report, format string) error {
	switch format {
	case "table", "wide", "":
		printTable(w, r, format == "wide")
		return nil
	}
	return printers.Print(w, r, format)
}

// NamedObjects are the HPAs of the report, for -o name.
func (r *Report) NamedObjects() []runtime.Object {
	out := make([]runtime.Object, len(r.HPAs))
	for i, h := range r.HPAs {
		out[i] = printers.Object("autoscaling/v2", "HorizontalPodAutoscaler", h.Name)
	}
	return out
}

var linkMark = map[LinkStatus]string{LinkOK: "✔", LinkBroken: "✘", LinkUnknown: "·"}

// ChainPicture renders "prometheus ✔ → rule ✘ → api · → hpa ✘".
func ChainPicture(links []Link) string {
	parts := make([]string, len(links))
	for i, l := range links {
		parts[i] = l.Name + " " + linkMark[l.Status]
	}
	return strings.Join(parts, " → ")
}

func printTable(w io.Writer, r *Report, wide bool) {
	printChainAndHPAs(w, r, wide)
	printCauses(w, r.Causes)
	printCounts(w, r.Summary)
}

// printChainAndHPAs is the table output up to the causes: the answer first
// (each HPA with its metrics and findings, or that there is none), then the
// chain's plumbing with the findings not tied to an HPA metric. Those that
// bear on none of the HPAs fold into one line per code unless wide.
func printChainAndHPAs(w io.Writer, r *Report, wide bool) {
	if len(r.HPAs) == 0 {
		fmt.Fprintln(w, noHPAs(r.Namespace))
	}
	for i, h := range r.HPAs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		printHPA(w, h, wide)
	}
	fmt.Fprintln(w)
	printChain(w, r, wide)
	shown, folded := r.Findings, []Finding(nil)
	if !wide {
		shown, folded = splitFindings(r)
	}
	if len(shown)+len(folded) > 0 {
		fmt.Fprintln(w)
	}
	printFindings(w, shown, wide)
	printFolded(w, folded, len(r.HPAs) > 0)
}

// noHPAs is the answer when the scope holds no HPA.
func noHPAs(namespace string) string {
	if namespace == "" {
		return "no HPAs in any namespace"
	}
	return "no HPAs in namespace " + namespace
}

// printChain is the CHAIN block: the APIServices, the adapter, Prometheus
// and how many metrics are served.
func printChain(w io.Writer, r *Report, wide bool) {
	inv := r.Inventory
	fmt.Fprintln(w, "CHAIN")
	for _, s := range inv.APIServices {
		fmt.Fprintf(w, "  APIService %-34s %s\n", s.Name, apiServiceState(s, r.Findings))
	}
	if a := inv.Adapter; a != nil {
		fmt.Fprintf(w, "  adapter    %-34s %d/%d ready, %d rules, %d external rules, relist %s, config %s\n",
			"deployment/"+a.Name+" -n "+a.Namespace, a.ReadyPods, a.Pods, a.Rules, a.ExternalRules, a.RelistInterval, a.ConfigMap)
		if wide {
			fmt.Fprintf(w, "             image %s, --prometheus-url=%s, --config=%s, max age %s\n", a.Image, a.PrometheusURL, a.Config, a.MaxAge)
		}
	}
	if p := inv.Prometheus; p != nil {
		state := "reachable (" + p.Via + ")"
		if !p.Reachable {
			state = "unreachable: " + p.Error
		}
		fmt.Fprintf(w, "  prometheus %-34s %s\n", p.URL, state)
	}
	fmt.Fprintf(w, "  metrics    %d served by the API, %d discovered by the rules on live series\n", inv.ServedMetrics, inv.DiscoveredMetrics)
}

// printFolded is one line per code of the findings that bear on none of
// the HPAs asked about, and how to see them whole.
func printFolded(w io.Writer, fs []Finding, hpas bool) {
	if len(fs) == 0 {
		return
	}
	var codes []string
	byCode := map[string][]Finding{}
	for _, f := range fs {
		if byCode[f.Code] == nil {
			codes = append(codes, f.Code)
		}
		byCode[f.Code] = append(byCode[f.Code], f)
	}
	for _, c := range codes {
		f, n := byCode[c][0], len(byCode[c])
		count := ""
		if n > 1 {
			count = fmt.Sprintf(" ×%d", n)
		}
		fmt.Fprintf(w, "  %s %-7s %s%s\n", c, f.Severity, f.Title, count)
	}
	about := "no HPA"
	if hpas {
		about = "none of the HPAs above"
	}
	fmt.Fprintf(w, "  (%d %s %s: -o wide shows them)\n", len(fs), plural(len(fs), "finding that concerns", "findings that concern"), about)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// apiServiceState is an APIService as the CHAIN block shows it. A state a
// finding explains points at it, so "absent" never reads as a plain fact
// when an HPA needs the API.
func apiServiceState(s APIService, findings []Finding) string {
	state := "absent"
	if s.Present {
		state = "Available"
		if !s.Available {
			state = "Unavailable (" + s.Reason + ")"
		}
		if s.Service != "" {
			state += ", service " + s.Service
		} else {
			state += ", local"
		}
	}
	for _, f := range findings {
		if f.Object == "APIService "+s.Name {
			return state + " (" + f.Code + " below)"
		}
	}
	return state
}

// printHPA is one HPA: its metrics' table, then its findings.
func printHPA(w io.Writer, h HPAReport, wide bool) {
	fmt.Fprintf(w, "HPA %s/%s → %s   replicas %d (desired %d, min %d, max %d)\n", h.Namespace, h.Name, h.ScaleTarget, h.CurrentReplicas, h.DesiredReplicas, h.MinReplicas, h.MaxReplicas)
	if h.Decision != "" {
		fmt.Fprintf(w, "  DECISION  %s\n", decisionLine(h))
	}
	header := []string{"metric", "type", "target", "current", "chain"}
	if wide {
		header = append(header, "object")
	}
	var rows [][]string
	for _, m := range h.Metrics {
		cur := m.Current
		if cur == "" {
			cur = "<unknown>"
		}
		if m.Now != "" && m.Now != m.Current {
			cur += " (now " + m.Now + ")"
		}
		row := []string{m.Name, m.Type, m.Target, cur, ChainPicture(m.Chain)}
		if wide {
			row = append(row, m.Object)
		}
		rows = append(rows, row)
	}
	table.Render(w, "  ", header, rows)
	var fs []Finding
	fs = append(fs, h.Findings...)
	for _, m := range h.Metrics {
		fs = append(fs, m.Findings...)
	}
	if len(fs) > 0 {
		fmt.Fprintln(w)
		printFindings(w, fs, wide)
	}
}

// decisionLine is the HPA's decision, without the error an HPA finding
// below quotes.
func decisionLine(h HPAReport) string {
	for _, f := range h.Findings {
		if short := shortenRepeat(h.Decision, f.Message, f.Code+" below"); short != h.Decision {
			return short
		}
	}
	return h.Decision
}

func printCounts(w io.Writer, s Summary) {
	fmt.Fprintf(w, "\n%d HPAs, %d metrics, %d healthy; %d errors, %d warnings, %d notes\n", s.HPAs, s.Metrics, s.Healthy, s.Errors, s.Warnings, s.Infos)
}

func printFindings(w io.Writer, fs []Finding, wide bool) {
	for _, f := range fs {
		fmt.Fprintf(w, "  %s %-7s %s\n", f.Code, f.Severity, f.Message)
		ev := f.Evidence
		if !wide && len(ev) > 3 {
			ev = append(ev[:3:3], fmt.Sprintf("(%d more lines with -o wide)", len(f.Evidence)-3))
		}
		for _, e := range ev {
			fmt.Fprintf(w, "                evidence: %s\n", e)
		}
		if f.Fix != nil {
			fmt.Fprintf(w, "                fix: %s\n", f.Fix.Description)
			if f.Fix.Command != "" {
				for _, c := range strings.Split(f.Fix.Command, "\n") {
					fmt.Fprintf(w, "                  $ %s\n", c)
				}
			}
			if f.Fix.YAML != "" {
				for _, l := range strings.Split(strings.TrimRight(f.Fix.YAML, "\n"), "\n") {
					fmt.Fprintf(w, "                  %s\n", l)
				}
			}
		}
	}
}

// PrintSummary is the table output reduced to the findings not tied to an
// HPA, the causes and the counts (doctor --summary).
func PrintSummary(w io.Writer, r *Report) {
	if len(r.Findings) > 0 {
		printFindings(w, r.Findings, false)
	}
	if len(r.Causes) > 0 {
		printCausesTable(w, r.Causes)
	}
	printCounts(w, r.Summary)
}

// printCauses ends the table: the findings grouped by cause, each with one
// fix, when a cause touches more than one HPA.
func printCauses(w io.Writer, cs []Cause) {
	many := false
	for _, c := range cs {
		many = many || c.HPAs > 1
	}
	if many {
		printCausesTable(w, cs)
	}
}

// printCausesTable prints the causes, with a contexts column when they
// come from several kubeconfig contexts.
func printCausesTable(w io.Writer, cs []Cause) {
	fmt.Fprintln(w, "\nCAUSES")
	withContexts := false
	for _, c := range cs {
		withContexts = withContexts || len(c.Contexts) > 0
	}
	header := []string{"code", "severity", "metric", "hpas", "namespaces"}
	if withContexts {
		header = append(header, "contexts")
	}
	header = append(header, "cause")
	var rows [][]string
	for _, c := range cs {
		row := []string{c.Code, string(c.Severity), orDash(c.Metric), strconv.Itoa(c.HPAs), shortList(c.Namespaces)}
		if withContexts {
			row = append(row, shortList(c.Contexts))
		}
		rows = append(rows, append(row, c.Title))
	}
	table.Render(w, "  ", header, rows)
	for _, c := range cs {
		printCauseFix(w, c)
	}
}

// printCauseFix is a cause's fix: whole when its HPAs share it; when each
// HPA has its own (it names the HPA's objects), where to read them.
func printCauseFix(w io.Writer, c Cause) {
	if c.Fix == nil {
		return
	}
	what := c.Code
	if c.Metric != "" {
		what += " " + c.Metric
	}
	if c.Fixes > 1 {
		fmt.Fprintf(w, "  fix %s: one per HPA (%d differ, each naming its HPA's objects): kubectl metricscale doctor HPA -n NAMESPACE prints each\n", what, c.Fixes)
		return
	}
	fmt.Fprintf(w, "  fix %s: %s\n", what, c.Fix.Description)
	for _, l := range strings.Split(c.Fix.Command, "\n") {
		if l != "" {
			fmt.Fprintf(w, "      $ %s\n", l)
		}
	}
	if c.Fix.YAML != "" {
		for _, l := range strings.Split(strings.TrimRight(c.Fix.YAML, "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
