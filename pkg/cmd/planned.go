package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newCmdPlanned registers a command whose behaviour is not built yet. It exists
// so that help shows the whole product, and it fails loudly instead of
// pretending to work.
func newCmdPlanned(_ *GlobalOptions, use, short string) *cobra.Command {
	name := strings.Fields(use)[0]
	return &cobra.Command{
		Use:                use,
		Short:              short + " (not implemented yet)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("%q is not implemented yet in this version of kubectl-metricscale; see https://github.com/metricscale/kubectl-metricscale for its status", name)}
		},
	}
}
