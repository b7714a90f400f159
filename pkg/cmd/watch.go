package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/watch"
)

// WatchOptions shows the chain of the HPAs in scope live.
type WatchOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	HPANames   []string
	Interval   time.Duration
	Until      string
	Timeout    time.Duration
	PrintFlags *printers.Flags
	NoColor    bool
	ChainFlags *chain.Flags
	SelectorFlag

	chain     chain.Options
	until     *watch.Condition
	source    watch.Source
	namespace string
}

const watchExample = `  # every HPA in the current namespace, redrawn every 15 s
  kubectl metricscale watch

  # one HPA, until the controller has scaled it to 2 replicas (exit 0), at most 5 minutes (exit 1)
  kubectl metricscale watch interlok-autoscaler --until 'replicas>=2' --timeout 5m

  # a stream of changes for a script
  kubectl metricscale watch -A -o json

  # the value the metrics API serves, one line per change
  kubectl metricscale watch interlok-autoscaler -o jsonpath='{.row.api}{"\n"}'`

// NewCmdWatch returns `kubectl metricscale watch`.
func NewCmdWatch(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &WatchOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(true), PrintFlags: printers.NewFlags("table").WithStream()}
	cmd := &cobra.Command{
		Use:   "watch [HPA_NAME...]",
		Short: "Show the chain live: Prometheus value, metrics API value, target and replicas",
		Long: `watch shows one row per HPA metric: the raw Prometheus value (the adapter rule's
metricsQuery for the target's objects), the value the metrics API serves, the target,
current/desired/min/max replicas, the ScalingActive and ScalingLimited reasons, the last
scale event and a sparkline of recent values (a bar above the middle height is above the
target). HPAs and events are watched; values are polled every --interval, one request
per namespace and metric.

On a terminal the screen is redrawn in place (colour unless --no-color or NO_COLOR);
otherwise a line is printed for each change, as kubectl get -w does. -o json streams one
object per change (time, and the row that changed or the status), one per line; -o yaml
one document per change; -o jsonpath and -o go-template print their template once per
change (end it with {"\n"} for a line each); -o name the HPA of each row that changed.

Exit status with --until: 0 when the condition holds for every HPA metric shown, 1 when
--timeout passes first; 2 when watch cannot run.`,
		Example:           watchExample,
		ValidArgsFunction: g.completeHPANames,
		RunE:              runOptions(o),
	}
	f := cmd.Flags()
	f.DurationVar(&o.Interval, "interval", 15*time.Second, "How often to poll the metric values (the HPA controller's default sync period is 15s)")
	f.StringVar(&o.Until, "until", "", "Stop with exit 0 once FIELD OP NUMBER holds for every row, e.g. 'replicas>=2' (fields: "+strings.Join(watch.ConditionFields, ", ")+")")
	f.DurationVar(&o.Timeout, "timeout", 0, "Stop with exit 1 after this long (0: never)")
	f.BoolVar(&o.NoColor, "no-color", false, "No colours (also when NO_COLOR is set)")
	o.SelectorFlag.AddFlag(f)
	o.ChainFlags.AddFlags(f)
	addOutputFlags(cmd, o.PrintFlags, "table: redrawn on a terminal, lines otherwise; the others print one object per change.")
	return cmd
}

// Complete reads the flags and arguments and builds the clients and the
// live source.
func (o *WatchOptions) Complete(args []string) error {
	o.HPANames = args
	co, c, namespace, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain = co
	if o.Until != "" {
		if o.until, err = watch.ParseCondition(o.Until); err != nil {
			return err
		}
	}
	live, err := watch.NewLive(*c, watch.Options{
		Namespace: namespace, AllNamespaces: o.AllNamespaces, HPANames: o.HPANames, Selector: o.Selector, Chain: o.chain,
	})
	if err != nil {
		return err
	}
	o.source, o.namespace = live, namespace
	return nil
}

// Validate rejects flag combinations watch cannot honour, before it
// starts watching.
func (o *WatchOptions) Validate() error {
	var errs []string
	if err := o.PrintFlags.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if o.Interval < time.Second {
		errs = append(errs, fmt.Sprintf("--interval %s: use 1s or more", o.Interval))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Sprintf("--timeout %s: must not be negative", o.Timeout))
	}
	if o.AllNamespaces && len(o.HPANames) > 0 {
		errs = append(errs, "HPA names and -A do not go together: name HPAs in one namespace with -n, or use -A alone")
	}
	if err := o.SelectorFlag.Validate(o.HPANames); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// newPrinter is -o's printer: the screen on a terminal, else lines, or
// one object per change in a format of kubectl's.
func (o *WatchOptions) newPrinter() (watch.Printer, error) {
	if !o.PrintFlags.Own() {
		p, err := o.PrintFlags.ToPrinter()
		return &watch.JSON{W: o.Out, Printer: p}, err
	}
	scope := "namespace " + o.namespace
	if o.AllNamespaces {
		scope = "any namespace"
	}
	if o.Selector != "" {
		scope += " matching -l " + o.Selector
	}
	if f, ok := o.Out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		title := fmt.Sprintf("kubectl metricscale watch: %s, values every %s", scope, o.Interval)
		if o.until != nil {
			title += ", until " + o.until.String()
		}
		_, noColor := os.LookupEnv("NO_COLOR")
		fd := int(f.Fd())
		width := func() int {
			w, _, err := term.GetSize(fd)
			if err != nil {
				return 0
			}
			return w
		}
		return &watch.Screen{W: o.Out, Color: !o.NoColor && !noColor, Title: title, History: 20, Width: width}, nil
	}
	return &watch.Lines{W: o.Out, Scope: scope}, nil
}

// Run watches until the condition, the timeout or an interrupt.
func (o *WatchOptions) Run(ctx context.Context) error {
	printer, err := o.newPrinter()
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	out, err := watch.Run(ctx, o.source, printer, watch.RunOptions{Interval: o.Interval, Until: o.until, Timeout: o.Timeout})
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	switch out {
	case watch.Interrupted:
		if o.until != nil {
			// A script waiting for the condition must not go on.
			return &ExitError{Code: ExitFindings, Err: fmt.Errorf("interrupted before %s held", o.until)}
		}
	case watch.Met:
		fmt.Fprintf(o.ErrOut, "watch: %s holds\n", o.until)
	case watch.TimedOut:
		what := "--timeout " + o.Timeout.String() + " passed"
		if o.until != nil {
			what += " before " + o.until.String() + " held"
		}
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("%s", what)}
	}
	return nil
}
