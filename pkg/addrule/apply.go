package addrule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/grant"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	qty "github.com/metricscale/kubectl-metricscale/pkg/quantity"
	"github.com/metricscale/kubectl-metricscale/pkg/rollout"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
)

// Result is what add-rule did, for -o json|yaml.
type Result struct {
	Plan *Plan `json:"plan"`
	// Diff is the change written (it differs from the plan's when the
	// ConfigMap changed meanwhile).
	Diff      string `json:"diff,omitempty"`
	DryRun    string `json:"dryRun,omitempty"`
	NoOp      bool   `json:"noOp,omitempty"`
	Backup    string `json:"backup,omitempty"`
	Conflicts int    `json:"conflicts,omitempty"`
	Restarted bool   `json:"restarted,omitempty"`
	// RolledBack is set when the new adapter failed and the previous
	// config was put back.
	RolledBack bool `json:"rolledBack,omitempty"`
	// Served are the values the metrics API returned once it served the
	// metric; ServedAfter is the time from the write to that moment.
	Served      []Sample `json:"served,omitempty"`
	ServedAfter string   `json:"servedAfter,omitempty"`
	HPA         string   `json:"hpa,omitempty"`
	// HPARequest is the created HPA's own request to the metrics API, sent
	// as the HPA controller sends it, and HPAValues its answer.
	HPARequest string   `json:"hpaRequest,omitempty"`
	HPAValues  []Sample `json:"hpaValues,omitempty"`
	// HPAStanza is the metric entry of an autoscaling/v2 HPA that uses the
	// new metric.
	HPAStanza string `json:"hpaStanza,omitempty"`
	// Granted are the ClusterRoles (each with its binding of the same
	// name) --grant created for the adapter's ServiceAccount.
	Granted []string `json:"granted,omitempty"`
}

// Failed is returned when the rule was written but the chain did not come
// back serving: the caller exits non-zero with it.
type Failed struct {
	Result *Result
	Err    error
}

func (f *Failed) Error() string { return f.Err.Error() }
func (f *Failed) Unwrap() error { return f.Err }

// writeTimeout bounds the write of the config and its backup, which an
// interrupt does not stop.
const writeTimeout = time.Minute

// Apply writes the plan's rule, restarts the adapter and waits until the
// metric is served. Progress lines go to log.
func Apply(ctx context.Context, env Env, o Options, p *Plan, log io.Writer) (*Result, error) {
	res := &Result{Plan: p, HPAStanza: hpaStanza(p)}
	// A rule already in the config needs the right as much as a new one.
	if err := grantFirst(ctx, env, o, p, res, log); err != nil {
		return res, err
	}
	if p.AlreadyServedBy != "" {
		res.NoOp = true
		// The metric is served already: --hpa still has its HPA to write.
		return res, withHPA(ctx, env, o, p, res, log)
	}
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("interrupted before anything was written: %w", err)
	}
	wr, err := write(ctx, o, p, res)
	if err != nil {
		return res, err
	}
	if res.DryRun = o.DryRun.String(); res.DryRun != "" {
		return res, nil
	}
	if wr.Unchanged {
		res.NoOp = true
		return res, withHPA(ctx, env, o, p, res, log)
	}
	fmt.Fprintf(log, "wrote ConfigMap %s (resourceVersion %s → %s); the previous config is kept in ConfigMap %s/%s\n",
		p.ConfigMap, wr.ResourceVersion, wr.Written, p.Adapter.Namespace, wr.Backup)
	if res.Conflicts > 0 {
		fmt.Fprintf(log, "  the ConfigMap changed %d time(s) while being written: the rule was re-applied to the newer config, nothing was overwritten\n", res.Conflicts)
	}
	if o.NoRestart {
		fmt.Fprintf(log, "not restarting the adapter (--no-restart): it reads the new rule when its pods restart (kubectl rollout restart deployment/%s -n %s)\n", p.Adapter.Name, p.Adapter.Namespace)
		return res, nil
	}
	if err := restartOrRestore(ctx, env, o, p, res, wr.Backup, log); err != nil {
		return res, err
	}
	res.Restarted = true
	served, err := waitServed(ctx, env, p, o.Timeout, log)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The adapter runs the new rule already: it stays.
			err = fmt.Errorf("interrupted while waiting for the metrics API to serve %s; the rule is written and the adapter runs it (kubectl metricscale rollback puts the previous config back)", p.Produces[0].Metric)
		}
		return res, &Failed{Result: res, Err: err}
	}
	res.Served, res.ServedAfter = served, time.Since(start).Round(100*time.Millisecond).String()
	return res, withHPA(ctx, env, o, p, res, log)
}

// write inserts the rule into the adapter's ConfigMap, a backup first,
// and notes the diff, the backup and the conflicts in res. The write runs
// to its end once begun, even when interrupted: a backup without its
// write, or a write without its backup, is never left behind.
func write(ctx context.Context, o Options, p *Plan, res *Result) (*configstore.Result, error) {
	edit := func(current string) (string, error) {
		// After a conflict the fresh config may hold the same rule already
		// (another run of add-rule): then there is nothing to do.
		if hasRule(current, p) {
			return current, nil
		}
		return rules.Insert(current, p.Proposal.List(), p.Proposal.YAML)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	wr, err := p.store.Update(wctx, edit, "add-rule "+p.Proposal.APIName, o.DryRun)
	if wr != nil {
		res.Diff = Diff(wr.Before, wr.After, p.ConfigMap+" "+p.Key)
		res.Backup = wr.Backup
		if wr.Attempts > 1 {
			res.Conflicts = wr.Attempts - 1
		}
	}
	return wr, err
}

// restartOrRestore restarts the adapter on the new config. From here until
// the adapter runs the new rule, an interrupt or a failed rollout puts the
// previous config back (from backup) before add-rule stops; the restore
// runs without the cancelled context.
func restartOrRestore(ctx context.Context, env Env, o Options, p *Plan, res *Result, backup string, log io.Writer) error {
	err := ctx.Err()
	if err == nil {
		err = restart(ctx, env, p, o.Timeout, log)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		return nil
	}
	res.RolledBack = true
	what := "the adapter did not come up with the new rule"
	if ctx.Err() != nil {
		what = "interrupted before the adapter ran the new rule"
		err = errors.New("interrupted")
	}
	fmt.Fprintf(log, "%s; restoring the previous config from %s\n", what, backup)
	if rerr := restoreAndRestart(ctx, env, p, backup, o.Timeout, log); rerr != nil {
		return &Failed{Result: res, Err: fmt.Errorf("%w\nputting the previous config back did not finish either: %v", err, rerr)}
	}
	return &Failed{Result: res, Err: fmt.Errorf("%w\nthe previous config is back and the adapter serves it again; nothing else changed", err)}
}

// grantFirst lets the adapter's ServiceAccount list what the rule maps,
// with --grant, before anything is written. Without --grant a rule the
// adapter could not serve is not written: the adapter would fail each of
// its requests, and add-rule would wait out its timeout to say so.
func grantFirst(ctx context.Context, env Env, o Options, p *Plan, res *Result, log io.Writer) error {
	g := p.Grant
	if g == nil || o.DryRun != configstore.DryRunNone {
		return nil // a dry run's plan says what is missing
	}
	sa, what := g.ServiceAccount, strings.Join(p.AdapterCannotList, ", ")
	if !o.Grant {
		return fmt.Errorf("the adapter's ServiceAccount %s may not list %s, so it would fail every request of %s with \"unable to list matching resources\"; nothing was written.\n"+
			"  run add-rule again with --grant to create the ClusterRole and binding it needs (with your own rights), or run first:\n%s",
			sa, what, p.Produces[0].Metric, indent(g.Commands(), "    "))
	}
	rbac := rbacv1.SchemeGroupVersion.Group
	refusal, err := kube.FirstDenied(ctx, env.Client, []authorizationv1.ResourceAttributes{
		{Verb: "create", Group: rbac, Resource: "clusterroles"}, {Verb: "create", Group: rbac, Resource: "clusterrolebindings"}})
	if err != nil {
		return fmt.Errorf("--grant: %w; nothing was written", err)
	}
	if refusal != nil {
		return fmt.Errorf("--grant: you may not %s, so the adapter's ServiceAccount %s cannot be let list %s; nothing was written: ask a cluster admin to run\n%s",
			refusal.What(), sa, what, indent(g.Commands(), "    "))
	}
	if err := g.Create(ctx, env.Client); err != nil {
		return fmt.Errorf("--grant: %w; nothing was written", err)
	}
	for _, gr := range g.Resources {
		res.Granted = append(res.Granted, grant.Name(gr))
	}
	fmt.Fprintf(log, "created ClusterRole and ClusterRoleBinding %s: the adapter's ServiceAccount %s may get, list and watch %s\n",
		strings.Join(res.Granted, ", "), sa, what)
	return nil
}

// indent prefixes every line of text.
func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(text, "\n", "\n"+prefix)
}

// withHPA creates the HPA --hpa asks for, once the metric is served, and
// sends the HPA's own request as the controller will.
func withHPA(ctx context.Context, env Env, o Options, p *Plan, res *Result, log io.Writer) error {
	if o.HPA == "" || o.DryRun != configstore.DryRunNone {
		return nil
	}
	hpa, err := createHPA(ctx, env, o, p)
	if err != nil {
		return &Failed{Result: res, Err: err}
	}
	res.HPA = hpa.Namespace + "/" + hpa.Name
	res.HPARequest, res.HPAValues, err = verifyHPA(ctx, env, hpa, hpaVerifyTimeout, log)
	if err != nil {
		return &Failed{Result: res, Err: err}
	}
	return nil
}

// hpaVerifyTimeout bounds the wait for the new HPA's request to answer: the
// metric is served already, so only the target's own objects can be
// missing.
const hpaVerifyTimeout = 30 * time.Second

// verifyHPA sends the request the HPA controller makes for the HPA's metric
// (pkg/hpareq: the scale target's pod selector, the metric selector) until
// it returns values, and returns the request and the values.
func verifyHPA(ctx context.Context, env Env, hpa *autoscalingv2.HorizontalPodAutoscaler, timeout time.Duration, log io.Writer) (string, []Sample, error) {
	spec := hpa.Spec.Metrics[0]
	var podSel labels.Selector
	if spec.Type == autoscalingv2.PodsMetricSourceType {
		var err error
		if podSel, err = kube.ScaleSelector(ctx, env.Scales, env.Mapper, hpa.Namespace, hpa.Spec.ScaleTargetRef); err != nil {
			return "", nil, fmt.Errorf("reading the scale of %s %s: %w", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, err)
		}
	}
	req, err := hpareq.For(hpa, spec, podSel, env.Mapper)
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(log, "sending HPA %s/%s's request as the HPA controller does: GET %s\n", hpa.Namespace, hpa.Name, req.Path())
	deadline := time.Now().Add(timeout)
	why := ""
	for {
		var out []Sample
		if req.Type == autoscalingv2.ExternalMetricSourceType {
			list, err := req.External(env.External)
			if err != nil {
				why = apierr.Message(err)
			}
			if list != nil {
				for _, it := range list.Items {
					out = append(out, Sample{Namespace: req.Namespace, Value: qty.Decode(it.Value)})
				}
			}
		} else {
			list, err := req.Custom(env.Custom)
			if err != nil {
				why = apierr.Message(err)
			}
			if list != nil {
				for _, it := range list.Items {
					out = append(out, Sample{Namespace: req.Namespace, Resource: req.Resource.String(), Object: it.DescribedObject.Name, Value: qty.Decode(it.Value)})
				}
			}
		}
		if len(out) > 0 {
			fmt.Fprintf(log, "  answered with %d values\n", len(out))
			return req.Path(), out, nil
		}
		if why == "" {
			why = "no value"
		}
		if time.Now().After(deadline) {
			return req.Path(), nil, fmt.Errorf("the metric is served, but HPA %s/%s's own request returns %s after %s: GET %s\n  run kubectl metricscale doctor -n %s %s to see where its objects' values went",
				hpa.Namespace, hpa.Name, why, timeout, req.Path(), hpa.Namespace, hpa.Name)
		}
		select {
		case <-ctx.Done():
			return req.Path(), nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// hasRule reports whether current already holds the plan's rule (the same
// rule once whitespace in its queries is ignored).
func hasRule(current string, p *Plan) bool {
	cfg, err := config.FromYAML([]byte(current))
	return err == nil && sameRule(listOf(cfg, p.Proposal.External), p.rule) >= 0
}

// Diff is a unified diff of a config file.
func Diff(before, after, name string) string {
	if before == after {
		return ""
	}
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(before), B: lines(after),
		FromFile: name + " (current)", ToFile: name + " (new)", Context: 3,
	})
	return d
}

// lines splits text after each newline; unlike difflib.SplitLines it adds
// no empty line after the last newline.
func lines(text string) []string {
	out := strings.SplitAfter(text, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	} else {
		out[len(out)-1] += "\n\\ No newline at end of file\n"
	}
	return out
}

func restart(ctx context.Context, env Env, p *Plan, timeout time.Duration, log io.Writer) error {
	a := p.Adapter
	fmt.Fprintf(log, "restarting deployment/%s -n %s\n", a.Name, a.Namespace)
	if _, err := rollout.Restart(ctx, env.Client, a.Namespace, a.Name); err != nil {
		return err
	}
	return rollout.Wait(ctx, env.Client, a.Namespace, a.Name, timeout, log)
}

func restoreAndRestart(ctx context.Context, env Env, p *Plan, backup string, timeout time.Duration, log io.Writer) error {
	// The failed attempt must not leave the caller's context exhausted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+30*time.Second)
	defer cancel()
	if _, err := p.store.Restore(ctx, backup, configstore.DryRunNone); err != nil {
		return err
	}
	return restart(ctx, env, p, timeout, log)
}

// waitServed polls the metrics API until it lists the new metric and
// returns values for the objects the series name.
func waitServed(ctx context.Context, env Env, p *Plan, timeout time.Duration, log io.Writer) ([]Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	fmt.Fprintf(log, "waiting for the metrics API to serve %s (the adapter relists every %s)\n", p.Produces[0].Metric, p.relistWait)
	last := ""
	for {
		served, why := servedNow(env, p)
		if why == "" {
			fmt.Fprintf(log, "  served after %.1fs\n", time.Since(start).Seconds())
			return served, nil
		}
		if why != last {
			fmt.Fprintf(log, "  %s (%.0fs)\n", why, time.Since(start).Seconds())
			last = why
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the adapter is running the new rule, but after %s the metrics API still does not serve %s: %s\n  run kubectl metricscale doctor to see which link is broken", timeout, p.Produces[0].Metric, last)
		case <-time.After(time.Second):
		}
	}
}

// servedNow returns the served values, or why they are not served yet.
func servedNow(env Env, p *Plan) ([]Sample, string) {
	m := p.Produces[0]
	if m.External {
		gv := "external.metrics.k8s.io/v1beta1"
		if _, err := env.Discovery.ServerResourcesForGroupVersion(gv); err != nil {
			return nil, fmt.Sprintf("%s is not available: %v", gv, apierr.Message(err))
		}
		ec := env.External
		var out []Sample
		for _, ns := range sampleNamespaces(p) {
			list, err := ec.NamespacedMetrics(ns).List(m.Metric, labels.Everything())
			if err != nil {
				return nil, fmt.Sprintf("GET external metric %s in %s: %v", m.Metric, ns, apierr.Message(err))
			}
			for _, it := range list.Items {
				out = append(out, Sample{Namespace: ns, Value: qty.Decode(it.Value)})
			}
		}
		if len(out) == 0 {
			return nil, "the external metrics API returns no value yet"
		}
		return out, ""
	}
	rl, err := env.Discovery.ServerResourcesForGroupVersion("custom.metrics.k8s.io/v1beta1")
	if err != nil {
		return nil, "custom.metrics.k8s.io/v1beta1 is not available: " + apierr.Message(err)
	}
	gr := schema.ParseGroupResource(m.Resource)
	listed := false
	for _, r := range rl.APIResources {
		// The adapter lists group resources with their group:
		// deployments.apps/METRIC.
		if r.Name == gr.String()+"/"+m.Metric {
			listed = true
		}
	}
	if !listed {
		return nil, fmt.Sprintf("not listed yet: the API lists %d metrics, not %s/%s", len(rl.APIResources), gr, m.Metric)
	}
	gk, err := env.Mapper.KindFor(gr.WithVersion(""))
	if err != nil {
		return nil, fmt.Sprintf("resource %s: %v", gr, err)
	}
	cm := env.Custom
	var out []Sample
	for _, ns := range sampleNamespaces(p) {
		list, err := cm.NamespacedMetrics(ns).GetForObjects(gk.GroupKind(), labels.Everything(), m.Metric, labels.Everything())
		if err != nil {
			return nil, fmt.Sprintf("listed, but GET %s/*/%s in %s: %v", gr.Resource, m.Metric, ns, apierr.Message(err))
		}
		for _, it := range list.Items {
			out = append(out, Sample{Namespace: ns, Resource: gr.String(), Object: it.DescribedObject.Name, Value: qty.Decode(it.Value)})
		}
	}
	if len(out) == 0 {
		return nil, "listed, but no object has a value yet"
	}
	return out, ""
}

func sampleNamespaces(p *Plan) []string {
	var out []string
	for _, s := range p.Samples {
		if !slices.Contains(out, s.Namespace) {
			out = append(out, s.Namespace)
		}
	}
	if len(out) == 0 {
		out = []string{metav1.NamespaceDefault}
	}
	return out
}

// hpaStanza is the autoscaling/v2 metric entry that reads the new metric.
func hpaStanza(p *Plan) string {
	m := p.Produces[0]
	// The value now is the starting point; the comment says to choose.
	target, now := "100", ""
	if len(p.Samples) > 0 {
		if _, err := resource.ParseQuantity(p.Samples[0].Value); err == nil {
			target, now = p.Samples[0].Value, " (now "+p.Samples[0].Value+")"
		}
	}
	switch {
	case m.External:
		return fmt.Sprintf("metrics:\n- type: External\n  external:\n    metric:\n      name: %s\n    target:\n      type: AverageValue\n      averageValue: %q   # the value per replica to scale at%s\n", m.Metric, target, now)
	case m.Resource == "pods":
		return fmt.Sprintf("metrics:\n- type: Pods\n  pods:\n    metric:\n      name: %s\n    target:\n      type: AverageValue\n      averageValue: %q   # the per-pod value to scale at%s\n", m.Metric, target, now)
	}
	kind, apiVersion, note := m.Kind, m.APIVersion, ""
	if kind == "" {
		// The API server did not name the resource's kind: say so rather
		// than guess it from the resource's name.
		kind, apiVersion, note = "KIND", "API_VERSION", fmt.Sprintf("   # the kind and apiVersion of %s (kubectl api-resources)", m.Resource)
	}
	obj := "NAME"
	if len(p.Samples) > 0 && p.Samples[0].Object != "" {
		obj = p.Samples[0].Object
	}
	return fmt.Sprintf("metrics:\n- type: Object\n  object:\n    metric:\n      name: %s\n    describedObject:\n      apiVersion: %s\n      kind: %s%s\n      name: %s\n    target:\n      type: Value\n      value: %q   # the value to scale at%s\n", m.Metric, apiVersion, kind, note, obj, target, now)
}

// createHPA writes an autoscaling/v2 HPA for Deployment o.HPA on the new
// metric with target o.Target.
func createHPA(ctx context.Context, env Env, o Options, p *Plan) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	target, err := resource.ParseQuantity(o.Target)
	if err != nil {
		return nil, fmt.Errorf("--target %q is not a quantity: %w", o.Target, err)
	}
	ns := o.Namespace
	if _, err := env.Client.AppsV1().Deployments(ns).Get(ctx, o.HPA, metav1.GetOptions{}); err != nil {
		return nil, fmt.Errorf("--hpa %s: %w", o.HPA, err)
	}
	m := p.Produces[0]
	var spec autoscalingv2.MetricSpec
	switch {
	case m.External:
		spec = autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: m.Metric},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &target}}}
	case m.Resource == "pods":
		spec = autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: m.Metric},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &target}}}
	default:
		var obj string
		for _, s := range p.Samples {
			if s.Namespace == ns {
				obj = s.Object
				break
			}
		}
		if obj == "" {
			return nil, fmt.Errorf("--hpa: the series name no %s in namespace %s to scale on; write the HPA with the stanza above", m.Resource, ns)
		}
		gr := schema.ParseGroupResource(m.Resource)
		gvk, err := env.Mapper.KindFor(gr.WithVersion(""))
		if err != nil {
			return nil, err
		}
		spec = autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			Metric:          autoscalingv2.MetricIdentifier{Name: m.Metric},
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: obj},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &target}}}
	}
	one := int32(1)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: o.HPA, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-metricscale"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: o.HPA},
			MinReplicas:    &one, MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{spec},
		},
	}
	created, err := env.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating HPA %s/%s: %w", ns, o.HPA, err)
	}
	return created, nil
}
