package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/addrule"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// RollbackOptions restores the adapter's config from a backup.
type RollbackOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	ChainFlags *chain.Flags
	Backup     string
	List       bool
	DryRun     string
	NoRestart  bool
	Timeout    time.Duration
	PrintFlags *printers.Flags

	env   addrule.Env
	chain chain.Options
}

// NewCmdRollback returns `kubectl metricscale rollback`.
func NewCmdRollback(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &RollbackOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(false), PrintFlags: printers.NewFlags("text")}
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Restore the prometheus-adapter config that add-rule replaced, and restart the adapter",
		Long: `rollback restores the newest backup of the adapter's ConfigMap that add-rule kept
(or the one named by --backup), deletes that backup so that the next rollback goes one
step further back, and restarts the adapter. --list shows the backups.`,
		Example: `  kubectl metricscale rollback --list
  kubectl metricscale rollback --dry-run=client
  kubectl metricscale rollback`,
		Args: cobra.NoArgs,
		RunE: runOptions(o),
	}
	f := cmd.Flags()
	o.ChainFlags.AddFlags(f)
	f.StringVar(&o.Backup, "backup", "", "Name of the backup ConfigMap to restore (default: the newest)")
	f.BoolVar(&o.List, "list", false, "List the backups, newest first, and change nothing")
	addDryRunFlag(cmd, &o.DryRun, `"client": show the diff, write nothing; "server": also have the API server check the update; "none": write`, addrule.DryRunValues()...)
	f.BoolVar(&o.NoRestart, "no-restart", false, "Restore the config but do not restart the adapter")
	f.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "How long to wait for the adapter's rollout")
	addOutputFlags(cmd, o.PrintFlags, "Of --list: text is a table; json, yaml and the templates read the list of backups; name: the backup ConfigMaps.")
	return cmd
}

// Complete reads the flags and builds the clients.
func (o *RollbackOptions) Complete([]string) error {
	co, c, _, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain, o.env = co, *c
	return nil
}

// Validate checks the flags before anything is read or written.
func (o *RollbackOptions) Validate() error {
	var errs []error
	if _, err := addrule.ParseDryRun(o.DryRun); err != nil {
		errs = append(errs, err)
	}
	if err := o.PrintFlags.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: must be positive", o.Timeout))
	}
	return errors.Join(errs...)
}

// Run lists or restores.
func (o *RollbackOptions) Run(ctx context.Context) error {
	if o.List {
		return o.list(ctx)
	}
	dry, _ := addrule.ParseDryRun(o.DryRun) // checked by Validate
	res, err := addrule.Rollback(ctx, o.env, addrule.RollbackOptions{Chain: o.chain,
		Backup: o.Backup, DryRun: dry, NoRestart: o.NoRestart, Timeout: o.Timeout}, o.Out)
	if res != nil && res.Diff != "" {
		fmt.Fprint(o.Out, res.Diff)
	}
	if res != nil && res.DryRun != "" {
		fmt.Fprintf(o.Out, "dry run (%s): would restore ConfigMap %s from %s (%s); nothing was written\n", res.DryRun, res.ConfigMap, res.Backup.Name, res.Backup.Reason)
	}
	if err != nil {
		if errors.As(err, new(*addrule.Failed)) {
			return &ExitError{Code: ExitFindings, Err: err}
		}
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	return nil
}

func (o *RollbackOptions) list(ctx context.Context) error {
	_, store, err := addrule.Store(ctx, o.env, o.chain)
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	bs, err := store.Backups(ctx)
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	for i := range bs {
		bs[i].Data = nil
	}
	if !o.PrintFlags.Own() {
		return o.PrintFlags.Print(o.Out, addrule.Backups(bs))
	}
	if len(bs) == 0 {
		fmt.Fprintf(o.Out, "no backups of ConfigMap %s/%s\n", store.Namespace, store.Name)
		return nil
	}
	var rows [][]string
	for _, b := range bs {
		rows = append(rows, []string{b.Name, duration.HumanDuration(time.Since(b.Time)), b.Reason})
	}
	table.Render(o.Out, "", []string{"backup", "age", "reason"}, rows)
	return nil
}
