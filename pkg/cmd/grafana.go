package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/dashboards"
	"github.com/metricscale/kubectl-metricscale/pkg/alerts"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	pkgdashboards "github.com/metricscale/kubectl-metricscale/pkg/dashboards"
	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/provision"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Environment variables grafana provision reads: where Grafana is and the
// credentials, which are never taken as flag values.
const (
	envGrafanaURL      = grafana.EnvURL
	envGrafanaToken    = grafana.EnvToken
	envGrafanaUser     = grafana.EnvUser
	envGrafanaPassword = grafana.EnvPassword
)

// NewCmdGrafana returns `kubectl metricscale grafana`.
func NewCmdGrafana(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grafana",
		Short: "Provision Grafana data sources and dashboards for autoscaling",
		Example: `  # the data source, folder and dashboards; show what would change first
  kubectl metricscale grafana provision --dry-run
  kubectl metricscale grafana provision`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(NewCmdGrafanaProvision(g, streams))
	return cmd
}

// GrafanaProvisionOptions writes the data source, the folder and the
// dashboards into Grafana.
type GrafanaProvisionOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	ChainFlags    *chain.Flags
	GrafanaURL    string
	Folder        string
	DataSourceURL string
	DataSourceUID string
	GrafanaSecret string
	CAFile        string
	Insecure      bool
	Namespace     string
	FromCluster   bool
	Alerts        bool
	SelectorFlag
	DryRun     string
	Diff       bool
	PrintFlags *printers.Flags
	Timeout    time.Duration

	env       *kube.Clients
	namespace string
	chain     chain.Options
	creds     grafana.Credentials
	getenv    func(string) string
}

const provisionExample = `  # with Grafana's URL and a service-account token in the environment ($GRAFANA_URL, $GRAFANA_TOKEN)
  kubectl metricscale grafana provision

  # the admin credentials the Grafana chart keeps in a Secret; show what would change
  kubectl metricscale grafana provision --grafana-url http://localhost:3000 --grafana-secret monitoring/grafana --dry-run

  # also chart every HPA metric with the query the adapter runs for it
  kubectl metricscale grafana provision -A --from-cluster

  # with the chain's alerts (kubectl metricscale alerts) on the dashboards
  kubectl metricscale grafana provision --alerts`

// NewCmdGrafanaProvision returns `kubectl metricscale grafana provision`.
func NewCmdGrafanaProvision(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GrafanaProvisionOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(false), getenv: os.Getenv, PrintFlags: printers.NewFlags("table")}
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Add the Prometheus data source the adapter reads and the autoscaling dashboards to Grafana",
		Long: `provision makes Grafana hold a Prometheus data source pointing at the Prometheus the
adapter reads (its --prometheus-url, in-cluster form, or --datasource-url), a folder, and the
dashboards shipped with metricscale, their data source references set to that data source.
Each object is read by uid and written only when it differs, so a second run writes nothing.
Objects Grafana manages from provisioning files are skipped, never forced. A Prometheus data
source Grafana already has at the same URL is used instead of a duplicate. --alerts links the
dashboards to the chain's alerts (kubectl metricscale alerts), read from Prometheus's ALERTS series:
a table of those firing or pending atop the Autoscaling chain dashboard, their firing marked on
every graph.

Grafana is found at --grafana-url or $GRAFANA_URL; without either, provision looks for the
Grafana chart's Service and prints the port-forward command to run. Credentials come from
$GRAFANA_TOKEN (a service-account token), $GRAFANA_USER and $GRAFANA_PASSWORD, or
--grafana-secret NAMESPACE/NAME (the chart's admin-user/admin-password keys, read through the
API server); they are never printed.

Exit status: 0 done or unchanged; 1 an object was skipped or failed; 2 provision could not run
(Grafana unreachable, credentials refused, bad flags).`,
		Example: provisionExample,
		Args:    cobra.NoArgs,
		RunE:    runOptions(o),
	}
	f := cmd.Flags()
	o.ChainFlags.AddFlags(f)
	f.StringVar(&o.GrafanaURL, "grafana-url", "", "Grafana's URL (default $"+envGrafanaURL+")")
	f.StringVar(&o.Folder, "folder", provision.DefaultFolderTitle, "Title of the folder the dashboards go to")
	f.StringVar(&o.DataSourceURL, "datasource-url", "", "URL of the Prometheus data source (default: the adapter's --prometheus-url)")
	f.StringVar(&o.DataSourceUID, "datasource-uid", provision.DefaultDataSourceUID, "uid of the Prometheus data source")
	f.StringVar(&o.GrafanaSecret, "grafana-secret", "", "NAMESPACE/NAME of the Secret with the Grafana chart's admin-user and admin-password keys")
	f.StringVar(&o.CAFile, "grafana-ca-file", "", "CA certificate file to verify Grafana's TLS certificate")
	f.BoolVar(&o.Insecure, "grafana-insecure-skip-tls-verify", false, "Do not verify Grafana's TLS certificate (insecure)")
	f.StringVar(&o.Namespace, "grafana-namespace", grafana.DefaultNamespace, grafana.NamespaceUsage)
	f.BoolVar(&o.FromCluster, "from-cluster", false, "Also build a dashboard of every HPA metric in scope (-n, -A, -l): the query the adapter runs for it beside the HPA's target")
	f.BoolVar(&o.Alerts, "alerts", false, "Link the dashboards to the chain's alerts (kubectl metricscale alerts): a table of those firing or pending atop the Autoscaling chain dashboard, and their firing marked on every graph")
	o.SelectorFlag.AddFlag(f)
	addDryRunFlag(cmd, &o.DryRun, `"client": show what would change, a line per changed object (a dashboard's panels added, changed, removed), and write nothing; "none": write (Grafana has no server-side dry run)`, grafanaDryRuns...)
	f.BoolVar(&o.Diff, "diff", false, "With --dry-run: the unified diff of each changed object's JSON instead of its one-line summary")
	f.DurationVar(&o.Timeout, "grafana-timeout", 30*time.Second, "Timeout of each request to Grafana")
	addOutputFlags(cmd, o.PrintFlags, "name: the Grafana objects by uid (datasource/UID, folder/UID, dashboard/UID).")
	return cmd
}

// Complete reads the flags, the environment and builds the clients.
func (o *GrafanaProvisionOptions) Complete([]string) error {
	co, c, namespace, err := o.completeChain(o.ChainFlags)
	if err != nil {
		return err
	}
	o.chain, o.env, o.namespace = co, c, namespace
	if o.GrafanaURL == "" {
		o.GrafanaURL = o.getenv(envGrafanaURL)
	}
	// A token wins; --grafana-secret wins over a user and password.
	if o.getenv(envGrafanaToken) != "" || o.GrafanaSecret == "" {
		o.creds = grafana.CredentialsFromEnv(o.getenv)
	}
	return nil
}

// Validate checks the flags before anything is read or written.
func (o *GrafanaProvisionOptions) Validate() error {
	var errs []error
	if err := o.PrintFlags.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.DataSourceUID == "" || len(o.DataSourceUID) > 40 {
		errs = append(errs, fmt.Errorf("--datasource-uid %q: Grafana's uids have 1 to 40 characters", o.DataSourceUID))
	}
	if strings.TrimSpace(o.Folder) == "" {
		errs = append(errs, errors.New("--folder: the folder needs a title"))
	}
	if o.CAFile != "" && o.Insecure {
		errs = append(errs, errors.New("--grafana-ca-file and --grafana-insecure-skip-tls-verify: give one"))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--grafana-timeout %s: must be positive", o.Timeout))
	}
	if err := checkDryRun(o.DryRun, grafanaDryRuns, "Grafana's API has no server-side dry run"); err != nil {
		errs = append(errs, err)
	}
	if err := o.SelectorFlag.Validate(nil); err != nil {
		errs = append(errs, err)
	}
	if o.Diff && !o.dryRun() {
		errs = append(errs, errors.New("--diff shows what a dry run would change: add --dry-run"))
	}
	if o.Selector != "" && !o.FromCluster {
		errs = append(errs, fmt.Errorf("--selector %s picks the HPAs of --from-cluster: add --from-cluster", o.Selector))
	}
	return errors.Join(errs...)
}

// grafanaDryRuns are the --dry-run values provision takes.
var grafanaDryRuns = []string{"client", "none"}

// dryRun says whether provision writes nothing.
func (o *GrafanaProvisionOptions) dryRun() bool { return o.DryRun == "client" }

// provisionReport is what -o json|yaml prints.
type provisionReport struct {
	Grafana    string                 `json:"grafana"`
	Version    string                 `json:"version"`
	DryRun     bool                   `json:"dryRun,omitempty"`
	DataSource string                 `json:"datasourceURL"`
	Actions    []grafana.Action       `json:"actions"`
	Requests   grafana.Requests       `json:"requests"`
	Unrendered []provision.Unrendered `json:"unrendered,omitempty"`
}

// NamedObjects are, for -o name, Grafana's objects by uid: kind/UID.
func (r provisionReport) NamedObjects() []runtime.Object {
	out := make([]runtime.Object, len(r.Actions))
	for i, a := range r.Actions {
		out[i] = printers.Object("", string(a.Kind), a.UID)
	}
	return out
}

// Run provisions.
func (o *GrafanaProvisionOptions) Run(ctx context.Context) error {
	cannot := func(err error) error { return &ExitError{Code: ExitCannotRun, Err: err} }
	if o.GrafanaURL == "" {
		return cannot(o.noGrafanaURL(ctx))
	}
	if o.GrafanaSecret != "" {
		user, pass, err := provision.SecretCredentials(ctx, o.env.Client, o.GrafanaSecret)
		if err != nil {
			return cannot(err)
		}
		o.creds = grafana.BasicCredentials(user, pass)
	}
	if o.creds.IsZero() {
		return cannot(fmt.Errorf("no Grafana credentials: set $%s (a service-account token), or $%s and $%s, or give --grafana-secret NAMESPACE/NAME",
			envGrafanaToken, envGrafanaUser, envGrafanaPassword))
	}
	c, err := grafana.New(grafana.Config{URL: o.GrafanaURL, Credentials: o.creds, CAFile: o.CAFile, InsecureSkipTLSVerify: o.Insecure, Timeout: o.Timeout, Namespace: o.Namespace})
	if err != nil {
		return cannot(err)
	}
	health, err := c.Health(ctx)
	if err != nil {
		return cannot(fmt.Errorf("cannot reach Grafana at %s: %w", o.GrafanaURL, err))
	}

	rep := provisionReport{Grafana: o.GrafanaURL, Version: health.Version, DryRun: o.dryRun(), Actions: []grafana.Action{}}
	want, err := o.desired(ctx, &rep)
	if err != nil {
		return cannot(err)
	}
	actions, err := grafana.Converge(ctx, c, want, grafana.Options{DryRun: o.dryRun(), Message: "kubectl metricscale grafana provision"})
	rep.Actions = append(rep.Actions, actions...) // diffs in a dry run only
	rep.Requests = c.Requests()
	if perr := o.print(rep); perr != nil {
		return cannot(perr)
	}
	if err != nil {
		if errors.Is(err, grafana.ErrUnauthorized) || errors.Is(err, grafana.ErrForbidden) {
			return cannot(fmt.Errorf("Grafana refused %s: %w", o.creds.Describe(), err))
		}
		return cannot(err)
	}
	for _, a := range rep.Actions {
		if a.Action == grafana.Skipped || a.Action == grafana.Failed {
			return &ExitError{Code: ExitFindings, Err: fmt.Errorf("%s %s %s: %s", a.Kind, a.Object, a.Action, a.Reason)}
		}
	}
	return nil
}

// desired is what Grafana must hold: the data source at the adapter's
// Prometheus (or --datasource-url), the folder and the dashboards.
func (o *GrafanaProvisionOptions) desired(ctx context.Context, rep *provisionReport) (grafana.Desired, error) {
	upTo := chain.StageConfig
	if o.FromCluster {
		upTo = chain.StageDiscovery
	}
	ch := chain.Load(ctx, o.env, o.chain, upTo, time.Now())
	rep.DataSource = o.DataSourceURL
	if rep.DataSource == "" {
		if err := ch.Err(chain.StageConfig); err != nil || ch.Adapter == nil {
			return grafana.Desired{}, fmt.Errorf("the data source URL: %v; give --datasource-url", err)
		}
		rep.DataSource = ch.Adapter.PrometheusURL
	}
	spec := provision.Spec{DataSourceURL: rep.DataSource, DataSourceUID: o.DataSourceUID, FolderTitle: o.Folder, Files: dashboards.FS()}
	if o.Alerts {
		spec.Alerts = alerts.Dashboards()
	}
	if o.FromCluster {
		var err error
		if spec.FromCluster, rep.Unrendered, err = o.hpaMetrics(ctx, ch); err != nil {
			return grafana.Desired{}, err
		}
	}
	return provision.Desired(spec)
}

// noGrafanaURL says where Grafana is in the cluster and how to reach it.
func (o *GrafanaProvisionOptions) noGrafanaURL(ctx context.Context) error {
	svcs, err := provision.FindGrafana(ctx, o.env.Client, "")
	if err != nil || len(svcs) == 0 {
		return fmt.Errorf("no Grafana URL: give --grafana-url or set $%s (no Service labelled as the Grafana chart labels it was found in the cluster)", envGrafanaURL)
	}
	var lines []string
	for _, s := range svcs {
		cmd, url := s.PortForward()
		lines = append(lines, fmt.Sprintf("  %s   # then --grafana-url %s", cmd, url))
	}
	return fmt.Errorf("no Grafana URL: give --grafana-url or set $%s; Grafana's Service is in the cluster, reach it with:\n%s", envGrafanaURL, strings.Join(lines, "\n"))
}

// hpaMetrics renders the adapter's query for each HPA metric in scope.
func (o *GrafanaProvisionOptions) hpaMetrics(ctx context.Context, ch *chain.Chain) ([]pkgdashboards.HPAMetric, []provision.Unrendered, error) {
	if err := ch.Err(chain.StageDiscovery); err != nil {
		return nil, nil, fmt.Errorf("--from-cluster: %w", err)
	}
	ns := o.namespace
	if o.AllNamespaces {
		ns = ""
	}
	items, missing, err := provision.HPAMetrics(ctx, o.env, ch.Discovery, kube.HPAScope{Namespace: ns, Selector: o.Selector})
	if err != nil {
		return nil, nil, fmt.Errorf("--from-cluster: %w", err)
	}
	for _, m := range missing {
		fmt.Fprintf(o.ErrOut, "--from-cluster: no panel for HPA %s/%s metric %s: %s\n", m.Namespace, m.HPA, m.Metric, m.Reason)
	}
	if len(items) == 0 {
		return nil, missing, fmt.Errorf("--from-cluster: no HPA metric in scope has a query the adapter runs (use -n or -A)")
	}
	return items, missing, nil
}

func (o *GrafanaProvisionOptions) print(rep provisionReport) error {
	if !o.PrintFlags.Own() {
		return o.PrintFlags.Print(o.Out, rep)
	}
	var rows [][]string
	for _, a := range rep.Actions {
		action := string(a.Action)
		if o.dryRun() && (a.Action == grafana.Created || a.Action == grafana.Updated) {
			action = "would be " + action
		}
		rows = append(rows, []string{a.Object, string(a.Kind), action, a.Folder, a.URL})
	}
	table.Render(o.Out, "", []string{"OBJECT", "KIND", "ACTION", "FOLDER", "URL"}, rows)
	for _, a := range rep.Actions {
		if a.Reason != "" {
			fmt.Fprintf(o.Out, "%s %s: %s\n", a.Kind, a.Object, a.Reason)
		}
		switch {
		case o.dryRun() && o.Diff && a.Diff != "":
			fmt.Fprintf(o.Out, "\n%s", a.Diff)
		case o.dryRun() && a.Summary != "":
			fmt.Fprintf(o.Out, "%s %s: %s\n", a.Kind, a.Object, a.Summary)
		}
	}
	what := ""
	if o.dryRun() {
		what = "dry run, nothing written; "
		if !o.Diff {
			what = "dry run, nothing written (--diff shows the JSON); "
		}
	}
	fmt.Fprintf(o.Out, "\nGrafana %s at %s: %s%d requests (%d reads, %d writes)\n", rep.Version, rep.Grafana, what, rep.Requests.Reads+rep.Requests.Writes, rep.Requests.Reads, rep.Requests.Writes)
	return nil
}
