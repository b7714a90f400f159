package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/version"
)

// DoctorOptions inspects the metrics chain of the HPAs in scope.
type DoctorOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	PrintFlags  *printers.Flags
	Summary     bool
	AllContexts bool
	ChainFlags  *chain.Flags
	SelectorFlag
	HPANames []string

	env       doctor.Env
	namespace string
	chain     chain.Options
	// contexts are the kubeconfig contexts of a fleet (--context a,b or
	// --all-contexts); empty: the one cluster of kubectl's flags.
	contexts []string
}

const (
	// fleetLimit bounds how many contexts doctor inspects at once.
	fleetLimit = 4
	// fleetRequestTimeout is each context's request timeout in a fleet when
	// --request-timeout is not given: an unreachable cluster fails alone,
	// soon, instead of holding up the report.
	fleetRequestTimeout = 10 * time.Second
)

const doctorExample = `  # every HPA in the current namespace
  kubectl metricscale doctor

  # one HPA, as JSON for a script
  kubectl metricscale doctor interlok-autoscaler -n default -o json

  # a fleet: the findings grouped by cause, one fix each
  kubectl metricscale doctor -A --summary

  # every HPA in the cluster, with Prometheus reached at a URL of your choice
  kubectl metricscale doctor -A --prometheus-url http://localhost:9090

  # three clusters of the kubeconfig at once: a section each, then a table of them
  kubectl metricscale doctor -A --context prod-eu,prod-us,staging

  # every context of the kubeconfig, as one JSON document
  kubectl metricscale doctor -A --all-contexts -o json

  # the number of errors found, for a script
  kubectl metricscale doctor -A -o jsonpath='{.summary.errors}'

  # the HPAs labelled app=shop in every namespace
  kubectl metricscale doctor -A -l app=shop

  # the HPAs doctor looked at, as kubectl get -o name prints them
  kubectl metricscale doctor -o name`

// NewCmdDoctor returns `kubectl metricscale doctor`.
func NewCmdDoctor(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DoctorOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(true), PrintFlags: printers.NewFlags("table", "wide")}
	cmd := &cobra.Command{
		Use:   "doctor [HPA_NAME...]",
		Short: "Inspect the whole chain and name each broken link, its cause and the exact fix",
		Long: `doctor walks, for every metric of every HPA in scope, the chain
Prometheus series → adapter rule → metrics API → HPA, stops at the first broken link,
and reports coded findings (MS1xx plumbing, MS2xx discovery, MS3xx query and value,
MS4xx HPA; each explained at ` + version.DocURL("docs/checks.md") + `) with their evidence and a fix.

Across clusters: --context with a comma-separated list of kubeconfig contexts (a single
name is kubectl's --context, as for every command), or --all-contexts, runs doctor in each
context at once (four at a time), with -n, -A and the other flags applied in each. The
table output has a section per context, then one row per context (HPAs, healthy metrics
of all, errors, warnings, or why doctor could not run there) and the findings of all of
them grouped by cause; -o json|yaml gives one item per context with its report or its
error. A context whose API server does not answer fails alone within --request-timeout,
10s per request unless given.

Exit status: 0 no error found, 1 errors found, 2 doctor could not run (over several
contexts: the worst of theirs).`,
		Example:           doctorExample,
		ValidArgsFunction: g.completeHPANames,
		RunE:              runOptions(o),
	}
	f := cmd.Flags()
	f.BoolVar(&o.Summary, "summary", false, "Print only the findings grouped by cause (code, metric, how many HPAs, in which namespaces, one fix) and the counts; -o json carries the causes always")
	f.BoolVar(&o.AllContexts, allContextsFlag, false, "Run in every context of the kubeconfig at once (see --context a,b for some of them)")
	o.SelectorFlag.AddFlag(f)
	o.ChainFlags.AddFlags(f)
	addOutputFlags(cmd, o.PrintFlags, "jsonpath and go-template read the fields of -o json (e.g. {.summary.errors}); name: the HPAs reported, as horizontalpodautoscaler.autoscaling/NAME.")
	return cmd
}

// allContextsFlag is doctor's flag for a fleet of every kubeconfig context;
// a command that has it takes a comma-separated --context.
const allContextsFlag = "all-contexts"

// Complete reads the flags and builds the clients from kubectl's flags; a
// comma-separated --context or --all-contexts names a fleet, whose clients
// are built per context in Run.
func (o *DoctorOptions) Complete(args []string) error {
	o.HPANames = args
	if o.AllContexts || strings.Contains(*o.ConfigFlags.Context, ",") {
		co, err := o.ChainFlags.ToOptions()
		if err != nil {
			return err
		}
		o.chain = co
		o.contexts, err = o.fleetContexts()
		return err
	}
	co, c, namespace, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain, o.namespace, o.env = co, namespace, *c
	return nil
}

// Validate rejects flag combinations doctor cannot honour.
func (o *DoctorOptions) Validate() error {
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	if err := o.SelectorFlag.Validate(o.HPANames); err != nil {
		return err
	}
	if o.Summary && o.PrintFlags.Format() != "table" {
		return fmt.Errorf("--summary is a table output: -o %s carries the causes in its causes field", o.PrintFlags.Format())
	}
	if o.AllNamespaces && len(o.HPANames) > 0 {
		return fmt.Errorf("HPA names and -A do not go together: name HPAs in one namespace with -n, or use -A alone")
	}
	if o.AllContexts && *o.ConfigFlags.Context != "" {
		return fmt.Errorf("--all-contexts and --context %s do not go together: name the contexts with --context a,b, or use --all-contexts alone", *o.ConfigFlags.Context)
	}
	return nil
}

// fleetContexts reads the contexts of --all-contexts or --context a,b from
// the kubeconfig; a name it does not have is an error naming those it has.
func (o *DoctorOptions) fleetContexts() ([]string, error) {
	cfg, err := o.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	known := slices.Sorted(maps.Keys(cfg.Contexts))
	if len(known) == 0 {
		return nil, errors.New("the kubeconfig has no contexts (see kubectl config get-contexts, and --kubeconfig or $KUBECONFIG)")
	}
	if o.AllContexts {
		return known, nil
	}
	var names []string
	for _, name := range strings.Split(*o.ConfigFlags.Context, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return nil, fmt.Errorf("--context %q names an empty context: list names apart with commas, e.g. --context a,b", *o.ConfigFlags.Context)
		case slices.Contains(names, name):
			return nil, fmt.Errorf("--context %q names %s twice", *o.ConfigFlags.Context, name)
		case cfg.Contexts[name] == nil:
			return nil, fmt.Errorf("--context: the kubeconfig has no context %q (it has %s)", name, strings.Join(known, ", "))
		}
		names = append(names, name)
	}
	return names, nil
}

// options is what doctor looks at in a cluster whose namespace (-n or the
// context's) is namespace.
func (o *DoctorOptions) options(namespace string) doctor.Options {
	return doctor.Options{Namespace: namespace, AllNamespaces: o.AllNamespaces, HPANames: o.HPANames, Selector: o.Selector, Chain: o.chain}
}

// Run inspects the chain, prints the report, and maps it to the exit code.
func (o *DoctorOptions) Run(ctx context.Context) error {
	if len(o.contexts) > 0 {
		return o.runFleet(ctx)
	}
	rep, err := doctor.Run(ctx, o.env, o.options(o.namespace))
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if err := printReport(o, rep, doctor.PrintSummary, doctor.Print); err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if rep.HasErrors() {
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("doctor found %d errors in the chain", rep.Summary.Errors)}
	}
	return nil
}

// printReport writes a report (one cluster's or a fleet's): --summary, the
// table, or a format of kubectl's.
func printReport[R any](o *DoctorOptions, r R, summary func(io.Writer, R), table func(io.Writer, R, string) error) error {
	switch {
	case o.Summary:
		summary(o.Out, r)
		return nil
	case o.PrintFlags.Own():
		return table(o.Out, r, o.PrintFlags.Format())
	}
	return o.PrintFlags.Print(o.Out, r)
}

// runFleet runs doctor in each context of the fleet, a few at a time, each
// with clients of its own, then prints one report of them all. The exit
// code is the worst of the contexts'.
func (o *DoctorOptions) runFleet(ctx context.Context) error {
	items := make([]doctor.ContextReport, len(o.contexts))
	var g errgroup.Group
	g.SetLimit(fleetLimit)
	for i, name := range o.contexts {
		g.Go(func() error {
			items[i] = o.inspectContext(ctx, name)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	fleet := doctor.NewFleetReport(items)
	if err := printReport(o, fleet, doctor.PrintFleetSummary, doctor.PrintFleet); err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	return fleetError(items)
}

// inspectContext is doctor in one context of a fleet: its own clients, its
// own namespace unless -n is given, and a request timeout.
func (o *DoctorOptions) inspectContext(ctx context.Context, name string) doctor.ContextReport {
	c, namespace, err := o.withContext(name, fleetRequestTimeout).clients()
	if err != nil {
		return doctor.ContextReport{Context: name, Error: err.Error()}
	}
	rep, err := doctor.Run(ctx, *c, o.options(namespace))
	if err != nil {
		return doctor.ContextReport{Context: name, Error: err.Error()}
	}
	return doctor.ContextReport{Context: name, Report: rep}
}

// contextExit is doctor's exit code in one context: 2 it could not run, 1
// it found errors, 0 it found none.
func contextExit(it doctor.ContextReport) int {
	switch {
	case it.Report == nil:
		return ExitCannotRun
	case it.Report.HasErrors():
		return ExitFindings
	}
	return ExitOK
}

// fleetError is the outcome of a fleet: nil when no context has an error,
// else the worst exit code (2 > 1 > 0) and which contexts gave what.
func fleetError(items []doctor.ContextReport) error {
	var failed, withErrors []string
	worst := ExitOK
	for _, it := range items {
		code := contextExit(it)
		worst = max(worst, code)
		switch code {
		case ExitCannotRun:
			failed = append(failed, it.Context)
		case ExitFindings:
			withErrors = append(withErrors, it.Context)
		}
	}
	if worst == ExitOK {
		return nil
	}
	var parts []string
	if len(failed) > 0 {
		parts = append(parts, fmt.Sprintf("doctor could not run in %d of %d contexts (%s)", len(failed), len(items), strings.Join(failed, ", ")))
	}
	if len(withErrors) > 0 {
		parts = append(parts, fmt.Sprintf("doctor found errors in %d of %d contexts (%s)", len(withErrors), len(items), strings.Join(withErrors, ", ")))
	}
	return &ExitError{Code: worst, Err: errors.New(strings.Join(parts, "; "))}
}
