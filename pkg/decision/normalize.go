package decision

import (
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// History is what the controller keeps in memory about one HPA between
// syncs: its recommendations (the largest proposal of each sync, before
// normalization) and, with a behavior, the scale events its policies
// count. It loses both when it restarts, and publishes neither.
type History struct {
	Recommendations []Recommendation
	// KnownSince is when Recommendations begin to be complete: the
	// controller may have recommended anything before it (zero: complete).
	KnownSince time.Time
	ScaleUp    []ScaleEvent
	ScaleDown  []ScaleEvent
}

// Recommendation is one sync's recommendation (horizontal.go
// timestampedRecommendation).
type Recommendation struct {
	Replicas int32
	At       time.Time
}

// ScaleEvent is one rescale's change in replicas (horizontal.go
// timestampedScaleEvent), positive in either direction.
type ScaleEvent struct {
	Change int32
	At     time.Time
}

// Condition is a condition the controller sets on the HPA.
type Condition struct {
	Status  bool
	Reason  string
	Message string
}

// scaleUpLimitFactor and scaleUpLimitMinimum are horizontal.go's bound on a
// scale-up without a behavior: twice the replicas, at least 4.
const (
	scaleUpLimitFactor  = 2.0
	scaleUpLimitMinimum = 4.0
)

// stabilize follows horizontal.go stabilizeRecommendation (no behavior):
// the largest recommendation of the scale-down window, this one included.
func stabilize(recs []Recommendation, proposed int32, window time.Duration, now time.Time) int32 {
	highest := proposed
	cutoff := now.Add(-window)
	for _, r := range recs {
		if !r.At.Before(cutoff) && r.Replicas > highest {
			highest = r.Replicas
		}
	}
	return highest
}

// clamp follows horizontal.go convertDesiredReplicasWithRules (no
// behavior): minReplicas, and maxReplicas or twice the replicas (at least
// 4), whichever is lower.
func clamp(current, desired, minReplicas, maxReplicas int32) (int32, string, string) {
	scaleUpLimit := int32(math.Max(scaleUpLimitFactor*float64(current), scaleUpLimitMinimum))
	maximum, reason, message := maxReplicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	if maxReplicas > scaleUpLimit {
		maximum, reason, message = scaleUpLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	}
	switch {
	case desired < minReplicas:
		return minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	case desired > maximum:
		return maximum, reason, message
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// stabilizeWithBehavior follows horizontal.go
// stabilizeRecommendationWithBehaviors: the lowest recommendation of the
// scale-up window and the highest of the scale-down window bound the
// replicas from below and above.
func stabilizeWithBehavior(recs []Recommendation, current, proposed int32, up, down time.Duration, now time.Time) (int32, string, string) {
	upRec, downRec := proposed, proposed
	upCutoff, downCutoff := now.Add(-up), now.Add(-down)
	for _, r := range recs {
		if r.At.After(upCutoff) {
			upRec = min(r.Replicas, upRec)
		}
		if r.At.After(downCutoff) {
			downRec = max(r.Replicas, downRec)
		}
	}
	recommendation := max(current, upRec)
	recommendation = min(recommendation, downRec)
	if proposed >= current {
		return recommendation, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
	}
	return recommendation, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
}

// rateLimit follows horizontal.go convertDesiredReplicasWithBehaviorRate:
// the policies' limit of the replicas added or removed within their
// periods, then maxReplicas or minReplicas.
func rateLimit(h History, b *autoscalingv2.HorizontalPodAutoscalerBehavior, current, desired, minReplicas, maxReplicas int32, now time.Time) (int32, string, string) {
	switch {
	case desired > current:
		limit := max(scaleUpLimit(current, h.ScaleUp, h.ScaleDown, b.ScaleUp, now), current)
		maximum, reason, message := maxReplicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		if maxReplicas > limit {
			maximum, reason, message = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		}
		if desired > maximum {
			return maximum, reason, message
		}
	case desired < current:
		limit := min(scaleDownLimit(current, h.ScaleUp, h.ScaleDown, b.ScaleDown, now), current)
		minimum, reason, message := minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		if minReplicas < limit {
			minimum, reason, message = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		}
		if desired < minimum {
			return minimum, reason, message
		}
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// changedWithin follows horizontal.go getReplicasChangePerPeriod.
func changedWithin(period int32, events []ScaleEvent, now time.Time) int32 {
	cutoff := now.Add(-time.Duration(period) * time.Second)
	var n int32
	for _, e := range events {
		if e.At.After(cutoff) {
			n += e.Change
		}
	}
	return n
}

// scaleUpLimit follows horizontal.go calculateScaleUpLimitWithScalingRules.
func scaleUpLimit(current int32, up, down []ScaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	return policyLimit(current, up, down, rules, now, true)
}

// scaleDownLimit follows horizontal.go calculateScaleDownLimitWithBehaviors.
func scaleDownLimit(current int32, up, down []ScaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time) int32 {
	return policyLimit(current, up, down, rules, now, false)
}

// policyLimit is the two functions' common body: each policy allows a
// change from the replicas at the start of its period; selectPolicy Max
// takes the largest change (the highest limit up, the lowest down), Min
// the smallest.
func policyLimit(current int32, up, down []ScaleEvent, rules *autoscalingv2.HPAScalingRules, now time.Time, scaleUp bool) int32 {
	if *rules.SelectPolicy == autoscalingv2.DisabledPolicySelect {
		return current
	}
	highest := scaleUp == (*rules.SelectPolicy != autoscalingv2.MinChangePolicySelect)
	pick, result := larger, int32(math.MinInt32)
	if !highest {
		pick, result = smaller, math.MaxInt32
	}
	for _, p := range rules.Policies {
		start := current - changedWithin(p.PeriodSeconds, up, now) + changedWithin(p.PeriodSeconds, down, now)
		var proposed int32
		switch {
		case p.Type == autoscalingv2.PodsScalingPolicy && scaleUp:
			proposed = start + p.Value
		case p.Type == autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case p.Type == autoscalingv2.PercentScalingPolicy && scaleUp:
			// Rounded up, or a small target would never scale up.
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		case p.Type == autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// larger and smaller are the controller's max and min as functions, for
// selectPolicy.
func larger(a, b int32) int32  { return max(a, b) }
func smaller(a, b int32) int32 { return min(a, b) }

// longestPeriod follows horizontal.go getLongestPolicyPeriod.
func longestPeriod(rules *autoscalingv2.HPAScalingRules) time.Duration {
	var longest int32
	for _, p := range rules.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	return time.Duration(longest) * time.Second
}

// withDefaults returns b with the API server's defaults (pkg/apis/autoscaling/v2
// defaults.go SetDefaults_HorizontalPodAutoscalerBehavior and
// GenerateHPAScale{Up,Down}Rules) and the controller's scale-down window
// when none is set (horizontal.go maybeInitScaleDownStabilizationWindow).
// An HPA read from the API server has the former already.
func withDefaults(b *autoscalingv2.HorizontalPodAutoscalerBehavior, downscaleWindow time.Duration) *autoscalingv2.HorizontalPodAutoscalerBehavior {
	b = b.DeepCopy()
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	if b.ScaleUp == nil {
		b.ScaleUp = &autoscalingv2.HPAScalingRules{}
	}
	if b.ScaleUp.StabilizationWindowSeconds == nil {
		b.ScaleUp.StabilizationWindowSeconds = new(int32)
	}
	if b.ScaleUp.SelectPolicy == nil {
		b.ScaleUp.SelectPolicy = &maxPolicy
	}
	if len(b.ScaleUp.Policies) == 0 {
		b.ScaleUp.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
	if b.ScaleDown == nil {
		b.ScaleDown = &autoscalingv2.HPAScalingRules{}
	}
	if b.ScaleDown.StabilizationWindowSeconds == nil {
		w := int32(downscaleWindow.Seconds())
		b.ScaleDown.StabilizationWindowSeconds = &w
	}
	if b.ScaleDown.SelectPolicy == nil {
		b.ScaleDown.SelectPolicy = &maxPolicy
	}
	if len(b.ScaleDown.Policies) == 0 {
		b.ScaleDown.Policies = []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}
	}
	return b
}
