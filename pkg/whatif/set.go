package whatif

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
)

// Set is one --set METRIC=VALUE: an absolute value, a percentage of the
// pods' requests (a Utilization target), or a change of the value read
// (+20%, -10%, x2).
type Set struct {
	Metric string
	// Milli is the absolute value in milli-units; Percent a percentage of
	// each pod's request; Factor multiplies the value read. One is set.
	Milli   *int64
	Percent *int64
	Factor  *float64
	raw     string
}

func (s Set) String() string { return s.Metric + "=" + s.raw }

// ParseSet reads METRIC=VALUE.
func ParseSet(arg string) (Set, error) {
	name, value, ok := strings.Cut(arg, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return Set{}, fmt.Errorf("--set %q: want METRIC=VALUE, e.g. --set MessageMetrics=500, --set cpu=80%%, --set MessageMetrics=+20%%, --set queue=x2", arg)
	}
	s := Set{Metric: name, raw: value}
	switch {
	case strings.HasPrefix(value, "x"):
		f, err := strconv.ParseFloat(value[1:], 64)
		if err != nil || f < 0 {
			return s, fmt.Errorf("--set %s: %q is not a factor such as x2 or x0.5", name, value)
		}
		s.Factor = &f
	case (strings.HasPrefix(value, "+") || strings.HasPrefix(value, "-")) && strings.HasSuffix(value, "%"):
		p, err := strconv.ParseFloat(strings.TrimSuffix(value, "%"), 64)
		if err != nil || p <= -100 {
			return s, fmt.Errorf("--set %s: %q is not a change such as +20%% or -10%%", name, value)
		}
		f := 1 + p/100
		s.Factor = &f
	case strings.HasSuffix(value, "%"):
		p, err := strconv.ParseInt(strings.TrimSuffix(value, "%"), 10, 64)
		if err != nil || p < 0 {
			return s, fmt.Errorf("--set %s: %q is not a utilization such as 80%%", name, value)
		}
		s.Percent = &p
	default:
		q, err := resource.ParseQuantity(value)
		if err != nil || q.Sign() < 0 {
			return s, fmt.Errorf("--set %s: %q is not a value such as 500, 250m or 1Gi (or +20%%, x2, 80%%)", name, value)
		}
		m := q.MilliValue()
		s.Milli = &m
	}
	return s, nil
}

// Apply sets the values of in's metrics named by sets. A per-pod metric's
// absolute value or utilization is what every pod reads; a change applies
// to each value read. A metric named by no set stays as read.
func Apply(in decision.Input, sets []Set) (decision.Input, error) {
	readings := append([]decision.Reading(nil), in.Readings...)
	for _, s := range sets {
		i := metricIndex(in.HPA, s.Metric)
		if i < 0 {
			return in, fmt.Errorf("--set %s: HPA %s/%s has no metric %q (its metrics: %s)", s, in.HPA.Namespace, in.HPA.Name, s.Metric, strings.Join(MetricNames(in.HPA), ", "))
		}
		r, err := apply(readings[i], s, in.HPA.Spec.Metrics[i], in)
		if err != nil {
			return in, err
		}
		readings[i] = r
	}
	in.Readings = readings
	return in, nil
}

// apply sets one metric's reading.
func apply(r decision.Reading, s Set, spec autoscalingv2.MetricSpec, in decision.Input) (decision.Reading, error) {
	perPod := spec.Pods != nil || spec.Resource != nil || spec.ContainerResource != nil
	if s.Percent != nil && spec.Resource == nil && spec.ContainerResource == nil {
		return r, fmt.Errorf("--set %s: a percentage is a resource's utilization; %s is not a Resource metric (give a value, or +%d%% for a change)", s, s.Metric, *s.Percent)
	}
	if s.Factor != nil && r.Err != nil {
		return r, fmt.Errorf("--set %s: the controller cannot read %s now (%v): give an absolute value", s, s.Metric, r.Err)
	}
	if !perPod {
		switch {
		case s.Factor != nil:
			r.Value = int64(math.Round(float64(r.Value) * *s.Factor))
		default:
			r.Value = *s.Milli
		}
		r.Err = nil
		return r, nil
	}
	values := map[string]decision.PodMetric{}
	for _, p := range in.Pods {
		old, had := r.Pods[p.Name]
		v := decision.PodMetric{Timestamp: in.Now, Window: time.Minute}
		switch {
		case s.Factor != nil && !had:
			continue // no value to change
		case s.Factor != nil:
			v.Value = int64(math.Round(float64(old.Value) * *s.Factor))
		case s.Percent != nil:
			v.Value = podRequest(p, spec) * *s.Percent / 100
		default:
			v.Value = *s.Milli
		}
		if had {
			v.Timestamp, v.Window = old.Timestamp, old.Window
		}
		values[p.Name] = v
	}
	r.Pods, r.Err = values, nil
	return r, nil
}

// metricIndex is the index of the HPA's metric named name (a Pods, Object
// or External metric's name, or a resource's), or -1.
func metricIndex(hpa *autoscalingv2.HorizontalPodAutoscaler, name string) int {
	for i, n := range MetricNames(hpa) {
		if n == name {
			return i
		}
	}
	return -1
}

// MetricNames are the names --set takes for the HPA's metrics, in order.
func MetricNames(hpa *autoscalingv2.HorizontalPodAutoscaler) []string {
	var out []string
	for _, m := range hpa.Spec.Metrics {
		out = append(out, metricspec.Name(m))
	}
	return out
}

// podRequest is the pod's request of a Resource or ContainerResource
// metric's resource in milli-units, as the controller sums it.
func podRequest(p corev1.Pod, spec autoscalingv2.MetricSpec) int64 {
	name, container := corev1.ResourceName(""), ""
	switch {
	case spec.Resource != nil:
		name = spec.Resource.Name
	case spec.ContainerResource != nil:
		name, container = spec.ContainerResource.Name, spec.ContainerResource.Container
	}
	var sum int64
	for _, c := range decision.RequestedContainers(&p, container) {
		q := c.Resources.Requests[name]
		sum += q.MilliValue()
	}
	return sum
}
