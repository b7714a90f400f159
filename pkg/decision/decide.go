package decision

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Config is the controller's configuration that shapes its decision
// (kube-controller-manager's --horizontal-pod-autoscaler-* flags).
type Config struct {
	Tolerance                     float64
	CPUInitializationPeriod       time.Duration
	DelayOfInitialReadinessStatus time.Duration
	DownscaleStabilizationWindow  time.Duration
}

// DefaultConfig is kube-controller-manager's default configuration.
func DefaultConfig() Config {
	return Config{
		Tolerance:                     0.1,
		CPUInitializationPeriod:       5 * time.Minute,
		DelayOfInitialReadinessStatus: 30 * time.Second,
		DownscaleStabilizationWindow:  5 * time.Minute,
	}
}

// Reading is what the controller read for one of the HPA's metrics.
type Reading struct {
	// Pods are the per-pod values of a Pods, Resource or ContainerResource
	// metric, by pod name (a resource metric's containers summed, or the
	// one container of a ContainerResource metric).
	Pods map[string]PodMetric
	// Value is an Object metric's value, or the sum of an External
	// metric's values, in milli-units.
	Value int64
	// Err is why the metric could not be read: the metric is invalid this
	// sync.
	Err error
}

// Input is what the controller reads at a sync, and what it remembers.
type Input struct {
	HPA *autoscalingv2.HorizontalPodAutoscaler
	// SpecReplicas and StatusReplicas are the scale subresource's.
	SpecReplicas, StatusReplicas int32
	// Pods are the pods the scale's selector selects.
	Pods []corev1.Pod
	// Readings are one per HPA.Spec.Metrics, in its order.
	Readings []Reading
	History  History
	Now      time.Time
}

// MetricProposal is what one metric proposes.
type MetricProposal struct {
	// Name is the metric as the controller names it in its
	// ScalingActive condition ("pods metric MessageMetrics").
	Name     string
	Replicas int32
	// Ratio is usage over target; NewRatio the ratio once missing and
	// unready pods are counted in (0 when they were not).
	Ratio, NewRatio float64
	// Usage is the current value in milli-units, or with Percent (a
	// Utilization target) the utilization in percent, the raw average in
	// milli-units in Raw.
	Usage, Raw int64
	Percent    bool
	// Groups are the pods of a per-pod metric; MissingAs and UnreadyAs
	// what missing and unready pods were counted as (in Usage's unit),
	// when they were.
	Groups               *Groups
	MissingAs, UnreadyAs *int64
	// Rule is the rule that decided Replicas (Rule* constants).
	Rule string
	Err  error
}

// Decision is what the controller decides at one sync.
type Decision struct {
	Current, Min, Max int32
	Metrics           []MetricProposal
	// Winner is the index of the metric whose proposal was the largest
	// (-1: none).
	Winner int
	// Proposed is the largest proposal (the recommendation recorded).
	Proposed int32
	// Stabilized is the recommendation once the stabilization window is
	// applied, Desired the replicas once policies and min/max are.
	Stabilized, Desired int32
	// Rescale says the controller updates the scale to Desired.
	Rescale       bool
	RescaleReason string
	// Skipped says why the controller computed nothing (the scale is at
	// zero, or outside min/max), "" when it did.
	Skipped                                  string
	ScalingActive, AbleToScale, ScalingLimit Condition
	// Err is why the controller gives up this sync: every metric is
	// invalid, or some are and the others would scale down.
	Err error
	// WindowUnknownUntil is set when the proposal is a scale-down and the
	// stabilization window reaches before History.KnownSince: a
	// recommendation the history lacks may hold the replicas until then,
	// at the latest.
	WindowUnknownUntil time.Time
}

// Decide computes the controller's decision (horizontal.go
// reconcileAutoscaler, from reading the scale to updating it).
func Decide(in Input, cfg Config) Decision {
	hpa := in.HPA
	d := Decision{Current: in.SpecReplicas, Min: 1, Max: hpa.Spec.MaxReplicas, Winner: -1}
	if hpa.Spec.MinReplicas != nil {
		d.Min = *hpa.Spec.MinReplicas
	}
	switch {
	case d.Current == 0 && d.Min != 0:
		d.Skipped = "the scale target has 0 replicas: scaling is disabled"
		d.ScalingActive = Condition{false, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"}
		return d
	case d.Current > d.Max:
		d.Skipped, d.RescaleReason, d.Desired = "above maxReplicas", "Current number of replicas above Spec.MaxReplicas", d.Max
	case d.Current < d.Min:
		d.Skipped, d.RescaleReason, d.Desired = "below minReplicas", "Current number of replicas below Spec.MinReplicas", d.Min
	default:
		if !d.proposeAll(in, cfg) {
			return d
		}
		d.normalize(in, cfg)
	}
	d.Rescale = d.Desired != d.Current
	return d
}

// proposeAll follows horizontal.go computeReplicasForMetrics; false when
// the controller gives up.
func (d *Decision) proposeAll(in Input, cfg Config) bool {
	invalid, first := 0, -1
	for i, spec := range in.HPA.Spec.Metrics {
		var r Reading
		if i < len(in.Readings) {
			r = in.Readings[i]
		} else {
			r.Err = fmt.Errorf("no reading")
		}
		p := propose(spec, r, in, cfg)
		d.Metrics = append(d.Metrics, p)
		if p.Err != nil {
			if invalid == 0 {
				first = i
			}
			invalid++
			continue
		}
		if d.Proposed == 0 || p.Replicas > d.Proposed {
			d.Proposed, d.Winner = p.Replicas, i
		}
	}
	if invalid > 0 {
		d.Err = fmt.Errorf("invalid metrics (%d invalid out of %d), first error is: %v", invalid, len(in.HPA.Spec.Metrics), d.Metrics[first].Err)
	}
	if len(in.HPA.Spec.Metrics) == 0 {
		d.Err, d.Winner, d.Desired = fmt.Errorf("the HPA has no metrics"), -1, d.Current
		return false
	}
	if invalid >= len(in.HPA.Spec.Metrics) || (invalid > 0 && d.Proposed < in.SpecReplicas) {
		d.ScalingActive = Condition{false, failedReason(in.HPA.Spec.Metrics[first]), "the HPA was unable to compute the replica count: " + d.Metrics[first].Err.Error()}
		d.Winner, d.Desired = -1, d.Current
		return false
	}
	d.ScalingActive = Condition{true, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from " + d.Metrics[d.Winner].Name}
	return true
}

// failedReason is the reason of the ScalingActive condition a metric that
// cannot be read sets (horizontal.go getUnableComputeReplicaCountCondition
// callers).
func failedReason(spec autoscalingv2.MetricSpec) string {
	switch spec.Type {
	case autoscalingv2.ObjectMetricSourceType:
		return "FailedGetObjectMetric"
	case autoscalingv2.PodsMetricSourceType:
		return "FailedGetPodsMetric"
	case autoscalingv2.ResourceMetricSourceType:
		return "FailedGetResourceMetric"
	case autoscalingv2.ContainerResourceMetricSourceType:
		return "FailedGetContainerResourceMetric"
	case autoscalingv2.ExternalMetricSourceType:
		return "FailedGetExternalMetric"
	}
	return "InvalidMetricSourceType"
}

// normalize follows horizontal.go reconcileAutoscaler from the proposal
// on: the rescale reason, then normalizeDesiredReplicas (no behavior) or
// normalizeDesiredReplicasWithBehaviors.
func (d *Decision) normalize(in Input, cfg Config) {
	if d.Proposed > d.Current {
		d.RescaleReason = d.Metrics[d.Winner].Name + " above target"
	}
	if d.Proposed < d.Current {
		d.RescaleReason = "All metrics below target"
	}
	recs := in.History.Recommendations
	var reason, message string
	window := Window(in.HPA, cfg)
	if b := in.HPA.Spec.Behavior; b == nil {
		d.Stabilized = stabilize(recs, d.Proposed, window, in.Now)
		reason, message = "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
		d.setAbleToScale(reason, message)
		d.Desired, reason, message = clamp(d.Current, d.Stabilized, d.Min, d.Max)
	} else {
		b = withDefaults(b, cfg.DownscaleStabilizationWindow)
		up := time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
		d.Stabilized, reason, message = stabilizeWithBehavior(recs, d.Current, d.Proposed, up, time.Duration(*b.ScaleDown.StabilizationWindowSeconds)*time.Second, in.Now)
		d.setAbleToScale(reason, message)
		d.Desired, reason, message = rateLimit(in.History, b, d.Current, d.Stabilized, d.Min, d.Max, in.Now)
	}
	d.ScalingLimit = Condition{d.Desired != d.Stabilized, reason, message}
	// An unknown recommendation matters to a scale-down, which a higher
	// one holds.
	if k := in.History.KnownSince; !k.IsZero() && in.Now.Add(-window).Before(k) && d.Proposed < d.Current {
		d.WindowUnknownUntil = k.Add(window)
	}
}

func (d *Decision) setAbleToScale(reason, message string) {
	if d.Stabilized != d.Proposed {
		d.AbleToScale = Condition{true, reason, message}
		return
	}
	d.AbleToScale = Condition{true, "ReadyForNewScale", "recommended size matches current size"}
}

// Record adds a sync's decision to the history as the controller does:
// the recommendation always (horizontal.go stabilizeRecommendation*), a
// scale event when it rescaled with a behavior (storeScaleEvent), and drops
// what no window or period reaches any more.
func Record(h History, hpa *autoscalingv2.HorizontalPodAutoscaler, d Decision, cfg Config, now time.Time) History {
	if d.Skipped == "" && d.Err == nil {
		h.Recommendations = append(h.Recommendations, Recommendation{d.Proposed, now})
	}
	b := hpa.Spec.Behavior
	keep := cfg.DownscaleStabilizationWindow
	if b != nil {
		b = withDefaults(b, cfg.DownscaleStabilizationWindow)
		keep = max(time.Duration(*b.ScaleUp.StabilizationWindowSeconds), time.Duration(*b.ScaleDown.StabilizationWindowSeconds)) * time.Second
		switch {
		case d.Rescale && d.Desired > d.Current:
			h.ScaleUp = append(h.ScaleUp, ScaleEvent{d.Desired - d.Current, now})
		case d.Rescale && d.Desired < d.Current:
			h.ScaleDown = append(h.ScaleDown, ScaleEvent{d.Current - d.Desired, now})
		}
		h.ScaleUp = recent(h.ScaleUp, now.Add(-longestPeriod(b.ScaleUp)))
		h.ScaleDown = recent(h.ScaleDown, now.Add(-longestPeriod(b.ScaleDown)))
	}
	var recs []Recommendation
	for _, r := range h.Recommendations {
		if !r.At.Before(now.Add(-keep)) {
			recs = append(recs, r)
		}
	}
	h.Recommendations = recs
	return h
}

func recent(events []ScaleEvent, cutoff time.Time) []ScaleEvent {
	var out []ScaleEvent
	for _, e := range events {
		if e.At.After(cutoff) {
			out = append(out, e)
		}
	}
	return out
}
