package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/history"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
)

// HistoryOptions tells what one HPA did over a span of time.
type HistoryOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	PrintFlags *printers.Flags
	ChainFlags *chain.Flags
	Since      time.Duration

	hpaName   string
	chain     chain.Options
	kube      *kube.Clients
	namespace string
}

const historyExample = `  # what interlok-autoscaler did over the last 6 hours
  kubectl metricscale history interlok-autoscaler -n default

  # last night, with Prometheus reached at a URL of your choice
  kubectl metricscale history web --since 12h --prometheus-url http://localhost:9090

  # the replicas as JSON points, for a script
  kubectl metricscale history web -o jsonpath='{range .replicas[*]}{.t} {.v}{"\n"}{end}'`

// NewCmdHistory returns `kubectl metricscale history`.
func NewCmdHistory(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &HistoryOptions{GlobalOptions: g, IOStreams: streams, PrintFlags: printers.NewFlags("table").WithoutName(), ChainFlags: chain.NewFlags(true), Since: 6 * time.Hour}
	cmd := &cobra.Command{
		Use:   "history HPA_NAME [--since 6h]",
		Short: "Show what an HPA did: its replicas, metrics and conditions over time, and its scaling events",
		Long: `history draws what one HPA did over --since: its current and desired replicas, each
metric's value against its target and the spans of its conditions worth reading, from the
kube_horizontalpodautoscaler_* series kube-state-metrics exports and Prometheus keeps,
and the HPA's events, which the API server keeps an hour. It says where each part comes
from and what is missing. Prometheus is the one the adapter reads, or --prometheus-url.`,
		Example:           historyExample,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: g.completeHPANames,
		RunE:              runOptions(o),
	}
	cmd.Flags().DurationVar(&o.Since, "since", o.Since, "How far back to look")
	o.ChainFlags.AddFlags(cmd.Flags())
	addOutputFlags(cmd, o.PrintFlags, "table: the answer, a sparkline per series, the conditions, the events and the sources.")
	return cmd
}

// Complete reads the flags and builds the clients.
func (o *HistoryOptions) Complete(args []string) error {
	o.hpaName = args[0]
	co, c, namespace, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain, o.kube, o.namespace = co, c, namespace
	return nil
}

// Validate rejects values history cannot run with.
func (o *HistoryOptions) Validate() error {
	if err := o.PrintFlags.Validate(); err != nil {
		return err
	}
	if o.AllNamespaces {
		return fmt.Errorf("history tells one HPA's: name it with -n NAMESPACE instead of -A")
	}
	if o.Since <= 0 || o.Since > 90*24*time.Hour {
		return fmt.Errorf("--since %s: give a duration such as 6h (at most 90 days)", o.Since)
	}
	return nil
}

// Run reads the HPA (it must exist) and its history.
func (o *HistoryOptions) Run(ctx context.Context) error {
	if _, err := kube.HPAs(ctx, o.kube.Client, kube.HPAScope{Namespace: o.namespace, Names: []string{o.hpaName}}, nil); err != nil {
		return err
	}
	t := history.Run(ctx, o.kube, o.chain, o.namespace, o.hpaName, o.Since, time.Now())
	if o.PrintFlags.Own() {
		return history.Print(o.Out, t)
	}
	return o.PrintFlags.Print(o.Out, t)
}
