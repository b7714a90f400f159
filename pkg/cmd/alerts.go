package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/alerts"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// The formats of the rules alerts prints with -o yaml or json.
const (
	formatRulesFile      = "rules-file"
	formatPrometheusRule = "prometheusrule"
)

// AlertsOptions prints the chain's alerting rules.
type AlertsOptions struct {
	genericiooptions.IOStreams
	*GlobalOptions

	Format      string
	ForScale    float64
	AdapterJob  string
	Apply       bool
	FromCluster bool
	GrafanaURL  string
	ChainFlags  *chain.Flags
	PrintFlags  *printers.Flags

	names     []string
	rules     []alerts.Rule
	chainOpts chain.Options
	env       *kube.Clients // with --apply or --from-cluster
	namespace string
}

const alertsExample = `  # the rules: what each alert watches, its severity and the doctor check that explains it
  kubectl metricscale alerts

  # a rules file for Prometheus's rule_files
  kubectl metricscale alerts -o yaml > metricscale-alerts.yaml

  # a PrometheusRule for the Prometheus Operator
  kubectl metricscale alerts --format prometheusrule -n monitoring -o yaml | kubectl apply -f -

  # the same, written by metricscale (once: a second run writes nothing)
  kubectl metricscale alerts --apply -n monitoring

  # each alert links to the Autoscaling chain dashboard (grafana provision --alerts), its HPA chosen
  kubectl metricscale alerts --apply -n monitoring --grafana-url https://grafana.example.com`

// NewCmdAlerts returns `kubectl metricscale alerts`.
func NewCmdAlerts(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AlertsOptions{IOStreams: streams, GlobalOptions: g, ChainFlags: chain.NewFlags(false), PrintFlags: printers.NewFlags("table").WithoutName()}
	cmd := &cobra.Command{
		Use:   "alerts [HPA...]",
		Short: "Print alerting rules that page before an HPA goes blind",
		Long: `alerts prints Prometheus alerting rules for the chain itself: a metrics APIService unavailable,
prometheus-adapter down or failing or slow, an HPA whose ScalingActive has been False for 10 minutes
or held at maxReplicas for 15, a KEDA scaler erring or answered empty. Each carries a severity, a
runbook_url into docs/checks.md (the doctor check that explains the cause) and the doctor command to
run. Without -o, a table of them; -o yaml or json prints a rules file (--format rules-file, for
Prometheus's rule_files) or a PrometheusRule (--format prometheusrule, in -n's namespace). --apply
creates or updates that PrometheusRule (labelled app.kubernetes.io/managed-by=metricscale; it writes
nothing when the cluster already has it) where the Prometheus Operator's CRD is served, and otherwise
prints the rules file and where it goes. Every rule is checked with Prometheus's own rule parser
before it is printed or applied. --from-cluster adds one rule per metric of the HPAs in scope (-n, -A,
or HPA names): the series the adapter's rule reads for it, absent for 5 minutes (a Pushgateway group
no longer pushed pages before the HPA notices). --grafana-url adds to each alert a dashboard_url
annotation: the "Autoscaling chain" dashboard there, with the alert's HPA chosen.`,
		Example: alertsExample,
		Args:    cobra.ArbitraryArgs,
		RunE:    runOptions(o),
	}
	f := cmd.Flags()
	o.ChainFlags.AddFlags(f)
	f.BoolVar(&o.FromCluster, "from-cluster", false, "Also a rule per metric of the HPAs in scope (-n, -A, HPA names): its series, as the adapter's rule selects them, absent")
	f.StringVar(&o.Format, "format", formatRulesFile, "What -o yaml or json prints: "+formatRulesFile+" (Prometheus's rule_files) or "+formatPrometheusRule+" (the Prometheus Operator's object)")
	f.Float64Var(&o.ForScale, "for-scale", 1, "Multiply every rule's for by this (0.01: seconds, to watch the alerts fire in a trial)")
	f.BoolVar(&o.Apply, "apply", false, "Create or update the PrometheusRule in -n's namespace (where the Prometheus Operator's CRD is served; else print the rules file and where it goes)")
	f.StringVar(&o.GrafanaURL, "grafana-url", "", "Grafana's URL as people open it: each alert's dashboard_url annotation links to the Autoscaling chain dashboard there, its HPA chosen (grafana provision --alerts adds the alerts to it)")
	f.StringVar(&o.AdapterJob, "adapter-job", alerts.DefaultOptions().AdapterJob, "The scrape job of prometheus-adapter's own metrics")
	_ = cmd.RegisterFlagCompletionFunc("format", completeValues(formatRulesFile, formatPrometheusRule))
	addOutputFlags(cmd, o.PrintFlags, "table: a line per rule.")
	return cmd
}

// Complete builds the cluster-wide rules, and the clients for --apply and
// --from-cluster.
func (o *AlertsOptions) Complete(args []string) error {
	o.names = args
	o.rules = alerts.ClusterRules(o.ruleOptions())
	var err error
	if o.Apply || o.FromCluster {
		o.chainOpts, o.env, o.namespace, err = o.completeChain(o.ChainFlags)
	} else {
		o.namespace, _, err = o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	}
	return err
}

func (o *AlertsOptions) ruleOptions() alerts.Options {
	return alerts.Options{AdapterJob: o.AdapterJob, ForScale: o.ForScale, GrafanaURL: o.GrafanaURL}
}

// Validate refuses an unknown format or scale.
func (o *AlertsOptions) Validate() error {
	formats := []string{formatRulesFile, formatPrometheusRule}
	switch {
	case !slices.Contains(formats, o.Format):
		return fmt.Errorf("--format %q: use %s", o.Format, strings.Join(formats, " or "))
	case o.ForScale <= 0:
		return fmt.Errorf("--for-scale %g: give a factor above 0 (1 keeps the rules' for)", o.ForScale)
	case len(o.names) > 0 && !o.FromCluster:
		return fmt.Errorf("HPA names (%s) choose the HPAs of --from-cluster's rules: add --from-cluster", strings.Join(o.names, ", "))
	case len(o.names) > 0 && o.AllNamespaces:
		return fmt.Errorf("HPA names and -A: name HPAs of one namespace (-n), or leave the names out")
	case o.Apply && !o.PrintFlags.Own():
		return fmt.Errorf("--apply and -o %s: --apply writes the PrometheusRule and says what it did; leave -o out, or print the rules without --apply", o.PrintFlags.Output)
	case o.AdapterJob == "":
		return fmt.Errorf("--adapter-job is empty: give the scrape job of prometheus-adapter's metrics")
	}
	if o.GrafanaURL != "" {
		if err := chain.CheckURL(o.GrafanaURL); err != nil {
			return fmt.Errorf("--grafana-url %q: give Grafana's http or https URL as people open it, e.g. https://grafana.example.com (%v)", o.GrafanaURL, err)
		}
	}
	return o.PrintFlags.Validate()
}

// Run prints the table, the rules file or the PrometheusRule, or applies it.
func (o *AlertsOptions) Run(ctx context.Context) error {
	file := alerts.RuleFile{Groups: []alerts.Group{alerts.NewGroup(alerts.ChainGroup, o.rules)}}
	if o.FromCluster {
		series, err := o.seriesRules(ctx)
		if err != nil {
			return err
		}
		o.rules = append(o.rules, series...)
		file.Groups = append(file.Groups, alerts.NewGroup(alerts.SeriesGroup, series))
	}
	if err := alerts.Validate(file); err != nil {
		return err
	}
	obj, err := alerts.PrometheusRule(alerts.ChainGroup, o.namespace, map[string]string{alerts.OwnerLabel: alerts.OwnerValue}, file)
	switch {
	case err != nil:
		return err
	case o.Apply:
		return o.apply(ctx, obj, file)
	case o.PrintFlags.Own():
		o.printTable()
		return nil
	case o.Format == formatRulesFile:
		return o.PrintFlags.Print(o.Out, file)
	}
	return o.PrintFlags.Print(o.Out, obj)
}

// seriesRules are --from-cluster's: a rule per metric of the HPAs in
// scope; a metric no adapter rule serves is said on stderr.
func (o *AlertsOptions) seriesRules(ctx context.Context) ([]alerts.Rule, error) {
	ch := chain.Load(ctx, o.env, o.chainOpts, chain.StageDiscovery, time.Now())
	if err := ch.Err(chain.StageDiscovery); err != nil {
		return nil, fmt.Errorf("--from-cluster: %w", err)
	}
	scope := kube.HPAScope{Namespace: o.namespace, Names: o.names}
	if o.AllNamespaces {
		scope = kube.HPAScope{}
	}
	needs, unserved, err := alerts.SeriesNeeds(ctx, o.env, ch.Discovery, scope)
	if err != nil {
		return nil, fmt.Errorf("--from-cluster: %w", err)
	}
	for _, u := range unserved {
		fmt.Fprintf(o.ErrOut, "--from-cluster: no rule for HPA %s/%s metric %s: %s\n", u.Namespace, u.HPA, u.Metric, u.Reason)
	}
	if len(needs) == 0 {
		return nil, fmt.Errorf("--from-cluster: no HPA metric in scope is read from series the adapter serves (use -n or -A)")
	}
	return alerts.SeriesRules(needs, o.ruleOptions()), nil
}

// apply writes the PrometheusRule, or prints the rules file where no
// Prometheus Operator serves one.
func (o *AlertsOptions) apply(ctx context.Context, obj *unstructured.Unstructured, file alerts.RuleFile) error {
	applied, err := alerts.Apply(ctx, o.env.Dynamic, o.env.Mapper, obj)
	if errors.Is(err, alerts.ErrNoOperator) {
		fmt.Fprintf(o.ErrOut, "%v.\nThe rules file follows: save it beside prometheus.yml and list it under rule_files (the Prometheus chart: the serverFiles key alerting_rules.yml).\n", err)
		return printers.PrintYAML(o.Out, file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "prometheusrule.monitoring.coreos.com/%s %s\n", obj.GetName(), applied)
	return nil
}

func (o *AlertsOptions) printTable() {
	var rows [][]string
	for _, r := range o.rules {
		rows = append(rows, []string{r.Alert, r.Severity, model.Duration(r.For).String(), string(r.Code), r.Watches})
	}
	table.Render(o.Out, "", []string{"ALERT", "SEVERITY", "FOR", "CHECK", "WATCHES"}, rows)
}
