package migrate

import (
	"fmt"
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/utils/ptr"
)

// Reading is what one metric gives now on both sides.
type Reading struct {
	// Adapter is the value the HPA computes from what the adapter serves:
	// the average over the pods' values for a Pods metric, the object's
	// value, the sum of an External metric's items; for a Resource or
	// ContainerResource metric, the value it computes from the resource
	// metrics API (both sides: KEDA's trigger gives it the same metric).
	// AdapterErr when the metrics API gave none.
	Adapter    float64
	AdapterErr error
	// PodsWithValue is, for a Pods metric, how many pods the adapter
	// served a value for.
	PodsWithValue int
	// Query is the trigger's query run now; QueryErr when it gave no
	// number.
	Query    float64
	QueryErr error
}

// Check is one metric's comparison, in the HPA's terms.
type Check struct {
	// Adapter and KEDA are the values the HPA compares with the target:
	// per replica for AverageValue.
	Adapter, KEDA float64
	// AdapterReplicas and KEDAReplicas are the replicas each value gives.
	AdapterReplicas, KEDAReplicas int32
	// Diff is |Adapter-KEDA| relative to the larger of the two.
	Diff float64
	// Problem says why the check fails, "" when it passes.
	Problem string
}

// DefaultTolerance is the HPA controller's default
// --horizontal-pod-autoscaler-tolerance: it keeps the current replicas
// while the ratio of the value to the target is within 10% of 1.
const DefaultTolerance = 0.1

// Scale is what the HPA controller weighs a metric's value with, besides
// its target: the current replicas, the HPA's bounds and its tolerances.
type Scale struct {
	Current, Min, Max int32
	// UpTolerance and DownTolerance: the controller keeps Current while
	// 1-DownTolerance <= value/target <= 1+UpTolerance.
	UpTolerance, DownTolerance float64
}

// ScaleOf is the HPA's Scale: its status.currentReplicas, its bounds, and
// the controller's default tolerance unless the HPA's behavior sets its
// own (behavior.scaleUp/scaleDown.tolerance, which the API server keeps
// only where the HPAConfigurableTolerance feature is on).
func ScaleOf(h *autoscalingv2.HorizontalPodAutoscaler) Scale {
	s := Scale{Current: h.Status.CurrentReplicas, Min: ptr.Deref(h.Spec.MinReplicas, 1), Max: h.Spec.MaxReplicas,
		UpTolerance: DefaultTolerance, DownTolerance: DefaultTolerance}
	if b := h.Spec.Behavior; b != nil {
		if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
			s.UpTolerance = b.ScaleUp.Tolerance.AsApproximateFloat64()
		}
		if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
			s.DownTolerance = b.ScaleDown.Tolerance.AsApproximateFloat64()
		}
	}
	return s
}

// Compare checks a planned metric against what it reads now, scaled as
// s; tolerance is the relative difference allowed between the two values
// (0.01 is 1%).
func Compare(mp MetricPlan, r Reading, s Scale, tolerance float64) Check {
	var c Check
	if r.AdapterErr != nil && mp.Resource != "" {
		c.Problem = fmt.Sprintf("the resource metrics API gives no value for %s, which the HPA reads there before and after the migration: %v", mp.Name, r.AdapterErr)
		return c
	}
	if r.AdapterErr != nil {
		c.Problem = fmt.Sprintf("the adapter serves no value for %s: %v", mp.Name, r.AdapterErr)
		return c
	}
	if r.QueryErr != nil {
		c.Problem = fmt.Sprintf("the trigger's query gives no value: %v", r.QueryErr)
		return c
	}
	replicas := float64(max(s.Current, 1)) // a target scaled to zero is counted as one
	c.Adapter, c.KEDA = r.Adapter, r.Query
	if mp.PerReplica {
		// KEDA's AverageValue: the HPA divides the query's total by the
		// replicas. A Pods value from the adapter is already per pod.
		c.KEDA = r.Query / replicas
		if mp.Type != autoscalingv2.PodsMetricSourceType {
			c.Adapter = r.Adapter / replicas
		}
	}
	c.AdapterReplicas = s.desired(c.Adapter, mp.Threshold)
	c.KEDAReplicas = s.desired(c.KEDA, mp.Threshold)
	c.Diff = relDiff(c.Adapter, c.KEDA)
	if c.Diff > tolerance && somePodsMissing(mp, r, s) {
		c.Problem = fmt.Sprintf("the trigger's query gives %g where the adapter serves %g (%.1f%% apart, tolerance %.1f%%) because only %d of the %d pods have a series: "+
			"the HPA averages over the pods with a value, KEDA divides the query's sum by every replica. doctor reports it as %s (kubectl metricscale doctor HPA_NAME names the pods); "+
			"make every pod of the target export %s, then migrate",
			c.KEDA, c.Adapter, 100*c.Diff, 100*tolerance, r.PodsWithValue, s.Current, somePodsMissingCode, mp.Name)
		return c
	}
	if c.Diff > tolerance {
		c.Problem = fmt.Sprintf("the trigger's query gives %g where the adapter serves %g (%.1f%% apart, tolerance %.1f%%): the query does not express what the adapter selects (for example a selector on labels the series lack, or several series where the adapter takes one)",
			c.KEDA, c.Adapter, 100*c.Diff, 100*tolerance)
	}
	return c
}

// somePodsMissingCode is doctor's code for a Pods metric that only some
// of the target's pods have (docs/checks.md).
const somePodsMissingCode = "MS304"

// somePodsMissing says whether a Pods trigger differs from the adapter
// because some pods have no value: the HPA averages over those with one,
// KEDA's AverageValue divides the query's sum by every replica.
func somePodsMissing(mp MetricPlan, r Reading, s Scale) bool {
	return mp.Type == autoscalingv2.PodsMetricSourceType && mp.PerReplica &&
		r.PodsWithValue > 0 && int32(r.PodsWithValue) < s.Current
}

// desired is the HPA controller's replica count for value (per replica
// for an average) against target (k8s.io/kubernetes
// pkg/controller/podautoscaler/replica_calculator.go): the current
// replicas while value/target is within the tolerances, else
// ceil(current*value/target) (for External and Object AverageValue the
// controller's ceil(usage/target), the same number); bounded by min and
// max.
func (s Scale) desired(value, target float64) int32 {
	if target <= 0 {
		return s.Max
	}
	current := max(s.Current, 1)
	ratio := value / target
	n := current
	if ratio < 1-s.DownTolerance || ratio > 1+s.UpTolerance {
		n = int32(math.Ceil(float64(current) * ratio))
	}
	return min(max(n, s.Min), s.Max)
}

func relDiff(a, b float64) float64 {
	d := math.Abs(a - b)
	if d == 0 {
		return 0
	}
	return d / math.Max(math.Abs(a), math.Abs(b))
}
