package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
)

// DoctorOptions inspects the metrics chain of the HPAs in scope.
type DoctorOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	Output     string
	Summary    bool
	ChainFlags *chain.Flags
	HPANames   []string

	env       doctor.Env
	namespace string
	chain     chain.Options
}

const doctorExample = `  # every HPA in the current namespace
  kubectl metricscale doctor

  # one HPA, as JSON for a script
  kubectl metricscale doctor interlok-autoscaler -n default -o json

  # a fleet: the findings grouped by cause, one fix each
  kubectl metricscale doctor -A --summary

  # every HPA in the cluster, with Prometheus reached at a URL of your choice
  kubectl metricscale doctor -A --prometheus-url http://localhost:9090`

// NewCmdDoctor returns `kubectl metricscale doctor`.
func NewCmdDoctor(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DoctorOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(true)}
	cmd := &cobra.Command{
		Use:   "doctor [HPA_NAME...]",
		Short: "Inspect the whole chain and name each broken link, its cause and the exact fix",
		Long: `doctor walks, for every metric of every HPA in scope, the chain
Prometheus series → adapter rule → metrics API → HPA, stops at the first broken link,
and reports coded findings (MS1xx plumbing, MS2xx discovery, MS3xx query and value,
MS4xx HPA; see docs/checks.md) with their evidence and a fix.

Exit status: 0 no error found, 1 errors found, 2 doctor could not run.`,
		Example: doctorExample,
		RunE:    runOptions(o),
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "table", "Output format: "+strings.Join(doctor.Formats, ", "))
	f.BoolVar(&o.Summary, "summary", false, "Print only the findings grouped by cause (code, metric, how many HPAs, in which namespaces, one fix) and the counts; -o json carries the causes always")
	o.ChainFlags.AddFlags(f)
	return cmd
}

// Complete reads the flags and builds the clients from kubectl's flags.
func (o *DoctorOptions) Complete(args []string) error {
	o.HPANames = args
	co, c, namespace, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain, o.namespace, o.env = co, namespace, *c
	return nil
}

// Validate rejects flag combinations doctor cannot honour.
func (o *DoctorOptions) Validate() error {
	if !slices.Contains(doctor.Formats, o.Output) {
		return fmt.Errorf("unknown output format %q: use one of %s", o.Output, strings.Join(doctor.Formats, ", "))
	}
	if o.Summary && o.Output != "table" {
		return fmt.Errorf("--summary is a table output: -o %s carries the causes in its causes field", o.Output)
	}
	if o.AllNamespaces && len(o.HPANames) > 0 {
		return fmt.Errorf("HPA names and -A do not go together: name HPAs in one namespace with -n, or use -A alone")
	}
	return nil
}

// Run inspects the chain, prints the report, and maps it to the exit code.
func (o *DoctorOptions) Run(ctx context.Context) error {
	rep, err := doctor.Run(ctx, o.env, doctor.Options{
		Namespace: o.namespace, AllNamespaces: o.AllNamespaces, HPANames: o.HPANames, Chain: o.chain,
	})
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if o.Summary {
		doctor.PrintSummary(o.Out, rep)
	} else if err := doctor.Print(o.Out, rep, o.Output); err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if rep.HasErrors() {
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("doctor found %d errors in the chain", rep.Summary.Errors)}
	}
	return nil
}
