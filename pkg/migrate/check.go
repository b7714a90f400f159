package migrate

import (
	"fmt"
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Reading is what one metric gives now on both sides.
type Reading struct {
	// Adapter is the value the HPA computes from what the adapter serves:
	// the average over the pods' values for a Pods metric, the object's
	// value, the sum of an External metric's items; AdapterErr when the
	// metrics API gave none.
	Adapter    float64
	AdapterErr error
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

// Compare checks a planned metric against what it reads now. current is
// the scale target's replicas; min and max bound the replicas as the HPA
// does; tolerance is the relative difference allowed (0.01 is 1%).
func Compare(mp MetricPlan, r Reading, current, minReplicas, maxReplicas int32, tolerance float64) Check {
	var c Check
	if r.AdapterErr != nil {
		c.Problem = fmt.Sprintf("the adapter serves no value for %s: %v", mp.Name, r.AdapterErr)
		return c
	}
	if r.QueryErr != nil {
		c.Problem = fmt.Sprintf("the trigger's query gives no value: %v", r.QueryErr)
		return c
	}
	replicas := float64(max(current, 1)) // a target scaled to zero is counted as one
	c.Adapter, c.KEDA = r.Adapter, r.Query
	if mp.PerReplica {
		// KEDA's AverageValue: the HPA divides the query's total by the
		// replicas. A Pods value from the adapter is already per pod.
		c.KEDA = r.Query / replicas
		if mp.Type != autoscalingv2.PodsMetricSourceType {
			c.Adapter = r.Adapter / replicas
		}
	}
	c.AdapterReplicas = desired(c.Adapter, mp.Threshold, replicas, minReplicas, maxReplicas)
	c.KEDAReplicas = desired(c.KEDA, mp.Threshold, replicas, minReplicas, maxReplicas)
	c.Diff = relDiff(c.Adapter, c.KEDA)
	if c.Diff > tolerance {
		c.Problem = fmt.Sprintf("the trigger's query gives %g where the adapter serves %g (%.1f%% apart, tolerance %.1f%%): the query does not express what the adapter selects (for example a selector on labels the series lack, or several series where the adapter takes one)",
			c.KEDA, c.Adapter, 100*c.Diff, 100*tolerance)
	}
	return c
}

// desired is the HPA controller's replica count for value against target:
// ceil(current*value/target), bounded by min and max.
func desired(value, target, current float64, minReplicas, maxReplicas int32) int32 {
	if target <= 0 {
		return maxReplicas
	}
	n := int32(math.Ceil(current * value / target))
	return min(max(n, minReplicas), maxReplicas)
}

func relDiff(a, b float64) float64 {
	d := math.Abs(a - b)
	if d == 0 {
		return 0
	}
	return d / math.Max(math.Abs(a), math.Abs(b))
}
