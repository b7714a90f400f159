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

// FleetReport is the schema of `doctor --context a,b -o json|yaml` and
// `doctor --all-contexts -o json|yaml` (apiVersion metricscale.io/v1alpha1,
// kind DoctorFleetReport): one item per kubeconfig context, in the order
// they were named, and the findings of all of them grouped by cause.
type FleetReport struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Items      []ContextReport `json:"items"`
	// Causes groups the HPAs' findings of every context by code and
	// metric; each cause names its contexts.
	Causes []Cause `json:"causes"`
}

// ContextReport is doctor's outcome for one kubeconfig context: its report,
// or why doctor could not run there.
type ContextReport struct {
	Context string  `json:"context"`
	Report  *Report `json:"report,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// NewFleetReport gathers the contexts' outcomes and groups their findings
// by cause.
func NewFleetReport(items []ContextReport) *FleetReport {
	var scopes []contextHPAs
	for _, it := range items {
		if it.Report != nil {
			scopes = append(scopes, contextHPAs{context: it.Context, hpas: it.Report.HPAs})
		}
	}
	return &FleetReport{APIVersion: "metricscale.io/v1alpha1", Kind: "DoctorFleetReport", Items: items, Causes: groupCauses(scopes)}
}

// ContextSummary is one row of the fleet's summary table.
type ContextSummary struct {
	Context string
	// Ran is false when doctor could not run in the context; Error says why.
	Ran   bool
	Error string
	Summary
}

// Summaries is the fleet's summary table: one row per context.
func (f *FleetReport) Summaries() []ContextSummary {
	out := make([]ContextSummary, 0, len(f.Items))
	for _, it := range f.Items {
		s := ContextSummary{Context: it.Context, Error: it.Error}
		if it.Report != nil {
			s.Ran, s.Summary = true, it.Report.Summary
		}
		out = append(out, s)
	}
	return out
}

// PrintFleet writes the fleet report in format (as Print): for table and
// wide, one section per context (a header line naming it), the summary
// table, the causes across contexts and the counts.
func PrintFleet(w io.Writer, f *FleetReport, format string) error {
	switch format {
	case "table", "wide", "":
		for i, it := range f.Items {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if it.Report == nil {
				printCouldNotRun(w, it)
				continue
			}
			fmt.Fprintf(w, "CONTEXT %s\n", it.Context)
			printChainAndHPAs(w, it.Report, format == "wide")
			printCounts(w, it.Report.Summary)
		}
		printFleetSummary(w, f)
		return nil
	}
	return printers.Print(w, f, format)
}

// NamedObjects are the HPAs of every context's report, for -o name.
func (f *FleetReport) NamedObjects() []runtime.Object {
	var out []runtime.Object
	for _, it := range f.Items {
		if it.Report != nil {
			out = append(out, it.Report.NamedObjects()...)
		}
	}
	return out
}

// PrintFleetSummary is doctor --summary over several contexts: why doctor
// could not run in a context, or its findings not tied to an HPA, then the
// summary table, the causes across contexts and the counts.
func PrintFleetSummary(w io.Writer, f *FleetReport) {
	for _, it := range f.Items {
		switch {
		case it.Report == nil:
			printCouldNotRun(w, it)
		case len(it.Report.Findings) > 0:
			fmt.Fprintf(w, "CONTEXT %s\n", it.Context)
			printFindings(w, it.Report.Findings, false)
		}
	}
	printFleetSummary(w, f)
}

// printCouldNotRun is the section of a context doctor could not run in.
func printCouldNotRun(w io.Writer, it ContextReport) {
	fmt.Fprintf(w, "CONTEXT %s\n  doctor could not run: %s\n", it.Context, it.Error)
}

func printFleetSummary(w io.Writer, f *FleetReport) {
	fmt.Fprintln(w, "\nCONTEXTS")
	var rows [][]string
	var ran, withErrors int
	for _, s := range f.Summaries() {
		if !s.Ran {
			// The whole error is in the context's section above.
			reason, _, _ := strings.Cut(s.Error, ": ")
			rows = append(rows, []string{s.Context, "-", "-", "-", "-", "could not run: " + reason})
			continue
		}
		ran++
		status := "ok"
		if s.Errors > 0 {
			status, withErrors = "errors found", withErrors+1
		}
		rows = append(rows, []string{s.Context, strconv.Itoa(s.HPAs), fmt.Sprintf("%d/%d", s.Healthy, s.Metrics),
			strconv.Itoa(s.Errors), strconv.Itoa(s.Warnings), status})
	}
	table.Render(w, "  ", []string{"context", "hpas", "healthy", "errors", "warnings", "status"}, rows)
	if len(f.Causes) > 0 {
		printCausesTable(w, f.Causes)
	}
	fmt.Fprintf(w, "\n%d contexts, %d with errors, %d could not run\n", len(f.Items), withErrors, len(f.Items)-ran)
}
