package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// addDryRunFlag declares kubectl's --dry-run on cmd: none, client or server
// (each of values, the ones the command supports), a bare --dry-run being
// client, as in kubectl.
func addDryRunFlag(cmd *cobra.Command, v *string, usage string, values ...string) {
	cmd.Flags().StringVar(v, "dry-run", "none", usage)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
	_ = cmd.RegisterFlagCompletionFunc("dry-run", completeValues(values...))
}

// checkDryRun refuses a --dry-run value outside values, naming them; why
// says why a value kubectl knows is not among them ("" when none is left
// out).
func checkDryRun(v string, values []string, why string) error {
	for _, x := range values {
		if v == x {
			return nil
		}
	}
	if why != "" && (v == "client" || v == "server" || v == "none") {
		return fmt.Errorf("--dry-run=%s: %s; use %s", v, why, strings.Join(values, " or "))
	}
	return fmt.Errorf("--dry-run=%q: use %s", v, strings.Join(values, ", "))
}
