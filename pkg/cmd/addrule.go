package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/addrule"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
)

// AddRuleOptions adds one prometheus-adapter rule.
type AddRuleOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	Metric         string
	APIName        string
	NamespaceLabel string
	PodLabel       string
	Resources      []string
	SeriesQuery    string
	MetricsQuery   string
	External       bool
	Namespaced     bool
	ChainFlags     *chain.Flags
	DryRun         string
	NoRestart      bool
	Grant          bool
	Timeout        time.Duration
	HPA            string
	Target         string
	PrintFlags     *printers.Flags

	env  addrule.Env
	opts addrule.Options
}

const addRuleExample = `  # the Interlok guide's metric, pushed with k8s_namespace/k8s_pod_name labels
  kubectl metricscale add-rule MessageMetrics

  # say which labels name the namespace and the pod
  kubectl metricscale add-rule MessageMetrics --namespace-label k8s_namespace --pod-label k8s_pod_name

  # an Object metric on a Service; show the change without writing it
  kubectl metricscale add-rule prom_fake_value --resource service=service --dry-run=client

  # a counter: served as the rate of http_requests_total, named http_requests
  kubectl metricscale add-rule http_requests_total --hpa web --target 10

  # a label of your own naming a Deployment; let the adapter list Deployments if it may not
  kubectl metricscale add-rule app_queue --resource team_deploy=deployment --grant

  # a cluster-wide external metric
  kubectl metricscale add-rule queue_depth --external --namespaced=false`

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// NewCmdAddRule returns `kubectl metricscale add-rule`.
func NewCmdAddRule(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AddRuleOptions{GlobalOptions: g, IOStreams: streams, Namespaced: true, ChainFlags: chain.NewFlags(true), PrintFlags: printers.NewFlags("text")}
	cmd := &cobra.Command{
		Use:   "add-rule METRIC",
		Short: "Add a prometheus-adapter rule safely, restart the adapter and prove the metric is served",
		Long: `add-rule builds a prometheus-adapter discovery rule for the Prometheus metric METRIC
from its live series (which labels name the namespace and the pod, service or
deployment; whether it is a counter), shows what the adapter will serve and a diff of
its config, and writes it into the adapter's ConfigMap: with the resourceVersion it
read (a concurrent change is never overwritten), after keeping the previous config in a
backup ConfigMap (kubectl metricscale rollback restores it). Then it restarts the
adapter, waits until the metrics API serves the metric and prints its values. If the
new adapter does not become ready, the previous config is put back.

Exit status: 0 served (or nothing to do, a dry run, or written with --no-restart), 1
written but not served (the reason is printed; if the adapter failed, the previous config
is back) or the --hpa HPA could not be created, 2 nothing was written (bad flags,
ambiguous series, a conflicting rule, unreachable API server).`,
		Example: addRuleExample,
		Args:    cobra.ArbitraryArgs,
		// METRIC is a Prometheus metric name: nothing to offer from files.
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              runOptions(o),
	}
	f := cmd.Flags()
	// Not --as: that is kubectl's global impersonation flag.
	f.StringVar(&o.APIName, "api-name", "", "Name to serve the metric under in the metrics API (default: METRIC, without _total for a counter)")
	f.StringVar(&o.NamespaceLabel, "namespace-label", "", "Label of the series that names the namespace (default: inferred)")
	f.StringVar(&o.PodLabel, "pod-label", "", "Label of the series that names the pod (default: inferred)")
	f.StringArrayVar(&o.Resources, "resource", nil, "LABEL=RESOURCE: the label that names the object the metric is about (e.g. service=service, k8s_deployment=deployment)")
	f.StringVar(&o.SeriesQuery, "series-query", "", "The rule's seriesQuery (default: built from METRIC and the labels)")
	f.StringVar(&o.MetricsQuery, "metrics-query", "", "The rule's metricsQuery (default: sum by the resource labels; rate over 2m for a counter)")
	f.BoolVar(&o.External, "external", false, "Add an externalRules entry (external.metrics.k8s.io) instead of a custom metrics rule")
	f.BoolVar(&o.Namespaced, "namespaced", true, "With --external: whether the metric belongs to a namespace (--namespaced=false: cluster-wide)")
	o.ChainFlags.AddFlags(f)
	addDryRunFlag(cmd, &o.DryRun, `"client": show the rule and the diff, write nothing; "server": also have the API server check the update; "none": write`, addrule.DryRunValues()...)
	f.BoolVar(&o.NoRestart, "no-restart", false, "Write the rule but do not restart the adapter")
	f.BoolVar(&o.Grant, "grant", false, "Where the adapter's ServiceAccount may not list what the rule maps, create the ClusterRole and binding that let it (with your own rights) before writing; without it, add-rule stops there")
	f.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "How long to wait for the adapter's rollout, and then for the metric to be served")
	f.StringVar(&o.HPA, "hpa", "", "Also create an autoscaling/v2 HPA for this Deployment (in -n's namespace) on the new metric")
	f.StringVar(&o.Target, "target", "", "With --hpa: the target value (a quantity: 100, 500m)")
	addOutputFlags(cmd, o.PrintFlags, "text: the plan, the progress and the outcome as they come; the others: the outcome at the end, progress on stderr; name: the adapter's ConfigMap and the HPA created.")
	// --hpa names the Deployment the new HPA scales.
	_ = cmd.RegisterFlagCompletionFunc("hpa", g.completeResource("deployments"))
	return cmd
}

// Complete builds the request and the clients.
func (o *AddRuleOptions) Complete(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("add-rule takes exactly one METRIC (the metric's name in Prometheus), got %d arguments; see kubectl metricscale add-rule --help", len(args))
	}
	o.Metric = args[0]
	req := addrule.Request{SeriesName: o.Metric, As: o.APIName, NamespaceLabel: o.NamespaceLabel, SeriesQuery: o.SeriesQuery,
		MetricsQuery: o.MetricsQuery, External: o.External, NotNamespaced: !o.Namespaced}
	if o.PodLabel != "" {
		req.Resource, req.Singular, req.ResourceLabel = "pods", "pod", o.PodLabel
	}
	co, cerr := o.ChainFlags.ToOptions()
	if err := errors.Join(o.validateFlags(), cerr); err != nil {
		return err
	}
	c, namespace, err := o.clients()
	if err != nil {
		return err
	}
	o.env = *c
	// Typed by a person: kubectl's shortcuts (svc, deploy) are welcome.
	// The expander reads every group's resources on each lookup: cached,
	// that is one discovery for all the --resource flags.
	typed := restmapper.NewShortcutExpander(c.Mapper, memory.NewMemCacheClient(c.Discovery), func(string) {})
	for _, r := range o.Resources {
		label, res, _ := strings.Cut(r, "=")
		plural, err := typed.ResourceFor(schema.GroupVersionResource{Resource: strings.ToLower(res)})
		if err != nil {
			return fmt.Errorf("--resource %s: the API server knows no resource %q (%v); use a resource name such as pod, service or deployment", r, res, err)
		}
		if plural.Resource == "namespaces" {
			if req.NamespaceLabel != "" && req.NamespaceLabel != label {
				return fmt.Errorf("--resource %s and --namespace-label %s name two namespace labels: give one", r, req.NamespaceLabel)
			}
			req.NamespaceLabel = label
			continue
		}
		if req.ResourceLabel != "" {
			return fmt.Errorf("--resource %s: a rule made by add-rule maps one object label (already %s=%s); write a rule with several by hand", r, req.ResourceLabel, req.Singular)
		}
		req.Resource, req.Group, req.ResourceLabel = plural.Resource, plural.Group, label
		req.Singular = kube.Singular(c.Mapper, plural.GroupResource())
		req.ClusterScoped = kube.ClusterScoped(c.Mapper, plural.GroupResource())
	}
	dry, _ := addrule.ParseDryRun(o.DryRun) // checked by validateFlags
	o.opts = addrule.Options{Request: req, Chain: co, DryRun: dry, NoRestart: o.NoRestart, Grant: o.Grant, Timeout: o.Timeout,
		HPA: o.HPA, Target: o.Target, Namespace: namespace}
	return nil
}

// validateFlags checks what can be checked without a cluster.
func (o *AddRuleOptions) validateFlags() error {
	var errs []error
	if !metricName.MatchString(o.Metric) {
		errs = append(errs, fmt.Errorf("%q is not a Prometheus metric name (letters, digits, _ and :, not starting with a digit)", o.Metric))
	}
	if o.APIName != "" && !metricName.MatchString(o.APIName) {
		errs = append(errs, fmt.Errorf("--api-name %q is not a valid metric name", o.APIName))
	}
	if o.SeriesQuery != "" {
		// Checked before Prometheus is asked for the series it selects.
		if err := addrule.CheckSeriesQuery(o.SeriesQuery); err != nil {
			errs = append(errs, fmt.Errorf("--series-query: %w", err))
		}
	}
	for _, r := range o.Resources {
		if l, res, ok := strings.Cut(r, "="); !ok || l == "" || res == "" {
			errs = append(errs, fmt.Errorf("--resource %q: want LABEL=RESOURCE, e.g. --resource service=service", r))
		}
	}
	if o.PodLabel != "" && len(o.Resources) > 0 {
		for _, r := range o.Resources {
			if _, res, _ := strings.Cut(r, "="); !strings.HasPrefix(res, "namespace") {
				errs = append(errs, fmt.Errorf("--pod-label and --resource %s name two object labels: give one", r))
			}
		}
	}
	if o.External && (o.PodLabel != "" || len(o.Resources) > 0) {
		errs = append(errs, errors.New("--external metrics belong to no object: drop --pod-label/--resource (--namespace-label still applies)"))
	}
	if !o.Namespaced && !o.External {
		errs = append(errs, errors.New("--namespaced=false is for --external rules; custom metrics of pods, services, ... are namespaced"))
	}
	if _, err := addrule.ParseDryRun(o.DryRun); err != nil {
		errs = append(errs, err)
	}
	if (o.HPA == "") != (o.Target == "") {
		errs = append(errs, errors.New("--hpa DEPLOYMENT and --target N go together"))
	}
	if o.HPA != "" && (o.DryRun != "none" || o.NoRestart) {
		errs = append(errs, errors.New("--hpa needs the metric to be served: it does not go with --dry-run or --no-restart"))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: must be positive", o.Timeout))
	}
	if o.AllNamespaces {
		errs = append(errs, errors.New("add-rule does not take -A: the rule applies to every namespace already"))
	}
	return errors.Join(errs...)
}

// Validate checks the output format.
func (o *AddRuleOptions) Validate() error { return o.PrintFlags.Validate() }

// Run plans, prints, applies and reports.
func (o *AddRuleOptions) Run(ctx context.Context) error {
	text := o.PrintFlags.Own()
	// People read progress with the result; machines get the result alone
	// on stdout and progress on stderr.
	var log io.Writer = o.ErrOut
	if text {
		log = o.Out
	}
	plan, err := addrule.Prepare(ctx, o.env, o.opts)
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if text {
		addrule.PrintPlan(o.Out, plan, o.opts)
		fmt.Fprintln(o.Out)
	}
	res, err := addrule.Apply(ctx, o.env, o.opts, plan, log)
	if err != nil && !errors.As(err, new(*addrule.Failed)) {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if res != nil {
		if text {
			addrule.PrintOutcome(o.Out, res)
		} else if perr := o.PrintFlags.Print(o.Out, res); perr != nil {
			return &ExitError{Code: ExitCannotRun, Err: perr}
		}
	}
	if err != nil {
		return &ExitError{Code: ExitFindings, Err: err}
	}
	return nil
}
