package cmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// CompletionOptions writes a shell completion script with cobra's
// generators.
type CompletionOptions struct {
	genericiooptions.IOStreams

	Shell string
	root  *cobra.Command
}

// completionShells are the shells cobra generates scripts for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

const completionExample = `  # bash: kubectl-metricscale <TAB> in every new shell
  kubectl metricscale completion bash > ~/.local/share/bash-completion/completions/kubectl-metricscale

  # zsh (with compinit loaded)
  kubectl metricscale completion zsh > "${fpath[1]}/_kubectl-metricscale"

  # fish
  kubectl metricscale completion fish > ~/.config/fish/completions/kubectl-metricscale.fish

  # PowerShell, in this session
  kubectl metricscale completion powershell | Out-String | Invoke-Expression`

// NewCmdCompletion returns `kubectl metricscale completion SHELL`.
func NewCmdCompletion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CompletionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "completion " + strings.Join(completionShells, "|"),
		Short: "Print the shell completion script for kubectl-metricscale",
		Long: `completion prints the script that completes kubectl-metricscale's commands, flags and
values in SHELL: HPA names, namespaces and deployments from the cluster, contexts from the
kubeconfig, and the values of -o and --dry-run.

Typed as kubectl metricscale, the plugin is completed by kubectl itself (1.26 or later),
which runs kubectl_complete-metricscale from PATH: install that binary beside
kubectl-metricscale and kubectl's own completion needs nothing more.`,
		Example:               completionExample,
		Args:                  cobra.ArbitraryArgs, // Complete names the shells
		ValidArgs:             completionShells,
		DisableFlagsInUseLine: true,
		RunE: func(c *cobra.Command, args []string) error {
			o.root = c.Root()
			return runOptions(o)(c, args)
		},
	}
	return cmd
}

// Complete reads the shell.
func (o *CompletionOptions) Complete(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("completion takes one SHELL, one of %s (for example: kubectl metricscale completion bash); got %d arguments",
			strings.Join(completionShells, ", "), len(args))
	}
	o.Shell = args[0]
	return nil
}

// Validate rejects a shell cobra has no generator for.
func (o *CompletionOptions) Validate() error {
	if !slices.Contains(completionShells, o.Shell) {
		return fmt.Errorf("no completion for shell %q: use one of %s", o.Shell, strings.Join(completionShells, ", "))
	}
	return nil
}

// Run writes the script, with the completions' descriptions.
func (o *CompletionOptions) Run(context.Context) error {
	switch o.Shell {
	case "bash":
		return o.root.GenBashCompletionV2(o.Out, true)
	case "zsh":
		return o.root.GenZshCompletion(o.Out)
	case "fish":
		return o.root.GenFishCompletion(o.Out, true)
	default:
		return o.root.GenPowerShellCompletionWithDesc(o.Out)
	}
}
