// Package history tells what an HPA did over a span of time: its replicas,
// each metric's value against its target and its conditions, from the
// series kube-state-metrics exports and Prometheus keeps
// (kube_horizontalpodautoscaler_*), and the scaling events the API server
// still has (it keeps them an hour). Fetch reads them; Build turns what was
// read into a Timeline and says where each part comes from and what is
// missing; Print draws it.
package history

import (
	"context"
	"fmt"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// Point is one sample.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// MetricSeries is one metric of the HPA over the span: its current value
// and its target, as the HPA's status and spec had them.
type MetricSeries struct {
	Name string `json:"name"`
	// TargetType is kube-state-metrics' metric_target_type: value,
	// average or utilization.
	TargetType string  `json:"targetType"`
	Current    []Point `json:"current"`
	Target     []Point `json:"target"`
}

// Span is a time a condition held a status.
type Span struct {
	Condition string    `json:"condition"`
	Status    string    `json:"status"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
}

// Event is one of the HPA's events.
type Event struct {
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
}

// Timeline is the HPA's history over [Since, Until].
type Timeline struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Since     time.Time      `json:"since"`
	Until     time.Time      `json:"until"`
	Step      string         `json:"step"`
	Replicas  []Point        `json:"replicas"`
	Desired   []Point        `json:"desired"`
	Metrics   []MetricSeries `json:"metrics"`
	// Conditions are the spans a condition held the status worth reading:
	// ScalingLimited True, AbleToScale or ScalingActive False, any Unknown.
	Conditions []Span  `json:"conditions"`
	Events     []Event `json:"events"`
	// Sources say where each part comes from; Missing what could not be
	// read and why.
	Sources []string `json:"sources"`
	Missing []string `json:"missing,omitempty"`
}

// RangeQuerier runs a PromQL range query.
type RangeQuerier interface {
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (prom.QueryResult, error)
}

// Read is what Fetch read, for Build.
type Read struct {
	// Matrices are the answers by query name (replicas, desired, current,
	// target, conditions); Errs the queries that failed.
	Matrices map[string]pmodel.Matrix
	Errs     map[string]error
	Events   []corev1.Event
	// EventsErr is why the events could not be listed.
	EventsErr error
}

// queries are kube-state-metrics' series of one HPA.
func queries(ns, name string) map[string]string {
	sel := fmt.Sprintf(`{namespace=%q,horizontalpodautoscaler=%q}`, ns, name)
	return map[string]string{
		"replicas":   "max(kube_horizontalpodautoscaler_status_current_replicas" + sel + ")",
		"desired":    "max(kube_horizontalpodautoscaler_status_desired_replicas" + sel + ")",
		"current":    "max by (metric_name, metric_target_type) (kube_horizontalpodautoscaler_status_target_metric" + sel + ")",
		"target":     "max by (metric_name, metric_target_type) (kube_horizontalpodautoscaler_spec_target_metric" + sel + ")",
		"conditions": "max by (condition, status) (kube_horizontalpodautoscaler_status_condition" + sel + ")",
	}
}

// Fetch reads the HPA's series from Prometheus (p nil: not reachable) and
// its events.
func Fetch(ctx context.Context, p RangeQuerier, events func(context.Context) ([]corev1.Event, error), ns, name string, since, until time.Time, step time.Duration) Read {
	r := Read{Matrices: map[string]pmodel.Matrix{}, Errs: map[string]error{}}
	for key, q := range queries(ns, name) {
		if p == nil {
			r.Errs[key] = fmt.Errorf("Prometheus is not reachable")
			continue
		}
		res, err := p.QueryRange(ctx, q, since, until, step)
		switch {
		case err != nil:
			r.Errs[key] = err
		case res.Matrix != nil:
			r.Matrices[key] = *res.Matrix
		}
	}
	r.Events, r.EventsErr = events(ctx)
	return r
}

// Step is the resolution for a span: about 60 points, at least 15s.
func Step(span time.Duration) time.Duration {
	return max(15*time.Second, (span / 60).Round(time.Second))
}

// sortEvents orders events by their last time.
func sortEvents(es []Event) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
}

// Run reads the history of HPA ns/name over the last span before now: the
// Prometheus the adapter reads (or co's), and the HPA's events.
func Run(ctx context.Context, c *kube.Clients, co chain.Options, ns, name string, span time.Duration, now time.Time) Timeline {
	p, missing := Prometheus(ctx, c, co, now)
	events := func(ctx context.Context) ([]corev1.Event, error) {
		list, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=" + name})
		if err != nil {
			return nil, fmt.Errorf("listing the HPA's events: %s", apierr.Message(err))
		}
		return list.Items, nil
	}
	since, step := now.Add(-span), Step(span)
	t := Build(Fetch(ctx, p, events, ns, name, since, now, step), ns, name, since, now, step)
	if p == nil {
		t.Missing = append([]string{missing}, t.Missing...)
	}
	return t
}

// Prometheus is the Prometheus the adapter reads (or co's), or nil and
// why not.
func Prometheus(ctx context.Context, c *kube.Clients, co chain.Options, now time.Time) (RangeQuerier, string) {
	ch := chain.Load(ctx, c, co, chain.StagePrometheus, now)
	if ch.Prometheus != nil && ch.Prometheus.OK() {
		return ch.Prometheus, ""
	}
	return nil, prometheusMissing(ch)
}

// prometheusMissing says why Prometheus was not read.
func prometheusMissing(ch *chain.Chain) string {
	switch {
	case ch.Prometheus != nil:
		return fmt.Sprintf("Prometheus at %s: %s (give --prometheus-url)", ch.PrometheusURL, ch.Prometheus.Error)
	case ch.AdapterErr != nil:
		return fmt.Sprintf("Prometheus: no URL, the adapter was not found (%v): give --prometheus-url", ch.AdapterErr)
	}
	return "Prometheus: no URL: give --prometheus-url"
}
