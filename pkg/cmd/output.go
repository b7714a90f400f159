package cmd

import (
	"github.com/spf13/cobra"

	"github.com/metricscale/kubectl-metricscale/pkg/printers"
)

// addOutputFlags adds the -o flag group f to cmd, its values offered by
// completion; note says what the command's own formats and -o name print.
func addOutputFlags(cmd *cobra.Command, f *printers.Flags, note string) {
	f.AddFlags(cmd, note)
	_ = cmd.RegisterFlagCompletionFunc("output", completeValues(f.Formats()...))
}
