// Package watch shows the autoscaling chain live: one row per HPA metric
// with the raw Prometheus value, the value the metrics API serves, the
// target, the replicas, the HPA's conditions, its last scale event and a
// sparkline of recent values. HPAs and events come from API watches; metric
// values are polled with each row's HPA controller request, shared by the rows
// that make the same request.
//
// Live (live.go) runs informers on HPAs, SuccessfulRescale events and pod
// metadata, and polls the metrics APIs with each row's controller request and
// Prometheus with the adapter's query for it (pkg/hpareq), once per distinct
// request; a Pods metric's pods are the scale subresource's selector matched
// against the pod metadata. The adapter's discovery, which renders the
// queries, is loaded again (chain.Load) once per adapter relist interval, and
// sooner once when a metric is missing. Building rows is pure (row.go, with
// the --until conditions and the sparkline); run.go is the loop with
// back-off, which ends when the --until condition holds (exit 0) or
// --timeout passes (exit 1); print.go has one printer per mode: screen,
// lines, JSON.
package watch

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/quantity"
	"github.com/metricscale/kubectl-metricscale/pkg/spark"
)

// Row is one metric of one HPA, as shown.
type Row struct {
	Namespace   string `json:"namespace"`
	HPA         string `json:"hpa"`
	ScaleTarget string `json:"scaleTarget"`
	Type        string `json:"type"`
	Metric      string `json:"metric"`
	// Object is the described object of an Object metric (Kind/name).
	Object string `json:"object,omitempty"`
	// Prometheus is the rendered metricsQuery's value for the target's
	// objects; API is what the metrics API serves for them. "" is unknown.
	Prometheus string `json:"prometheus"`
	API        string `json:"api"`
	Target     string `json:"target"`
	// TargetValue is the target as a number (NaN when not numeric).
	TargetValue float64 `json:"-"`
	// PerReplica is set for an External metric with an AverageValue
	// target: the HPA compares the served total divided by the replicas.
	PerReplica bool  `json:"-"`
	Current    int32 `json:"currentReplicas"`
	Desired    int32 `json:"desiredReplicas"`
	Min        int32 `json:"minReplicas"`
	Max        int32 `json:"maxReplicas"`
	// Active and Limited are the reasons of the ScalingActive and
	// ScalingLimited conditions.
	Active   string `json:"scalingActive,omitempty"`
	ActiveOK bool   `json:"-"`
	Limited  string `json:"scalingLimited,omitempty"`
	// LastScale is the newest SuccessfulRescale event's message.
	LastScale     string     `json:"lastScale,omitempty"`
	LastScaleTime *time.Time `json:"lastScaleTime,omitempty"`
	// History holds the last API values, oldest first.
	History []float64 `json:"history,omitempty"`
	// Problem says why a value is missing.
	Problem string `json:"problem,omitempty"`

	// spec is the metric as the HPA states it: the polls build the HPA
	// controller's request from it.
	spec autoscalingv2.MetricSpec
}

// Key identifies a row across updates.
func (r *Row) Key() string {
	return r.Namespace + "/" + r.HPA + "/" + r.Type + "/" + r.Metric + "/" + r.Object
}

// Signature is what a change means in line and JSON modes: the fields a
// person compares, without the history and ages.
func (r *Row) Signature() string {
	return strings.Join([]string{r.Prometheus, r.API, r.Target, fmt.Sprint(r.Current, r.Desired, r.Min, r.Max),
		r.Active, r.Limited, r.LastScale, r.Problem}, "|")
}

// RowsFor builds one row per metric of the HPA, with the replica counts,
// conditions and targets it states; values are filled in later.
func RowsFor(h *autoscalingv2.HorizontalPodAutoscaler) []Row {
	base := Row{Namespace: h.Namespace, HPA: h.Name, ScaleTarget: h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		Current: h.Status.CurrentReplicas, Desired: h.Status.DesiredReplicas, Max: h.Spec.MaxReplicas, Min: 1}
	if h.Spec.MinReplicas != nil {
		base.Min = *h.Spec.MinReplicas
	}
	for _, c := range h.Status.Conditions {
		switch c.Type {
		case autoscalingv2.ScalingActive:
			base.Active, base.ActiveOK = c.Reason, c.Status == corev1.ConditionTrue
		case autoscalingv2.ScalingLimited:
			if c.Status == corev1.ConditionTrue {
				base.Limited = c.Reason
			}
		}
	}
	var rows []Row
	for _, m := range h.Spec.Metrics {
		r := base
		r.Type = string(m.Type)
		r.spec = m
		switch m.Type {
		case autoscalingv2.PodsMetricSourceType:
			r.Metric = m.Pods.Metric.Name
			r.Target, r.TargetValue = target(m.Pods.Target)
			r.Problem = selectorProblem(m.Pods.Metric.Selector)
		case autoscalingv2.ObjectMetricSourceType:
			r.Metric = m.Object.Metric.Name
			r.Object = m.Object.DescribedObject.Kind + "/" + m.Object.DescribedObject.Name
			r.Target, r.TargetValue = target(m.Object.Target)
			r.Problem = selectorProblem(m.Object.Metric.Selector)
		case autoscalingv2.ExternalMetricSourceType:
			r.Metric = m.External.Metric.Name
			r.Target, r.TargetValue = target(m.External.Target)
			r.PerReplica = m.External.Target.AverageValue != nil
			r.Problem = selectorProblem(m.External.Metric.Selector)
		case autoscalingv2.ResourceMetricSourceType:
			r.Metric = string(m.Resource.Name)
			r.Target, r.TargetValue = target(m.Resource.Target)
		case autoscalingv2.ContainerResourceMetricSourceType:
			r.Metric = m.ContainerResource.Container + "/" + string(m.ContainerResource.Name)
			r.Target, r.TargetValue = target(m.ContainerResource.Target)
		default:
			continue
		}
		rows = append(rows, r)
	}
	return rows
}

// selectorProblem says why a metric's selector is invalid, "" when it is
// not.
func selectorProblem(sel *metav1.LabelSelector) string {
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return "invalid metric selector: " + err.Error()
	}
	return ""
}

func target(t autoscalingv2.MetricTarget) (string, float64) {
	switch {
	case t.AverageValue != nil:
		return quantity.Decode(*t.AverageValue) + " avg", t.AverageValue.AsApproximateFloat64()
	case t.Value != nil:
		return quantity.Decode(*t.Value), t.Value.AsApproximateFloat64()
	case t.AverageUtilization != nil:
		return fmt.Sprintf("%d%%", *t.AverageUtilization), float64(*t.AverageUtilization)
	}
	return "?", math.NaN()
}

// sparks are the eight heights of a sparkline.
var sparks = spark.Bars

// AboveTarget reports whether value v is above the row's target, as the
// HPA compares them.
func (r *Row) AboveTarget(v float64) bool {
	if r.PerReplica && r.Current > 0 {
		v /= float64(r.Current)
	}
	return v > r.TargetValue
}

// Sparkline draws values on a scale from 0 to twice the target (or the
// largest value, if larger), so that the target is the middle height: a
// bar above the middle is above the target.
func Sparkline(values []float64, target float64, width int) string {
	if len(values) > width {
		values = values[len(values)-width:]
	}
	top := 0.0
	if !math.IsNaN(target) && target > 0 {
		top = 2 * target
	}
	for _, v := range values {
		top = math.Max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		i := 0
		if top > 0 && v > 0 {
			i = int(math.Ceil(v/top*float64(len(sparks)))) - 1
		}
		i = max(0, min(i, len(sparks)-1))
		b.WriteRune(sparks[i])
	}
	return b.String()
}

// Condition is an --until expression: FIELD OP NUMBER.
type Condition struct {
	Field string
	Op    string
	Value float64
	text  string
}

var conditionRE = regexp.MustCompile(`^\s*([A-Za-z]+)\s*(>=|<=|==|!=|>|<|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$`)

// ConditionFields are the fields --until can test, named as the table's
// columns and the JSON keys (in any case: API or api).
var ConditionFields = []string{"replicas", "desired", "api", "prometheus", "value"}

// conditionAliases are the fields named otherwise before: value is api.
var conditionAliases = map[string]string{"value": "api"}

// ParseCondition parses "replicas>=2".
func ParseCondition(s string) (*Condition, error) {
	m := conditionRE.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("--until %q: want FIELD OP NUMBER, e.g. 'replicas>=2' (fields: %s; ops: >= > <= < == !=)", s, strings.Join(ConditionFields, ", "))
	}
	m[1] = strings.ToLower(m[1])
	ok := false
	for _, f := range ConditionFields {
		ok = ok || f == m[1]
	}
	if !ok {
		return nil, fmt.Errorf("--until %q: unknown field %q (fields: %s)", s, m[1], strings.Join(ConditionFields, ", "))
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return nil, fmt.Errorf("--until %q: %s is out of range", s, m[3])
	}
	op := m[2]
	if op == "=" {
		op = "=="
	}
	field := m[1]
	if a, ok := conditionAliases[field]; ok {
		field = a
	}
	return &Condition{Field: field, Op: op, Value: v, text: strings.TrimSpace(s)}, nil
}

func (c *Condition) String() string { return c.text }

// Holds reports whether the condition holds for the row.
func (c *Condition) Holds(r *Row) bool {
	var v float64
	switch c.Field {
	case "replicas":
		v = float64(r.Current)
	case "desired":
		v = float64(r.Desired)
	case "api", "prometheus":
		s := r.API
		if c.Field == "prometheus" {
			s = r.Prometheus
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		v = f
	}
	switch c.Op {
	case ">=":
		return v >= c.Value
	case ">":
		return v > c.Value
	case "<=":
		return v <= c.Value
	case "<":
		return v < c.Value
	case "==":
		return v == c.Value
	case "!=":
		return v != c.Value
	}
	return false
}

// HoldsForAll reports whether the condition holds for every row (and there
// is at least one).
func (c *Condition) HoldsForAll(rows []Row) bool {
	if len(rows) == 0 {
		return false
	}
	for i := range rows {
		if !c.Holds(&rows[i]) {
			return false
		}
	}
	return true
}
