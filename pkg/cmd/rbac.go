package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/deploy/rbac"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// RBACOptions prints the least-privilege roles the commands need, as they
// are embedded in the binary: a refused request names one, and a user of
// the krew archive has no other copy of it.
type RBACOptions struct {
	genericiooptions.IOStreams

	Role  string
	roles []rbac.Role
}

const rbacExample = `  # the roles, and what each is for
  kubectl metricscale rbac

  # let doctor and watch read the chain: apply the ClusterRole (then bind it, as its comment says)
  kubectl metricscale rbac read-only | kubectl apply -f -`

// NewCmdRBAC returns `kubectl metricscale rbac [ROLE]`.
func NewCmdRBAC(streams genericiooptions.IOStreams) *cobra.Command {
	o := &RBACOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "rbac [ROLE]",
		Short: "Print the least-privilege role a command needs, for kubectl apply",
		Long: `rbac prints the roles metricscale's commands need (the files of deploy/rbac, as this
binary embeds them): without ROLE, a table of them; with ROLE, its YAML for kubectl apply -f -.
A request the API server refuses is answered with the role that grants it and these commands.`,
		Example:           rbacExample,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeRoles,
		RunE:              runOptions(o),
	}
	return cmd
}

// completeRoles offers the roles' names.
func completeRoles(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	roles, err := rbac.Roles()
	if err != nil || len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, r := range roles {
		out = append(out, r.Key)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// Complete reads the embedded roles.
func (o *RBACOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.Role = args[0]
	}
	var err error
	o.roles, err = rbac.Roles()
	return err
}

// Validate refuses a role that does not exist, naming those that do.
func (o *RBACOptions) Validate() error {
	if o.Role == "" {
		return nil
	}
	var keys []string
	for _, r := range o.roles {
		if r.Key == o.Role {
			return nil
		}
		keys = append(keys, r.Key)
	}
	return fmt.Errorf("no role %q: the roles are %s", o.Role, strings.Join(keys, ", "))
}

// Run prints the table, or the role's YAML.
func (o *RBACOptions) Run(context.Context) error {
	var rows [][]string
	for _, r := range o.roles {
		if r.Key == o.Role {
			_, err := o.Out.Write(r.YAML)
			return err
		}
		rows = append(rows, []string{r.Key, r.Kind, r.Name, purpose(r.YAML)})
	}
	table.Render(o.Out, "", []string{"ROLE", "KIND", "NAME", "FOR"}, rows)
	return nil
}

// purpose is the first sentence of a role file's leading comment, up to its
// first colon ("What doctor and watch read, cluster-wide").
func purpose(raw []byte) string {
	var text []string
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, "#") {
			break
		}
		text = append(text, strings.TrimSpace(strings.TrimPrefix(l, "#")))
	}
	s := strings.Join(text, " ")
	if i := strings.IndexAny(s, ":("); i > 0 {
		s = s[:i]
	}
	return strings.TrimRight(strings.TrimSpace(s), ".,")
}
