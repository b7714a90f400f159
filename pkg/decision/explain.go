package decision

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// Explain says in one sentence what the controller does with the HPA and
// why: the replicas it holds or scales to, the metric that decided and its
// arithmetic, and what limited the result. hpa is the HPA decided on.
func Explain(hpa *autoscalingv2.HorizontalPodAutoscaler, d Decision, cfg Config) string {
	switch {
	case d.Skipped != "" && !d.Rescale:
		return fmt.Sprintf("holds %d: %s", d.Current, d.Skipped)
	case d.Skipped != "":
		return fmt.Sprintf("scales %d → %d: %s (%s)", d.Current, d.Desired, d.Skipped, d.RescaleReason)
	case d.Winner < 0:
		return fmt.Sprintf("holds %d: the controller cannot compute a replica count (%s): %v", d.Current, d.ScalingActive.Reason, d.Err)
	}
	head := fmt.Sprintf("holds %d", d.Current)
	if d.Rescale {
		head = fmt.Sprintf("scales %d → %d", d.Current, d.Desired)
	}
	parts := []string{metricSentence(hpa.Spec.Metrics[d.Winner], d.Metrics[d.Winner], d.Current, cfg.Tolerance)}
	if n := len(d.Metrics); n > 1 {
		parts[0] += fmt.Sprintf(" (the highest of %d metrics)", n)
	}
	if s := limitSentence(d, hpa, cfg); s != "" {
		parts = append(parts, s)
	}
	if d.Err != nil {
		parts = append(parts, "some metrics are invalid: "+d.Err.Error())
	}
	return head + ": " + strings.Join(parts, "; ")
}

// metricSentence is the winning metric's arithmetic.
func metricSentence(spec autoscalingv2.MetricSpec, p MetricProposal, current int32, tolerance float64) string {
	name, target, unit := specTarget(spec)
	usage := milli(p.Usage)
	if p.Percent {
		usage = strconv.FormatInt(p.Usage, 10)
	}
	s := fmt.Sprintf("%s reads %s%s against %s%s", name, usage, unit, target, unit)
	switch {
	case p.Groups != nil && len(p.Groups.Unready) > 0:
		// An unready pod may have a value too: it does not count.
		s += fmt.Sprintf(" on the %s Ready with a value", table.Count(p.Groups.Ready, "pod"))
	case p.Groups != nil:
		s += fmt.Sprintf(" on the %s with a value", table.Count(p.Groups.Ready, "pod"))
	}
	s += fmt.Sprintf(" (ratio %s, %s)", ratio(p.Ratio), direction(p.Ratio, tolerance))
	switch p.Rule {
	case RuleTolerance:
		return s + fmt.Sprintf(": within the %s tolerance, so %d stays", percent(tolerance), current)
	case RuleRecomputedTolerance, RuleDirectionFlips, RuleCountFlips, RuleRecomputed:
		return s + "; " + filledSentence(p, current)
	}
	return s + fmt.Sprintf(", which proposes %d", p.Replicas)
}

// filledSentence is what counting missing and unready pods did.
func filledSentence(p MetricProposal, current int32) string {
	var counted []string
	if p.MissingAs != nil && len(p.Groups.Missing) > 0 {
		as := milli(*p.MissingAs)
		if p.Percent {
			as = strconv.FormatInt(*p.MissingAs, 10) + "% of its request"
		}
		counted = append(counted, fmt.Sprintf("the %s as %s", table.Count(len(p.Groups.Missing), "pod")+" without a value", as))
	}
	if p.UnreadyAs != nil && len(p.Groups.Unready) > 0 {
		counted = append(counted, fmt.Sprintf("the %s as 0", table.Count(len(p.Groups.Unready), "unready pod")))
	}
	s := "counting " + strings.Join(counted, " and ") + " gives " + ratio(p.NewRatio)
	switch p.Rule {
	case RuleRecomputedTolerance:
		return s + fmt.Sprintf(", within tolerance, so the controller keeps %d", current)
	case RuleDirectionFlips:
		return s + fmt.Sprintf(", the direction flips, so the controller keeps %d", current)
	case RuleCountFlips:
		return s + fmt.Sprintf(", whose replica count goes the other way, so the controller keeps %d", current)
	}
	return s + fmt.Sprintf(", which proposes %d", p.Replicas)
}

// limitSentence is what the stabilization window, the policies or
// min/max made of the proposal.
func limitSentence(d Decision, hpa *autoscalingv2.HorizontalPodAutoscaler, cfg Config) string {
	var s []string
	if d.Stabilized != d.Proposed {
		window := cfg.DownscaleStabilizationWindow
		if b := hpa.Spec.Behavior; b != nil {
			b = withDefaults(b, cfg.DownscaleStabilizationWindow)
			window = time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
			if d.AbleToScale.Reason == "ScaleUpStabilized" {
				window = time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
			}
		}
		s = append(s, fmt.Sprintf("wants %d, held at %d by a recommendation of the last %s (the stabilization window)", d.Proposed, d.Stabilized, window))
	}
	if d.ScalingLimit.Status {
		s = append(s, fmt.Sprintf("wants %d, limited to %d by %s", d.Stabilized, d.Desired, limitWords[d.ScalingLimit.Reason]))
	}
	if !d.WindowUnknownUntil.IsZero() {
		s = append(s, fmt.Sprintf("the controller's earlier recommendations are not known: a higher one may hold the replicas until %s at the latest", d.WindowUnknownUntil.Format("15:04:05")))
	}
	return strings.Join(s, "; ")
}

var limitWords = map[string]string{
	"TooManyReplicas": "maxReplicas",
	"TooFewReplicas":  "minReplicas",
	"ScaleUpLimit":    "the scale-up rate (the scaleUp policies, or twice the replicas without a behavior)",
	"ScaleDownLimit":  "the scale-down rate (the scaleDown policies)",
}

// specTarget names a metric and its target as a person reads them.
func specTarget(spec autoscalingv2.MetricSpec) (name, target, unit string) {
	name = metricspec.Name(spec)
	if c := spec.ContainerResource; c != nil {
		name += " of " + c.Container
	}
	t, _ := metricspec.Target(spec)
	switch {
	case t.AverageUtilization != nil:
		return name, strconv.Itoa(int(*t.AverageUtilization)), "%"
	case t.AverageValue != nil:
		return name, t.AverageValue.String() + " per pod", ""
	case t.Value != nil:
		return name, t.Value.String(), ""
	}
	return name, "?", ""
}

// milli prints a milli-value as a decimal number.
func milli(v int64) string {
	return strconv.FormatFloat(float64(v)/1000, 'f', -1, 64)
}

// ratio prints a usage ratio to three significant digits.
func ratio(r float64) string { return strconv.FormatFloat(r, 'g', 3, 64) }

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }

func direction(r, tolerance float64) string {
	switch {
	case r > 1+tolerance:
		return "up"
	case r < 1-tolerance:
		return "down"
	}
	return "within tolerance"
}
