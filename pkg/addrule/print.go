package addrule

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// PrintPlan tells first what add-rule will do (or that there is nothing to
// do), then what it found, the rule once, what the adapter will serve and
// what else the write needs.
func PrintPlan(w io.Writer, p *Plan, o Options) {
	printHeadline(w, p, o)
	printFound(w, p)
	if p.AlreadyServedBy == "" {
		printRule(w, p)
	}
	fmt.Fprintln(w, "\nthe adapter will serve:")
	var rows [][]string
	for _, m := range p.Produces {
		res := m.Resource
		if m.External {
			res = "(external)"
		}
		rows = append(rows, []string{m.Metric, res, sampleSummary(p.Samples)})
	}
	table.Render(w, "  ", []string{"metric", "resource", "values now (from Prometheus)"}, rows)
	if p.Grant != nil {
		fmt.Fprintf(w, "\nthe adapter's ServiceAccount %s may not list %s: without that it fails every request of the metric; --grant creates what it needs:\n",
			p.Grant.ServiceAccount, strings.Join(p.AdapterCannotList, ", "))
		for _, l := range strings.Split(p.Grant.Commands(), "\n") {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if p.HelmRelease != "" && p.AlreadyServedBy == "" {
		fmt.Fprintf(w, "\nWARNING: Helm release %q manages ConfigMap %s: the next helm upgrade puts the old config back.\n", p.HelmRelease, p.ConfigMap)
		fmt.Fprintf(w, "Put the rule above in the chart's values.yaml as well, under %s.\n", helmPath(p.Proposal))
	}
}

// printHeadline is the conclusion known before anything is written.
func printHeadline(w io.Writer, p *Plan, o Options) {
	if p.AlreadyServedBy != "" {
		fmt.Fprintf(w, "nothing to do: %s is already served by %s\n", p.Produces[0].Metric, p.AlreadyServedBy)
		if p.ServedNote != "" {
			fmt.Fprintf(w, "  (%s; to serve it differently, edit that rule, or add this one under another name with --api-name)\n", p.ServedNote)
		}
		fmt.Fprintln(w)
		return
	}
	what := fmt.Sprintf("append the rule below to %s in ConfigMap %s (key %s)", p.List, p.ConfigMap, p.Key)
	if !o.NoRestart {
		what += " and restart the adapter"
	}
	if d := o.DryRun.String(); d != "" {
		fmt.Fprintf(w, "dry run (%s): nothing is written; without --dry-run, add-rule would %s\n\n", d, what)
		return
	}
	fmt.Fprintf(w, "add-rule will %s\n\n", what)
}

// printFound is what add-rule found: the adapter, Prometheus, the series.
func printFound(w io.Writer, p *Plan) {
	a := p.Adapter
	fmt.Fprintf(w, "adapter     deployment %s, config in ConfigMap %s key %s (relists every %s)\n", p.AdapterRef, p.ConfigMap, p.Key, a.RelistInterval)
	via := p.Prometheus.Via
	if p.Prometheus.Endpoint != "" && p.Prometheus.Endpoint != p.Prometheus.URL {
		via += " at " + p.Prometheus.Endpoint
	}
	fmt.Fprintf(w, "prometheus  %s (%s)\n", p.Prometheus.URL, via)
	pr := p.Proposal
	var mapping []string
	if pr.NamespaceLabel != "" {
		mapping = append(mapping, pr.NamespaceLabel+" → namespace")
	}
	if pr.ResourceLabel != "" {
		mapping = append(mapping, pr.ResourceLabel+" → "+strings.TrimSuffix(pr.Resource, "s"))
	}
	if len(mapping) == 0 {
		mapping = append(mapping, "not namespaced")
	}
	fmt.Fprintf(w, "series      %d series of %s; labels %s\n", p.Series, p.Produces[0].SeriesName, strings.Join(mapping, ", "))
	if len(pr.Alternatives) > 0 {
		fmt.Fprintf(w, "            (the series also carry %s; pick another with %s)\n", strings.Join(pr.Alternatives, ", "), flagFor(pr))
	}
	if pr.Counter {
		fmt.Fprintf(w, "counter     %s ends in _total: the rule serves its per-second rate over 2m as %s\n", p.Produces[0].SeriesName, pr.APIName)
	}
}

// printRule is the rule as it will be written; the diff of the config
// only when the write changes more than the rule's own lines.
func printRule(w io.Writer, p *Plan) {
	fmt.Fprintf(w, "\nrule (appended to %s):\n", p.List)
	for _, l := range strings.Split(strings.TrimRight(rules.ListItem(p.Rule), "\n"), "\n") {
		fmt.Fprintln(w, "  "+l)
	}
	if onlyAdds(p.Diff) {
		return
	}
	fmt.Fprintf(w, "\nthe write changes more of %s than the rule:\n", p.Key)
	printDiff(w, p.Diff)
}

// onlyAdds says whether a unified diff only adds lines.
func onlyAdds(diff string) bool {
	for _, l := range strings.Split(diff, "\n") {
		if strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---") {
			return false
		}
	}
	return true
}

// helmPath is where the prometheus-adapter chart's values keep the rule.
func helmPath(p rules.Proposal) string {
	if p.External {
		return "rules.external"
	}
	return "rules.custom"
}

func flagFor(p rules.Proposal) string { return rules.ResourceFlag(p.Resource, p.Singular) }

func sampleSummary(ss []Sample) string {
	if len(ss) == 0 {
		return "(the query returns nothing now)"
	}
	var parts []string
	for _, s := range ss {
		switch {
		case s.Object != "":
			parts = append(parts, fmt.Sprintf("%s/%s=%s", s.Namespace, s.Object, s.Value))
		case s.Namespace != "":
			parts = append(parts, fmt.Sprintf("%s: %s", s.Namespace, s.Value))
		default:
			parts = append(parts, s.Value)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func printDiff(w io.Writer, diff string) {
	if diff == "" {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, diff)
	if !strings.HasSuffix(diff, "\n") {
		fmt.Fprintln(w)
	}
}

// PrintOutcome tells what happened and the next step.
func PrintOutcome(w io.Writer, r *Result) {
	p := r.Plan
	switch {
	case r.NoOp, r.DryRun != "":
		// PrintPlan said so first.
	case r.Diff != "" && r.Diff != p.Diff:
		fmt.Fprintln(w, "\nthe ConfigMap changed while it was written; the change made to the newer config:")
		printDiff(w, r.Diff)
	}
	if len(r.Served) > 0 {
		fmt.Fprintf(w, "\nthe metrics API serves %s (%s after the write):\n", p.Produces[0].Metric, r.ServedAfter)
		var rows [][]string
		for _, s := range r.Served {
			rows = append(rows, []string{s.Namespace, s.Resource, s.Object, s.Value})
		}
		table.Render(w, "  ", []string{"namespace", "resource", "object", "value"}, rows)
	}
	if r.RolledBack || (len(r.Served) == 0 && !r.NoOp && r.DryRun == "") {
		// Not served (or not restarted): no next step to offer yet.
		return
	}
	if r.HPA != "" {
		fmt.Fprintf(w, "\ncreated HPA %s on %s\n", r.HPA, p.Produces[0].Metric)
		if r.HPARequest != "" && len(r.HPAValues) > 0 {
			var vals []string
			for _, v := range r.HPAValues {
				if v.Object != "" {
					vals = append(vals, v.Object+" = "+v.Value)
				} else {
					vals = append(vals, v.Value)
				}
			}
			fmt.Fprintf(w, "its request, as the HPA controller sends it, answers %s\n  GET %s\n", strings.Join(vals, ", "), r.HPARequest)
		}
		return
	}
	if r.HPAStanza != "" {
		fmt.Fprintln(w, "\nnext: scale on it with an autoscaling/v2 HPA (or run add-rule again with --hpa DEPLOYMENT --target N):")
		for _, l := range strings.Split(strings.TrimRight(r.HPAStanza, "\n"), "\n") {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// NamedObjects are, for -o name, the adapter's ConfigMap and the HPA
// --hpa created.
func (r *Result) NamedObjects() []runtime.Object {
	var out []runtime.Object
	if r.Plan != nil {
		out = append(out, printers.Object("v1", "ConfigMap", nameOf(r.Plan.ConfigMap)))
	}
	if r.HPA != "" {
		out = append(out, printers.Object("autoscaling/v2", "HorizontalPodAutoscaler", nameOf(r.HPA)))
	}
	return out
}

// Backups are rollback --list's backups of the adapter's ConfigMap.
type Backups []configstore.Backup

// NamedObjects are the backup ConfigMaps, for -o name.
func (bs Backups) NamedObjects() []runtime.Object {
	out := make([]runtime.Object, len(bs))
	for i, b := range bs {
		out[i] = printers.Object("v1", "ConfigMap", b.Name)
	}
	return out
}

// nameOf is the name of NAMESPACE/NAME.
func nameOf(ref string) string {
	_, name, _ := strings.Cut(ref, "/")
	return name
}
