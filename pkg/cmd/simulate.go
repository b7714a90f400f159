package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/history"
	"github.com/metricscale/kubectl-metricscale/pkg/hpainput"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/whatif"
)

// SimulateOptions runs the HPA controller's decision over time for one HPA.
type SimulateOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	PrintFlags *printers.Flags
	ChainFlags *chain.Flags
	Sets       []string
	For        time.Duration
	SyncPeriod time.Duration
	Replicas   int32
	Tolerance  float64

	hpaName   string
	sets      []whatif.Set
	chain     chain.Options
	kube      *kube.Clients
	namespace string
}

const simulateExample = `  # what interlok-autoscaler does now, and over the next 10 minutes
  kubectl metricscale simulate interlok-autoscaler -n default

  # what it would do if every pod read 500 messages a second
  kubectl metricscale simulate interlok-autoscaler --set MessageMetrics=500

  # a fifth more load, from 4 replicas, for 3 minutes
  kubectl metricscale simulate web --set cpu=+20% --replicas 4 --for 3m

  # cpu at 80% of the pods' requests, every sync as JSON
  kubectl metricscale simulate web --set cpu=80% -o json

  # the replicas after the last sync, for a script
  kubectl metricscale simulate web --set cpu=x2 -o jsonpath='{.steps[-1:].desired}'`

// NewCmdSimulate returns `kubectl metricscale simulate`.
func NewCmdSimulate(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &SimulateOptions{GlobalOptions: g, IOStreams: streams, PrintFlags: printers.NewFlags("table", "wide").WithoutName(), ChainFlags: chain.NewFlags(true),
		For: 10 * time.Minute, SyncPeriod: 15 * time.Second, Replicas: -1, Tolerance: decision.DefaultConfig().Tolerance}
	cmd := &cobra.Command{
		Use:   "simulate HPA_NAME [--set METRIC=VALUE ...]",
		Short: "Show the replicas the HPA controller chooses now and at each sync, with the values you set",
		Long: `simulate reads what the HPA controller reads for one HPA (its scale, the pods, each
metric's values through the same requests) and runs the controller's decision, ported
from Kubernetes 1.32, now and at each sync over --for: the proposal of each metric, the
stabilization window, the behavior's policies and minReplicas/maxReplicas. --set changes
a metric's value: an absolute value (every pod reads it, for a per-pod metric), a
utilization of the pods' requests (cpu=80%), or a change of what is read (+20%, -10%, x2).
Nothing is written to the cluster.

The controller keeps its earlier recommendations in memory only: simulate recomputes them
over the stabilization window from the HPA's status as kube-state-metrics exports it to
the Prometheus the adapter reads (or --prometheus-url), each pod taken as reading the
average. Without those series a scale-down it shows may be held for up to the window (it
says until when). Pods the HPA adds are taken as Running and Ready at once, reading what
the others read.`,
		Example:           simulateExample,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: g.completeHPANames,
		RunE:              runOptions(o),
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Sets, "set", nil, "METRIC=VALUE: the value of a metric of the HPA (its name, or cpu/memory), e.g. MessageMetrics=500, cpu=80%, MessageMetrics=+20%, queue=x2; repeat for several")
	f.DurationVar(&o.For, "for", o.For, "How long to run the controller's syncs")
	f.DurationVar(&o.SyncPeriod, "sync-period", o.SyncPeriod, "The controller's --horizontal-pod-autoscaler-sync-period")
	f.Int32Var(&o.Replicas, "replicas", o.Replicas, "Start from this many replicas instead of the scale's")
	f.Float64Var(&o.Tolerance, "tolerance", o.Tolerance, "The controller's --horizontal-pod-autoscaler-tolerance")
	o.ChainFlags.AddFlags(f)
	addOutputFlags(cmd, o.PrintFlags, "table: the answer, a sparkline of the replicas and the syncs whose decision changes; wide: every sync.")
	return cmd
}

// Complete reads the flags and builds the clients.
func (o *SimulateOptions) Complete(args []string) error {
	o.hpaName = args[0]
	for _, s := range o.Sets {
		set, err := whatif.ParseSet(s)
		if err != nil {
			return err
		}
		o.sets = append(o.sets, set)
	}
	co, c, namespace, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain, o.kube, o.namespace = co, c, namespace
	return nil
}

// Validate rejects values simulate cannot run with.
func (o *SimulateOptions) Validate() error {
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	switch {
	case o.AllNamespaces:
		return fmt.Errorf("simulate runs one HPA: name it with -n NAMESPACE instead of -A")
	case o.SyncPeriod <= 0:
		return fmt.Errorf("--sync-period %s: give a positive duration such as 15s", o.SyncPeriod)
	case o.For < 0 || o.For/o.SyncPeriod > 10000:
		return fmt.Errorf("--for %s: give a duration of at most 10000 syncs of %s", o.For, o.SyncPeriod)
	case o.Tolerance < 0 || o.Tolerance >= 1:
		return fmt.Errorf("--tolerance %g: give a fraction such as 0.1", o.Tolerance)
	}
	return nil
}

// Run reads the HPA and what its controller reads, applies --set and
// --replicas, and prints the run.
func (o *SimulateOptions) Run(ctx context.Context) error {
	hpas, err := kube.HPAs(ctx, o.kube.Client, kube.HPAScope{Namespace: o.namespace, Names: []string{o.hpaName}}, nil)
	if err != nil {
		return err
	}
	hpa := &hpas[0]
	now := time.Now()
	in, err := hpainput.Read(ctx, hpainput.Live{C: o.kube}, o.kube.Mapper, hpa, now)
	if err != nil {
		return err
	}
	cfg := decision.DefaultConfig()
	cfg.Tolerance = o.Tolerance
	in, memory := hpainput.Memory(ctx, func() (history.RangeQuerier, string) {
		return history.Prometheus(ctx, o.kube, o.chain, now)
	}, in, o.SyncPeriod, cfg)
	if in, err = whatif.Apply(in, o.sets); err != nil {
		return err
	}
	if o.Replicas >= 0 {
		in = whatif.Resize(in, o.Replicas)
	}
	r := whatif.Result{Namespace: hpa.Namespace, Name: hpa.Name, SyncPeriod: o.SyncPeriod.String(), For: o.For.String(),
		MinReplicas: 1, MaxReplicas: hpa.Spec.MaxReplicas, Steps: whatif.Run(in, cfg, o.SyncPeriod, o.For), Assumptions: append(append([]string{}, whatif.Assumptions...), memory)}
	if hpa.Spec.MinReplicas != nil {
		r.MinReplicas = *hpa.Spec.MinReplicas
	}
	for _, s := range o.sets {
		r.Set = append(r.Set, s.String())
	}
	if o.PrintFlags.Own() {
		return whatif.PrintTable(o.Out, r, o.PrintFlags.Format() == "wide")
	}
	return o.PrintFlags.Print(o.Out, r)
}
