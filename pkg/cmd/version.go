package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/version"
)

// VersionOptions prints the plugin's build identity.
type VersionOptions struct {
	PrintFlags *printers.Flags
	genericiooptions.IOStreams
}

// NewCmdVersion returns `kubectl metricscale version [-o json|yaml]`.
func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams, PrintFlags: printers.NewFlags("text").WithoutName()}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-metricscale",
		Example: `  # the version, one line
  kubectl metricscale version

  # the build identity (version, commit, date, Go version, platform) for a script
  kubectl metricscale version -o json`,
		Args: cobra.NoArgs,
		RunE: runOptions(o),
	}
	addOutputFlags(cmd, o.PrintFlags, "text: one line.")
	return cmd
}

// Complete has nothing to read: version takes no arguments.
func (o *VersionOptions) Complete([]string) error { return nil }

// Validate rejects unknown output formats before anything is printed.
func (o *VersionOptions) Validate() error { return o.PrintFlags.Validate() }

// Run prints the version in the chosen format.
func (o *VersionOptions) Run(context.Context) error {
	info := version.Get()
	if !o.PrintFlags.Own() {
		return o.PrintFlags.Print(o.Out, info)
	}
	_, err := fmt.Fprintln(o.Out, info.String())
	return err
}
