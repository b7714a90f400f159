package migrate

import (
	"context"
	"fmt"
	"sort"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/resourceusage"
)

// Env is the cluster as migrate reads it: the clients (the metrics clients
// among them, as the HPA controller uses them) and the adapter's side of
// the chain loaded up to discovery.
type Env struct {
	Clients *kube.Clients
	Chain   *chain.Chain
}

// Result is one HPA's plan and the check of each migrated metric.
type Result struct {
	Plan
	// CurrentReplicas is the HPA's status.currentReplicas.
	CurrentReplicas int32
	// Checks has one entry per metric of Plan.Metrics; nil for a refused
	// metric.
	Checks []*Check
}

// Problems are the refusals and failed checks of the HPA, worded for the
// user; empty when it can be migrated as planned.
func (r *Result) Problems() []string {
	var out []string
	for i, mp := range r.Metrics {
		switch {
		case mp.Refused != "":
			out = append(out, fmt.Sprintf("HPA %s/%s metric %s: %s", r.Namespace, r.HPA, mp.Name, mp.Refused))
		case r.Checks[i] != nil && r.Checks[i].Problem != "":
			out = append(out, fmt.Sprintf("HPA %s/%s metric %s: %s", r.Namespace, r.HPA, mp.Name, r.Checks[i].Problem))
		}
	}
	return out
}

// Collect plans each HPA and checks every planned trigger now: a
// prometheus trigger's query run against Prometheus beside the adapter's
// value for the same request; a cpu or memory trigger's value from the
// resource metrics API, which the HPA reads before and after alike.
func Collect(ctx context.Context, env Env, hpas []autoscalingv2.HorizontalPodAutoscaler, o Options, tolerance float64) []Result {
	out := make([]Result, 0, len(hpas))
	for i := range hpas {
		h := &hpas[i]
		metrics, reqs := adapterQueries(ctx, env, h)
		res := Result{Plan: PlanHPA(h, metrics, o), CurrentReplicas: h.Status.CurrentReplicas}
		res.Checks = make([]*Check, len(res.Metrics))
		for j, mp := range res.Metrics {
			var r Reading
			switch {
			case mp.Refused != "":
				continue
			case mp.Resource != "":
				r = resourceReading(ctx, &env, h, h.Spec.Metrics[j])
			default:
				r = reading(ctx, env, reqs[j], mp.Query)
			}
			c := Compare(mp, r, ScaleOf(h), tolerance)
			res.Checks[j] = &c
		}
		out = append(out, res)
	}
	return out
}

// resourceReading is a Resource or ContainerResource metric's value as the
// HPA controller computes it from the resource metrics API now, on both
// sides of the reading: KEDA's cpu/memory trigger gives the HPA the same
// metric, read from the same API.
func resourceReading(ctx context.Context, env *Env, h *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) Reading {
	m, _ := resourceusage.MetricOf(spec)
	v, err := readResource(ctx, env, h, m)
	if err != nil {
		return Reading{AdapterErr: err}
	}
	value := v.InTargetTerms(m.Target)
	return Reading{Adapter: value, Query: value}
}

func readResource(ctx context.Context, env *Env, h *autoscalingv2.HorizontalPodAutoscaler, m resourceusage.Metric) (resourceusage.Value, error) {
	ref := h.Spec.ScaleTargetRef
	sel, err := kube.ScaleSelector(ctx, env.Clients.Scales, env.Clients.Mapper, h.Namespace, ref)
	if err != nil {
		return resourceusage.Value{}, fmt.Errorf("reading the pod selector of %s %s: %v", ref.Kind, ref.Name, apierr.Message(err))
	}
	return resourceusage.Read(ctx, env.Clients.Client.CoreV1(), env.Clients.Resources, h.Namespace, sel, m, time.Now())
}

// adapterQueries renders, for each metric of h, the query the adapter runs
// for the HPA controller's request, or says why there is none.
func adapterQueries(ctx context.Context, env Env, h *autoscalingv2.HorizontalPodAutoscaler) ([]Metric, []hpareq.Request) {
	metrics := make([]Metric, len(h.Spec.Metrics))
	reqs := make([]hpareq.Request, len(h.Spec.Metrics))
	var sel labels.Selector
	var pods, nsPods []string
	var selErr error
	selRead := false
	for i, spec := range h.Spec.Metrics {
		metrics[i].Spec = spec
		switch spec.Type {
		case autoscalingv2.PodsMetricSourceType:
			if !selRead {
				selRead = true
				sel, pods, nsPods, selErr = targetPods(ctx, env, h)
			}
			if selErr != nil {
				metrics[i].Problem = selErr.Error()
				continue
			}
		case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
		default:
			continue // refused by the planner, with its reason
		}
		req, err := hpareq.For(h, spec, sel, env.Clients.Mapper)
		if err != nil {
			metrics[i].Problem = err.Error()
			continue
		}
		reqs[i] = req
		m := env.Chain.Discovery.Served(req.Resource, req.Metric)
		if m == nil {
			what := "for " + req.Resource.String()
			if req.Type == autoscalingv2.ExternalMetricSourceType {
				what = "as an external metric"
			}
			metrics[i].Problem = fmt.Sprintf("the adapter does not serve %s %s: nothing to migrate (kubectl metricscale doctor %s -n %s says why)", req.Metric, what, h.Name, h.Namespace)
			continue
		}
		render := func(names []string) (string, error) {
			q, err := req.Query(m, names)
			return string(q), err
		}
		if req.Type == autoscalingv2.PodsMetricSourceType {
			q, err := lastingPodsQuery(env, h, render, nsPods, pods)
			if err == nil {
				metrics[i].AdapterQuery = q
				continue
			}
			metrics[i].Note = fmt.Sprintf("%s (%v)", TodaysPodsNote, err)
		}
		q, err := render(req.Objects(pods))
		if err != nil {
			metrics[i].Problem = err.Error()
			continue
		}
		metrics[i].AdapterQuery = q
	}
	return metrics, reqs
}

// lastingPodsQuery is the adapter's query for a Pods metric with the
// scale target's pod-name pattern in place of today's pod names, once the
// pattern selects exactly the pods the selector does now.
func lastingPodsQuery(env Env, h *autoscalingv2.HorizontalPodAutoscaler, render func([]string) (string, error), nsPods, selected []string) (string, error) {
	ref := h.Spec.ScaleTargetRef
	kind, err := kube.KindFor(env.Clients.Mapper, ref.APIVersion, ref.Kind)
	if err != nil {
		return "", fmt.Errorf("the kind of %s %s: %v", ref.Kind, ref.Name, err)
	}
	pattern, err := PodNamePattern(kind, ref.Name)
	if err != nil {
		return "", err
	}
	if err := CheckPattern(pattern, nsPods, selected); err != nil {
		return "", err
	}
	return LastingQuery(render, pattern)
}

// targetPods are the scale target's selector, from its scale subresource
// as the HPA controller reads it, the names of the pods it matches and
// those of every pod of the namespace (to check a pod-name pattern
// against); pods being deleted are left out of both.
func targetPods(ctx context.Context, env Env, h *autoscalingv2.HorizontalPodAutoscaler) (labels.Selector, []string, []string, error) {
	ref := h.Spec.ScaleTargetRef
	sel, err := kube.ScaleSelector(ctx, env.Clients.Scales, env.Clients.Mapper, h.Namespace, ref)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading the pod selector of %s %s: %v", ref.Kind, ref.Name, apierr.Message(err))
	}
	list, err := env.Clients.Client.CoreV1().Pods(h.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listing the pods of namespace %s: %v", h.Namespace, apierr.Message(err))
	}
	var selected, all []string
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		all = append(all, p.Name)
		if sel.Matches(labels.Set(p.Labels)) {
			selected = append(selected, p.Name)
		}
	}
	sort.Strings(selected)
	return sel, selected, all, nil
}

// reading is the metric's value from the adapter as the HPA computes it,
// and the trigger's query run now.
func reading(ctx context.Context, env Env, req hpareq.Request, query string) Reading {
	var r Reading
	switch req.Type {
	case autoscalingv2.ExternalMetricSourceType:
		list, err := req.External(env.Clients.External)
		if err == nil && len(list.Items) == 0 {
			err = fmt.Errorf("no items")
		}
		r.AdapterErr = err
		if err == nil {
			for _, it := range list.Items { // the HPA sums the items
				r.Adapter += it.Value.AsApproximateFloat64()
			}
		}
	default:
		list, err := req.Custom(env.Clients.Custom)
		if err == nil && len(list.Items) == 0 {
			err = fmt.Errorf("no values")
		}
		r.AdapterErr = err
		if err == nil {
			for _, it := range list.Items {
				r.Adapter += it.Value.AsApproximateFloat64()
			}
			if req.Type == autoscalingv2.PodsMetricSourceType {
				r.PodsWithValue = len(list.Items)
				r.Adapter /= float64(len(list.Items)) // the HPA averages over the pods
			} else {
				r.Adapter = list.Items[0].Value.AsApproximateFloat64()
			}
		}
	}
	if r.AdapterErr != nil {
		r.AdapterErr = fmt.Errorf("%s: %s", req, apierr.Message(r.AdapterErr))
	}
	res, err := env.Chain.Prometheus.Query(ctx, query)
	if err != nil {
		r.QueryErr = err
		return r
	}
	v := prometheus.Vector(res)
	switch len(v) {
	case 0:
		r.QueryErr = fmt.Errorf("%s returns no data", query)
	case 1:
		r.Query = float64(v[0].Value)
	default:
		r.QueryErr = fmt.Errorf("%s returns %d series, KEDA reads only the first", query, len(v))
	}
	return r
}
