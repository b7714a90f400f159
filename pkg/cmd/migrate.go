package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/migrate"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
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
	PrintFlags    *printers.Flags
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
	SelectorFlag

	chain     chain.Options
	clients   *kube.Clients
	namespace string
}

const migrateKEDALong = `migrate keda writes, for each HPA whose metrics prometheus-adapter serves (Pods, Object,
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

-o: without --apply/--rollback, the ScaledObjects as a List (yaml by default; -o name:
scaledobject.keda.sh/NAME each); with them, kubectl apply's lines by default, or with -o the
ScaledObjects created (the HPAs restored) as the API server returns them: one object, or a
List of several. jsonpath and go-template read the fields of -o json.

A Pods trigger matches the scale target's pods by a name pattern that outlives rollouts
(Deployment NAME-<pod-template-hash>-<5 characters>, StatefulSet NAME-<ordinal>, ReplicaSet
NAME-<5 characters>), once that pattern selects exactly the pods the target's selector selects
now; otherwise (another workload's pods match, bare pods, another kind) it names today's pods,
and the plan says so per metric (on stderr and in annotation metricscale.io/trigger-notes):
re-run migrate after a rollout. A pattern also matches the series of pods that are gone while
Prometheus keeps them (a Pushgateway group not deleted): push with a grouping key per pod and
delete a pod's group when the pod goes.`

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
  kubectl metricscale migrate keda interlok-autoscaler -n default --rollback

  # the query of each trigger, one per line
  kubectl metricscale migrate keda -o jsonpath='{range .items[*]}{.spec.triggers[*].metadata.query}{"\n"}{end}'`

// NewCmdMigrateKEDA returns `kubectl metricscale migrate keda`.
func NewCmdMigrateKEDA(g *GlobalOptions, streams genericiooptions.IOStreams) *cobra.Command {
	o := &MigrateKEDAOptions{GlobalOptions: g, IOStreams: streams, ChainFlags: chain.NewFlags(true), PrintFlags: printers.NewFlags()}
	cmd := &cobra.Command{
		Use:               "keda [HPA_NAME...]",
		Short:             "Print the KEDA ScaledObjects that replace prometheus-adapter for HPAs, checked against the adapter",
		Long:              migrateKEDALong,
		Example:           migrateKEDAExample,
		ValidArgsFunction: g.completeHPANames,
		RunE:              runOptions(o),
	}
	f := cmd.Flags()
	f.Float64Var(&o.Tolerance, "tolerance", 0.01, "Largest relative difference allowed between a trigger's query and the adapter's value (0.01 = 1%)")
	f.BoolVar(&o.Force, "force", false, "Print (or apply) the ScaledObjects of the HPAs that can be migrated even when a check fails; with --apply, leave the external metrics APIService alone when HPAs hold it")
	f.StringVar(&o.ServerAddress, "server-address", "", "Prometheus URL the triggers query (default: the adapter's --prometheus-url)")
	f.BoolVar(&o.Apply, "apply", false, "Create the ScaledObjects (backing up each HPA on its ScaledObject) and wait until KEDA drives the HPAs")
	f.BoolVar(&o.Rollback, "rollback", false, "Delete the ScaledObjects migrate created, keeping their HPAs, and restore each HPA's backed-up spec")
	f.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "With --apply or --rollback: how long to wait for KEDA and the HPA controller")
	f.StringVar(&o.KEDAMetricsService, "keda-metrics-service", "", "KEDA's metrics server Service as NAMESPACE/NAME, when it is not found by KEDA's labels")
	o.SelectorFlag.AddFlag(f)
	o.ChainFlags.AddFlags(f)
	addOutputFlags(cmd, o.PrintFlags, "Default: yaml; with --apply or --rollback, one line per object written.")
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
	if err := o.PrintFlags.Validate(); err != nil {
		errs = append(errs, err.Error())
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
	if err := o.SelectorFlag.Validate(o.HPANames); err != nil {
		errs = append(errs, err.Error())
	}
	if o.Rollback && o.Selector != "" {
		errs = append(errs, "--rollback and --selector do not go together: --rollback takes HPA names, or rolls back the whole namespace")
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
	ch, list, err := o.check(ctx)
	if err != nil {
		return err
	}
	plan, kedaServer, err := migrate.ReadAPIServicePlan(ctx, o.clients.Client, o.clients.Aggregator, ch.AdapterRef(), o.KEDAMetricsService, list.Items)
	if err != nil && o.Apply {
		return &ExitError{Code: ExitCannotRun, Err: fmt.Errorf("%w: nothing applied", err)}
	} else if err != nil {
		fmt.Fprintf(o.ErrOut, "warning: no plan for the metrics APIServices: %v\n", err)
	} else {
		migrate.PrintAPIServicePlan(o.ErrOut, plan)
	}
	if o.Apply {
		w := o.writer()
		return o.apply(ctx, w, list.Items, plan, kedaServer)
	}
	if o.PrintFlags.Own() {
		return printers.PrintYAML(o.Out, list)
	}
	return o.PrintFlags.Print(o.Out, list)
}

// check plans each HPA in scope and checks its triggers against what the
// adapter serves (the summary on stderr); it returns the adapter's side of
// the chain and the ScaledObjects to print or apply, or exit 2 naming the
// problems unless --force.
func (o *MigrateKEDAOptions) check(ctx context.Context) (*chain.Chain, migrate.List[*keda.ScaledObject], error) {
	var none migrate.List[*keda.ScaledObject]
	cannot := func(err error) (*chain.Chain, migrate.List[*keda.ScaledObject], error) {
		return nil, none, &ExitError{Code: ExitCannotRun, Err: err}
	}
	hpas, err := o.hpas(ctx)
	if err != nil {
		return cannot(err)
	}
	ch := chain.Load(ctx, o.clients, o.chain, chain.StageDiscovery, time.Now())
	if err := ch.Err(chain.StagePrometheus); err != nil {
		return cannot(err)
	}
	if ch.Discovery == nil {
		return cannot(errors.New("the adapter's rules could not be simulated: run kubectl metricscale doctor"))
	}
	server := o.ServerAddress
	if server == "" {
		if ch.Adapter == nil || ch.Adapter.PrometheusURL == "" {
			return cannot(errors.New("the adapter has no --prometheus-url for KEDA to query: pass --server-address"))
		}
		server = ch.Adapter.PrometheusURL
	}
	env := migrate.Env{Clients: o.clients, Chain: ch}
	results := migrate.Collect(ctx, env, hpas, migrate.Options{ServerAddress: server}, o.Tolerance)
	migrate.PrintSummary(o.ErrOut, results)
	list, problems := migrate.Select(results, o.Force)
	if len(problems) > 0 && !o.Force {
		return cannot(fmt.Errorf("nothing printed, because:\n  %s\n  fix what is named, or pass --force to print the HPAs that can be migrated",
			strings.Join(problems, "\n  ")))
	}
	for _, p := range problems {
		fmt.Fprintf(o.ErrOut, "warning (--force): %s\n", p)
	}
	return ch, list, nil
}

// apply acts on the APIService plan, then creates the ScaledObjects and
// waits until KEDA drives the HPAs. The external APIService moves first:
// the migrated HPAs then read KEDA's values as soon as their ScaledObject
// adopts them (the other order leaves every adopted HPA without a value
// until the move, and a move that fails after the creates leaves them so),
// and a KEDA metrics server that never becomes Available stops the run
// before any ScaledObject exists.
func (o *MigrateKEDAOptions) apply(ctx context.Context, w *migrate.Writer, sos []*keda.ScaledObject, plan migrate.APIServicePlan, kedaServer migrate.KEDAServer) error {
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
	return o.written(migrate.Written(created), err)
}

// rollback puts the migrated HPAs back.
func (o *MigrateKEDAOptions) rollback(ctx context.Context) error {
	w := o.writer()
	ns := o.namespace
	if o.AllNamespaces {
		ns = ""
	}
	restored, err := w.Rollback(ctx, ns, o.HPANames)
	return o.written(migrate.Written(migrate.Restored(restored)), err)
}

// written prints, with -o, what --apply or --rollback wrote (as
// migrate.Written), also when it stopped on err, and exits 1 on err or a
// failed print.
func (o *MigrateKEDAOptions) written(v any, err error) error {
	if v != nil && !o.PrintFlags.Own() {
		if perr := o.PrintFlags.Print(o.Out, v); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return &ExitError{Code: ExitFindings, Err: err}
	}
	return nil
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

func (o *MigrateKEDAOptions) writer() *migrate.Writer {
	w := &migrate.Writer{Client: o.clients.Client, KEDA: o.clients.KEDA, Aggregator: o.clients.Aggregator, Timeout: o.Timeout, Interval: 2 * time.Second, Out: o.Out, Progress: o.ErrOut,
		Allowed: o.allowed}
	if !o.PrintFlags.Own() {
		// stdout holds the objects alone; the lines go with the progress.
		w.Out = o.ErrOut
	}
	return w
}

// hpas are the HPAs named, or those of the namespace (all with -A).
func (o *MigrateKEDAOptions) hpas(ctx context.Context) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	ns := o.namespace
	if o.AllNamespaces && len(o.HPANames) == 0 {
		ns = ""
	}
	hpas, err := kube.HPAs(ctx, o.clients.Client, kube.HPAScope{Namespace: ns, Names: o.HPANames, Selector: o.Selector}, nil)
	switch {
	case err == nil && len(hpas) == 0 && o.Selector != "":
		err = fmt.Errorf("no HorizontalPodAutoscalers in %s match -l %s (see kubectl get hpa --show-labels)", migrate.Scope(ns), o.Selector)
	case err == nil && len(hpas) == 0:
		err = fmt.Errorf("no HorizontalPodAutoscalers in %s: name a namespace with -n, or use -A", migrate.Scope(ns))
	}
	return hpas, err
}
