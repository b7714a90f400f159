package cmd

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/completion"
)

// completionRequestTimeout bounds each request a completion sends when
// --request-timeout is not given: a TAB must not hang on a dead cluster.
const completionRequestTimeout = 5 * time.Second

// registerCompletions completes, on every command that has them, the flags
// whose values come from the cluster or the kubeconfig: namespaces for -n
// and --adapter-namespace, contexts, clusters and users.
func (g *GlobalOptions) registerCompletions(root *cobra.Command) {
	namespaces := g.completeResource("namespaces")
	_ = root.RegisterFlagCompletionFunc("namespace", namespaces)
	_ = root.RegisterFlagCompletionFunc("context", g.completeContexts)
	_ = root.RegisterFlagCompletionFunc("cluster", g.completeKubeconfig(func(c *clientcmdapi.Config) []string { return slices.Sorted(maps.Keys(c.Clusters)) }))
	_ = root.RegisterFlagCompletionFunc("user", g.completeKubeconfig(func(c *clientcmdapi.Config) []string { return slices.Sorted(maps.Keys(c.AuthInfos)) }))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// The adapter flag group (pkg/chain) is added per command.
		if c.LocalNonPersistentFlags().Lookup("adapter-namespace") != nil {
			_ = c.RegisterFlagCompletionFunc("adapter-namespace", namespaces)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completionFactory is kubectl's factory over the flags of the command line
// being completed (--kubeconfig, --context, -n, ...), with a request
// timeout.
func (g *GlobalOptions) completionFactory() cmdutil.Factory {
	return cmdutil.NewFactory(cmdutil.NewMatchVersionFlags(g.withContext("", completionRequestTimeout).ConfigFlags))
}

// completeResource completes a flag with the names of resource (in -n's
// namespace, or the context's, for a namespaced one), read with kubectl's
// own helper.
func (g *GlobalOptions) completeResource(resource string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completion.CompGetResource(g.completionFactory(), resource, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeHPANames completes the HPA_NAME arguments of doctor and watch:
// the HPAs of the namespace not named yet. With -A names are refused, so
// none is offered.
func (g *GlobalOptions) completeHPANames(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if g.AllNamespaces {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := completion.CompGetResource(g.completionFactory(), "horizontalpodautoscalers", toComplete)
	return slices.DeleteFunc(names, func(n string) bool { return slices.Contains(args, n) }), cobra.ShellCompDirectiveNoFileComp
}

// completeContexts completes --context with the kubeconfig's contexts. On a
// command that runs over several contexts (it has --all-contexts) the value
// is a comma-separated list: the last name is completed, and those already
// in the list are not offered again.
//
// kubectl's own helper (completion.ListContextsInConfig) reads a factory
// kept in a package variable; this reads the command line's kubeconfig.
func (g *GlobalOptions) completeContexts(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cfg, err := g.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	listed, last := "", toComplete
	if cmd.Flags().Lookup(allContextsFlag) != nil {
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			listed, last = toComplete[:i+1], toComplete[i+1:]
		}
	}
	given := strings.Split(listed, ",")
	var out []string
	for _, name := range slices.Sorted(maps.Keys(cfg.Contexts)) {
		if strings.HasPrefix(name, last) && !slices.Contains(given, name) {
			out = append(out, listed+name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeKubeconfig completes a flag with names the kubeconfig has.
func (g *GlobalOptions) completeKubeconfig(names func(*clientcmdapi.Config) []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg, err := g.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, n := range names(&cfg) {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeValues completes an enum flag (-o, --dry-run) with its values.
func completeValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}
