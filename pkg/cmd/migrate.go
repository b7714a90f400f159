package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"
	externalmetrics "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/migrate"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
	"github.com/metricscale/kubectl-metricscale/pkg/quantity"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// NewCmdMigrate returns `kubectl metricscale migrate`, the parent of the
// migrations to other autoscalers.
func NewCmdMigrate(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move HPAs fed by prometheus-adapter to another autoscaler, checked side by side",
		Example: `  # the ScaledObjects that replace the adapter for every HPA of the namespace
  kubectl metricscale migrate keda -n default`,
	}
	cmd.AddCommand(NewCmdMigrateKEDA(g, streams))
	return cmd
}

// MigrateKEDAOptions plans ScaledObjects for adapter-fed HPAs.
type MigrateKEDAOptions struct {
	*GlobalOptions
	genericiooptions.IOStreams

	HPANames      []string
	Output        string
	Tolerance     float64
	Force         bool
	ServerAddress string
	Apply         bool
	Rollback      bool
	Timeout       time.Duration
	// KEDAMetricsService names KEDA's metrics server Service
	// (namespace/name) when discovery by KEDA's labels fails.
	KEDAMetricsService string
	ChainFlags         *chain.Flags

	chain     chain.Options
	clients   *kube.Clients
	namespace string
}

// migrateFormats are -o's values; none given prints YAML without
// --apply/--rollback, and kubectl apply's lines with them.
var migrateFormats = []string{"yaml", "json"}

const migrateKEDAExample = `  # ScaledObjects for the HPAs of the current namespace, on stdout; the check on stderr
  kubectl metricscale migrate keda

  # one HPA, applied with kubectl once the check passed
  kubectl metricscale migrate keda interlok-autoscaler -n default | kubectl apply -f -

  # every namespace, as JSON, allowing 5% between the trigger's query and the adapter
  kubectl metricscale migrate keda -A -o json --tolerance 0.05

  # KEDA reaches Prometheus at another address than the adapter does
  kubectl metricscale migrate keda interlok-autoscaler --server-address http://prometheus.monitoring:9090

  # create the ScaledObjects and wait until KEDA drives the HPAs
  kubectl metricscale migrate keda interlok-autoscaler -n default --apply

  # the same, printing the ScaledObjects created as the API server returns them
  kubectl metricscale migrate keda interlok-autoscaler -n default --apply -o yaml

  # put the HPA back as it was before --apply (the same HPA object)
  kubectl metricscale migrate keda interlok-autoscaler -n default --rollback`

// NewCmdMigrateKEDA returns `kubectl metricscale migrate keda`.
func NewCmdMigrateKEDA(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &MigrateKEDAOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(true)}
	cmd := &cobra.Command{
		Use:   "keda [HPA_NAME...]",
		Short: "Print the KEDA ScaledObjects that replace prometheus-adapter for HPAs, checked against the adapter",
		Long: `migrate keda writes, for each HPA whose metrics prometheus-adapter serves (Pods, Object,
External; cpu and memory beside them), a KEDA ScaledObject that adopts the HPA (annotation
scaledobject.keda.sh/transfer-hpa-ownership and advanced.horizontalPodAutoscalerConfig.name:
the HPA is never deleted and re-created), with its scale target, min/max replicas and behavior,
and one prometheus trigger per metric. A trigger's query is the adapter rule's metricsQuery
rendered for the HPA's request exactly as the adapter renders it (for a Pods metric: with the
pod-name pattern below in place of the pods' names), reduced to one number with sum() where it can return
several series; its serverAddress is the adapter's --prometheus-url (or --server-address).
A cpu or memory metric (Resource or ContainerResource) becomes KEDA's cpu / memory trigger
(metricType Utilization or AverageValue, metadata.value the target, metadata.containerName for
a container): the HPA reads it from the resource metrics API before and after, and its check
is that API's value now, the same on both sides.

Before printing, every trigger's query is run against Prometheus and compared with the value
the adapter serves for the same request, as the HPA computes it; both and the replicas each
gives (as the HPA controller counts them: within its tolerance of 10% of the target, or the
HPA's own behavior tolerance, it keeps the current replicas) are printed on stderr. When they
differ beyond --tolerance, or a metric cannot be
migrated (a metric the adapter does not serve, a resource other than cpu and memory, a
target type KEDA lacks), nothing is printed and the exit status is 2, unless --force (then only the HPAs whose
every metric has a trigger are printed).

Every run prints on stderr the plan for the metrics APIServices, made from every HPA of
the cluster: v1beta1.custom.metrics.k8s.io stays with the adapter (KEDA serves no custom
metrics), held by the HPAs not migrated that read Pods or Object metrics;
v1beta1.external.metrics.k8s.io, which KEDA's HPAs read, moves to KEDA's metrics server
unless an HPA neither migrated now nor owned by a ScaledObject reads an External metric from
the adapter (those HPAs are named: they hold it).

--apply creates the ScaledObjects once the check passed, each labelled
app.kubernetes.io/managed-by=kubectl-metricscale and holding its HPA's spec, labels and
annotations as JSON in annotation metricscale.io/original-hpa; then it waits (--timeout) until
each is Ready and its HPA, now owned by it, is ScalingActive with a current value from KEDA,
and exits 1 naming what is missing otherwise. Before creating them it acts on the plan:
when HPAs hold the external APIService it refuses with exit 2 and writes nothing (migrate
those HPAs in the same run, or pass --force to leave the APIService alone: the migrated HPAs
then cannot read KEDA's values); when it moves, it is pointed at KEDA's metrics server (found
by KEDA's labels, or --keda-metrics-service) with the spec KEDA's release writes (KEDA's
operator injects its caBundle), created if absent, its previous spec kept in annotation
metricscale.io/original-apiservice, and --apply waits until it is Available (else puts it
back and creates nothing). Moving it first keeps the migrated HPAs reading: each reads
KEDA's value as soon as its ScaledObject adopts it.
--rollback [HPA...] deletes those ScaledObjects (all of the namespace, or those adopting the
named HPAs) with propagationPolicy Orphan, so the HPA object is kept, writes the backed-up
spec, labels and annotations back onto it, and waits until it reads its metrics again. Once
no ScaledObject is left in the cluster, the external APIService goes back from its backup;
while some are left it stays with KEDA, and the ScaledObjects that keep it are named.

-o: without --apply/--rollback, the ScaledObjects as a List (yaml by default); with them,
kubectl apply's lines by default, or with -o the ScaledObjects created (the HPAs restored)
as the API server returns them: one object, or a List of several.

A Pods trigger matches the scale target's pods by a name pattern that outlives rollouts
(Deployment NAME-<pod-template-hash>-<5 characters>, StatefulSet NAME-<ordinal>, ReplicaSet
NAME-<5 characters>), once that pattern selects exactly the pods the target's selector selects
now; otherwise (another workload's pods match, bare pods, another kind) it names today's pods,
and the plan says so per metric (on stderr and in annotation metricscale.io/trigger-notes):
re-run migrate after a rollout. A pattern also matches the series of pods that are gone while
Prometheus keeps them (a Pushgateway group not deleted): push with a grouping key per pod and
delete a pod's group when the pod goes.`,
		Example:           migrateKEDAExample,
		ValidArgsFunction: g.completeHPANames,
		RunE:              runOptions(o),
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "Output format: yaml or json (default: yaml; with --apply or --rollback, one line per object written)")
	f.Float64Var(&o.Tolerance, "tolerance", 0.01, "Largest relative difference allowed between a trigger's query and the adapter's value (0.01 = 1%)")
	f.BoolVar(&o.Force, "force", false, "Print (or apply) the ScaledObjects of the HPAs that can be migrated even when a check fails; with --apply, leave the external metrics APIService alone when HPAs hold it")
	f.StringVar(&o.ServerAddress, "server-address", "", "Prometheus URL the triggers query (default: the adapter's --prometheus-url)")
	f.BoolVar(&o.Apply, "apply", false, "Create the ScaledObjects (backing up each HPA on its ScaledObject) and wait until KEDA drives the HPAs")
	f.BoolVar(&o.Rollback, "rollback", false, "Delete the ScaledObjects migrate created, keeping their HPAs, and restore each HPA's backed-up spec")
	f.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "With --apply or --rollback: how long to wait for KEDA and the HPA controller")
	f.StringVar(&o.KEDAMetricsService, "keda-metrics-service", "", "KEDA's metrics server Service as NAMESPACE/NAME, when it is not found by KEDA's labels")
	o.ChainFlags.AddFlags(f)
	_ = cmd.RegisterFlagCompletionFunc("output", completeValues(migrateFormats...))
	return cmd
}

// Complete reads the flags and arguments and builds the clients.
func (o *MigrateKEDAOptions) Complete(args []string) error {
	o.HPANames = args
	var err error
	o.chain, o.clients, o.namespace, err = o.completeChain(o.ChainFlags)
	return err
}

// Validate rejects what cannot be planned, before anything is read.
func (o *MigrateKEDAOptions) Validate() error {
	var errs []string
	if o.Output != "" && !slices.Contains(migrateFormats, o.Output) {
		errs = append(errs, fmt.Sprintf("unknown output format %q: use one of %s", o.Output, strings.Join(migrateFormats, ", ")))
	}
	if o.Tolerance < 0 || o.Tolerance >= 1 {
		errs = append(errs, fmt.Sprintf("--tolerance %g: use a fraction from 0 to below 1, e.g. 0.01 for 1%%", o.Tolerance))
	}
	if o.Apply && o.Rollback {
		errs = append(errs, "--apply and --rollback do not go together: apply, then roll back in a second run if needed")
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Sprintf("--timeout %s: give a positive duration, e.g. 2m", o.Timeout))
	}
	if o.AllNamespaces && len(o.HPANames) > 0 {
		errs = append(errs, "HPA names and -A do not go together: name HPAs in one namespace with -n, or use -A alone")
	}
	if ns, name, ok := strings.Cut(o.KEDAMetricsService, "/"); o.KEDAMetricsService != "" && (!ok || ns == "" || name == "" || strings.Contains(name, "/")) {
		errs = append(errs, fmt.Sprintf("--keda-metrics-service %q: give NAMESPACE/NAME, e.g. keda/keda-operator-metrics-apiserver", o.KEDAMetricsService))
	}
	if o.ServerAddress != "" {
		if err := chain.CheckURL(o.ServerAddress); err != nil {
			errs = append(errs, "--server-address: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// Run plans, checks, and prints or applies the ScaledObjects; or rolls
// them back.
func (o *MigrateKEDAOptions) Run(ctx context.Context) error {
	if o.Rollback {
		return o.rollback(ctx)
	}
	hpas, err := o.hpas(ctx)
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	ch := chain.Load(ctx, o.clients, o.chain, chain.StageDiscovery, time.Now())
	if err := ch.Err(chain.StagePrometheus); err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	if ch.Discovery == nil {
		return &ExitError{Code: ExitCannotRun, Err: errors.New("the adapter's rules could not be simulated: run kubectl metricscale doctor")}
	}
	server := o.ServerAddress
	if server == "" {
		if ch.Adapter == nil || ch.Adapter.PrometheusURL == "" {
			return &ExitError{Code: ExitCannotRun, Err: errors.New("the adapter has no --prometheus-url for KEDA to query: pass --server-address")}
		}
		server = ch.Adapter.PrometheusURL
	}
	env, err := o.env(ch)
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	results := migrate.Collect(ctx, env, hpas, migrate.Options{ServerAddress: server}, o.Tolerance)
	printMigrateSummary(o.ErrOut, results)

	var problems []string
	list := objectList[*keda.ScaledObject]{APIVersion: "v1", Kind: "List", Items: []*keda.ScaledObject{}}
	for i := range results {
		p := results[i].Problems()
		problems = append(problems, p...)
		if len(p) == 0 || (o.Force && results[i].Migratable()) {
			list.Items = append(list.Items, results[i].ScaledObject)
		}
	}
	if len(problems) > 0 && !o.Force {
		return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("nothing printed, because:\n  %s\n  fix what is named, or pass --force to print the HPAs that can be migrated",
			strings.Join(problems, "\n  "))}
	}
	for _, p := range problems {
		fmt.Fprintf(o.ErrOut, "warning (--force): %s\n", p)
	}
	plan, kedaServer, err := o.planAPIServices(ctx, ch, list.Items)
	if err != nil && o.Apply {
		return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("%w: nothing applied", err)}
	} else if err != nil {
		fmt.Fprintf(o.ErrOut, "warning: no plan for the metrics APIServices: %v\n", err)
	} else {
		printAPIServicePlan(o.ErrOut, plan)
	}
	if o.Apply {
		w, err := o.writer()
		if err != nil {
			return &ExitError{Code: ExitCannotRun, Err: err}
		}
		return o.apply(ctx, w, list.Items, plan, kedaServer)
	}
	format := o.Output
	if format == "" {
		format = "yaml"
	}
	return printers.Print(o.Out, list, format)
}

// apply acts on the APIService plan, then creates the ScaledObjects and
// waits until KEDA drives the HPAs. The external APIService moves first:
// the migrated HPAs then read KEDA's values as soon as their ScaledObject
// adopts them (the other order leaves every adopted HPA without a value
// until the move, and a move that fails after the creates leaves them so),
// and a KEDA metrics server that never becomes Available stops the run
// before any ScaledObject exists.
func (o *MigrateKEDAOptions) apply(ctx context.Context, w *migrate.Writer, sos []*keda.ScaledObject, plan migrate.APIServicePlan, kedaServer func() (apiservice.KEDAMetricsServer, error)) error {
	if len(sos) == 0 {
		return &ExitError{Code: ExitCannotRun, Err: errors.New("no HPA can be migrated: nothing applied")}
	}
	ext := plan.External
	if err := w.Check(ctx, migrate.ApplyAccess(sos, ext)); err != nil {
		return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("nothing applied: %w", err)}
	}
	switch {
	case plan.KEDAUnreachable() && !o.Force:
		return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("nothing applied: APIService %s %s", ext.Name, ext.Why)}
	case plan.KEDAUnreachable():
		fmt.Fprintf(o.ErrOut, "warning (--force): APIService %s is left alone (%s): the migrated HPAs cannot read KEDA's values until it points at KEDA's metrics server\n", ext.Name, ext.Service)
	case ext.Action == migrate.APIServiceMoves:
		server, err := kedaServer()
		if err != nil {
			return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("%w: nothing applied", err)}
		}
		if err := w.MoveExternal(ctx, server); err != nil {
			return &ExitError{Code: ExitFindings, Err: err}
		}
	}
	created, err := w.Apply(ctx, sos)
	objs := make([]any, len(created))
	for i, so := range created {
		objs[i] = so
	}
	return o.written(objs, err)
}

// rollback puts the migrated HPAs back.
func (o *MigrateKEDAOptions) rollback(ctx context.Context) error {
	w, err := o.writer()
	if err != nil {
		return &ExitError{Code: ExitCannotRun, Err: err}
	}
	ns := o.namespace
	if o.AllNamespaces {
		ns = ""
	}
	restored, err := w.Rollback(ctx, ns, o.HPANames)
	objs := make([]any, len(restored))
	for i, h := range restored {
		// The typed client drops apiVersion and kind.
		h = h.DeepCopy()
		h.APIVersion, h.Kind = "autoscaling/v2", "HorizontalPodAutoscaler"
		objs[i] = h
	}
	return o.written(objs, err)
}

// written prints what --apply or --rollback wrote (printWritten), also
// when it stopped on err, and exits 1 on err or a failed print.
func (o *MigrateKEDAOptions) written(objs []any, err error) error {
	if perr := o.printWritten(objs); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return &ExitError{Code: ExitFindings, Err: err}
	}
	return nil
}

// printWritten prints, with -o, the objects written as read back, as
// kubectl apply -o does: one object alone, several as a v1 List.
func (o *MigrateKEDAOptions) printWritten(objs []any) error {
	if o.Output == "" || len(objs) == 0 {
		return nil
	}
	for _, obj := range objs {
		// As kubectl prints objects unless --show-managed-fields.
		if a, err := apimeta.Accessor(obj); err == nil {
			a.SetManagedFields(nil)
		}
	}
	if len(objs) == 1 {
		return printers.Print(o.Out, objs[0], o.Output)
	}
	return printers.Print(o.Out, objectList[any]{APIVersion: "v1", Kind: "List", Items: objs}, o.Output)
}

// planAPIServices reads both metrics APIServices and every HPA of the
// cluster, and plans the APIServices for migrating the HPAs of sos. KEDA's
// metrics server is looked for here (its Service tells KEDA's APIService
// apart); the error of that search matters only if the APIService moves,
// so it is returned with the server, for apply.
func (o *MigrateKEDAOptions) planAPIServices(ctx context.Context, ch *chain.Chain, sos []*keda.ScaledObject) (migrate.APIServicePlan, func() (apiservice.KEDAMetricsServer, error), error) {
	server, findErr := apiservice.FindKEDAMetricsServer(ctx, o.clients.Client, o.KEDAMetricsService)
	kedaServer := func() (apiservice.KEDAMetricsServer, error) { return server, findErr }
	var owners apiservice.Owners
	if findErr == nil {
		owners.KEDAService = server.Ref()
	}
	if ch.Adapter != nil {
		owners.Adapter = ch.Adapter.Namespace + "/" + ch.Adapter.Name
	}
	if o.clients.Aggregator == nil {
		return migrate.APIServicePlan{}, kedaServer, errors.New("no client for the APIServices")
	}
	custom, external, err := migrate.ReadAPIServices(ctx, o.clients.Aggregator, owners)
	if err != nil {
		return migrate.APIServicePlan{}, kedaServer, err
	}
	all, err := o.clients.Client.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return migrate.APIServicePlan{}, kedaServer, fmt.Errorf("listing the HorizontalPodAutoscalers of every namespace, to know which hold the metrics APIServices: %w", err)
	}
	migrating := make([]string, len(sos))
	for i, so := range sos {
		migrating[i] = so.Namespace + "/" + so.HPAName()
	}
	return migrate.PlanAPIServices(custom, external, migrate.UsesOf(all.Items), migrating), kedaServer, nil
}

// printAPIServicePlan writes one line per APIService: where it points, what
// becomes of it and why, and the HPAs that hold it.
func printAPIServicePlan(w io.Writer, p migrate.APIServicePlan) {
	for _, s := range []migrate.APIServiceStep{p.Custom, p.External} {
		where := "absent"
		if s.Present {
			backend := string(s.Backend)
			if s.Backend == apiservice.Unknown {
				backend = "another server"
			}
			where = s.Service + " (" + backend + ")"
		}
		fmt.Fprintf(w, "APIService %s, %s: %s: %s\n", s.Name, where, s.Action, s.Why)
		if len(s.HeldBy) > 0 {
			fmt.Fprintf(w, "  held by HPA(s): %s\n", strings.Join(s.HeldBy, ", "))
		}
	}
}

// allowed asks the API server whether the caller may do each of attrs and
// turns the first refusal into the one message a refused request gets (the
// role of deploy/rbac that grants it). An API server that cannot answer
// the question leaves the answer to the writes themselves.
func (o *MigrateKEDAOptions) allowed(ctx context.Context, attrs []authorizationv1.ResourceAttributes) error {
	r, err := kube.FirstDenied(ctx, o.clients.Client, attrs)
	if err != nil || r == nil {
		return nil
	}
	if d := denial(*r, nil); d != nil {
		return d
	}
	return fmt.Errorf("cannot %s: Forbidden for %q (no role of deploy/rbac grants it)", r.What(), r.User)
}

func (o *MigrateKEDAOptions) writer() (*migrate.Writer, error) {
	kc, err := keda.NewForConfig(o.clients.Rest)
	if err != nil {
		return nil, err
	}
	w := &migrate.Writer{Client: o.clients.Client, KEDA: kc, Aggregator: o.clients.Aggregator, Timeout: o.Timeout, Interval: 2 * time.Second, Out: o.Out, Progress: o.ErrOut,
		Allowed: o.allowed}
	if o.Output != "" {
		// stdout holds the objects alone; the lines go with the progress.
		w.Out = o.ErrOut
	}
	return w, nil
}

// objectList is a v1 List, which kubectl apply -f reads.
type objectList[T any] struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Items      []T    `json:"items"`
}

// hpas are the HPAs named, or those of the namespace (all with -A).
func (o *MigrateKEDAOptions) hpas(ctx context.Context) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	api := o.clients.Client.AutoscalingV2()
	if len(o.HPANames) > 0 {
		var out []autoscalingv2.HorizontalPodAutoscaler
		for _, n := range o.HPANames {
			h, err := api.HorizontalPodAutoscalers(o.namespace).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("reading HPA %s/%s: %w", o.namespace, n, err)
			}
			out = append(out, *h)
		}
		return out, nil
	}
	ns := o.namespace
	if o.AllNamespaces {
		ns = ""
	}
	l, err := api.HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	if len(l.Items) == 0 {
		return nil, fmt.Errorf("no HorizontalPodAutoscalers in %s: name a namespace with -n, or use -A", migrate.Scope(ns))
	}
	return l.Items, nil
}

// env builds the metrics clients as the HPA controller uses them.
func (o *MigrateKEDAOptions) env(ch *chain.Chain) (migrate.Env, error) {
	env := migrate.Env{Clients: o.clients, Chain: ch}
	var err error
	if env.Scales, err = o.clients.Scales(); err != nil {
		return env, err
	}
	mcfg := rest.CopyConfig(o.clients.Rest)
	mcfg.Timeout = 30 * time.Second // the metrics clients take no context
	env.Custom = custommetrics.NewForConfig(mcfg, o.clients.Mapper, custommetrics.NewAvailableAPIsGetter(o.clients.Discovery))
	env.External, err = externalmetrics.NewForConfig(mcfg)
	return env, err
}

// printMigrateSummary writes one row per HPA metric: its trigger, both
// values and the replicas each gives, or why it is not migrated.
func printMigrateSummary(w io.Writer, results []migrate.Result) {
	var rows [][]string
	for _, r := range results {
		for i, mp := range r.Metrics {
			row := []string{r.Namespace + "/" + r.HPA, mp.Name, string(mp.Type)}
			c := r.Checks[i]
			switch {
			case mp.Refused != "":
				row = append(row, "-", "-", "-", "-", "not migrated: "+mp.Refused)
			case c.Problem != "" && c.Adapter == 0 && c.KEDA == 0:
				row = append(row, string(mp.MetricType)+" "+quantity.Format(mp.Threshold), "-", "-", "-", c.Problem)
			default:
				verdict := "ok"
				if c.Problem != "" {
					verdict = "differs"
				}
				row = append(row, string(mp.MetricType)+" "+quantity.Format(mp.Threshold), quantity.Format(c.Adapter), quantity.Format(c.KEDA),
					fmt.Sprintf("%d → %d / %d", r.CurrentReplicas, c.AdapterReplicas, c.KEDAReplicas), fmt.Sprintf("%s (%.2f%%)", verdict, 100*c.Diff))
			}
			rows = append(rows, row)
		}
	}
	table.Render(w, "", []string{"HPA", "METRIC", "TYPE", "TARGET", "ADAPTER", "KEDA QUERY", "REPLICAS (NOW → ADAPTER / KEDA)", "CHECK"}, rows)
	for _, r := range results {
		for _, mp := range r.Metrics {
			if mp.Note != "" {
				fmt.Fprintf(w, "note: HPA %s/%s metric %s: %s\n", r.Namespace, r.HPA, mp.Name, mp.Note)
			}
		}
	}
}
