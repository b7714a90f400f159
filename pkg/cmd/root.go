package cmd

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// GlobalOptions are the flags every subcommand shares: kubectl's own global
// flags (--kubeconfig, --context, -n, --as, ...) plus -A.
type GlobalOptions struct {
	ConfigFlags   *genericclioptions.ConfigFlags
	AllNamespaces bool
}

// NewCmdMetricscale returns the root command of the kubectl plugin.
func NewCmdMetricscale(streams genericiooptions.IOStreams) *cobra.Command {
	g := &GlobalOptions{ConfigFlags: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use:   "kubectl-metricscale",
		Short: "Diagnose and repair the Prometheus → prometheus-adapter → HPA chain",
		Long: `metricscale inspects the chain that feeds custom metrics to HorizontalPodAutoscalers
(an exporter, Prometheus, prometheus-adapter, the custom/external metrics APIs and the HPA
controller), names the broken link and writes the fix.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// kubectl runs plugins as `kubectl metricscale`; show that name in help.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl metricscale"},
		// completion is a command of its own, with examples.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)

	flags := cmd.PersistentFlags()
	g.ConfigFlags.AddFlags(flags)
	flags.BoolVarP(&g.AllNamespaces, "all-namespaces", "A", false, "Act on objects in all namespaces; -n is ignored")
	prof := &profiling{}
	prof.addFlags(flags)
	logs := &logging{stderr: streams.ErrOut}
	logs.addFlags(flags)

	cmd.AddCommand(
		NewCmdVersion(streams),
		NewCmdDoctor(g, streams),
		NewCmdAddRule(g, streams),
		NewCmdRollback(g, streams),
		NewCmdWatch(g, streams),
		NewCmdSimulate(g, streams),
		NewCmdHistory(g, streams),
		NewCmdMigrate(g, streams),
		NewCmdGrafana(g, streams),
		NewCmdAlerts(g, streams),
		NewCmdRBAC(streams),
		NewCmdCompletion(streams),
	)
	g.registerCompletions(cmd)
	prof.wrap(cmd)
	start := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if err := logs.apply(); err != nil {
			return err
		}
		return start(c, args)
	}
	return cmd
}
