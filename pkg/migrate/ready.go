package migrate

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/hpastatus"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// KEDAServes says what is still missing before KEDA drives the HPA: so
// Ready=True, the HPA controlled by so, ScalingActive=True and a current
// value for each of so's external metrics and for each cpu or memory
// metric KEDA wrote into the HPA; "" when nothing is.
func KEDAServes(so *keda.ScaledObject, hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	if c := so.Condition(keda.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		return "ScaledObject " + so.Name + " not Ready" + conditionText(c)
	}
	if hpa == nil {
		return "no HPA " + so.HPAName()
	}
	if owner := metav1.GetControllerOf(hpa); owner == nil || owner.Kind != "ScaledObject" || owner.Name != so.Name {
		return fmt.Sprintf("HPA %s not yet adopted by ScaledObject %s", hpa.Name, so.Name)
	}
	// A ScaledObject of cpu and memory triggers alone serves no external
	// metric.
	if len(so.Status.ExternalMetricNames) == 0 && externalTriggers(so) > 0 {
		return "ScaledObject " + so.Name + " lists no external metrics yet"
	}
	var missing []string
	for _, name := range so.Status.ExternalMetricNames {
		if _, ok := CurrentExternal(hpa, name); !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("HPA %s has no current value from KEDA for %s%s", hpa.Name, strings.Join(missing, ", "), scalingActiveText(hpa))
	}
	for _, m := range ResourceValues(hpa) {
		if !m.OK {
			missing = append(missing, m.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("HPA %s has no current value from the resource metrics API for %s%s", hpa.Name, strings.Join(missing, ", "), scalingActiveText(hpa))
	}
	return scalingActive(hpa)
}

// externalTriggers counts so's triggers that KEDA serves as external
// metrics: all but cpu and memory, which KEDA writes into the HPA as
// Resource or ContainerResource metrics.
func externalTriggers(so *keda.ScaledObject) int {
	n := 0
	for _, t := range so.Spec.Triggers {
		if t.Type != string(corev1.ResourceCPU) && t.Type != string(corev1.ResourceMemory) {
			n++
		}
	}
	return n
}

// MetricValue is one metric of an HPA and its current value, if any.
type MetricValue struct {
	Name  string
	Value float64
	OK    bool
}

// ResourceValues are the current values of the HPA's Resource and
// ContainerResource metrics (a percentage for a Utilization target).
func ResourceValues(hpa *autoscalingv2.HorizontalPodAutoscaler) []MetricValue {
	var out []MetricValue
	for _, m := range hpa.Spec.Metrics {
		if m.Type != autoscalingv2.ResourceMetricSourceType && m.Type != autoscalingv2.ContainerResourceMetricSourceType {
			continue
		}
		v, ok := hpastatus.CurrentValue(hpa, m)
		out = append(out, MetricValue{Name: metricName(m), Value: v, OK: ok})
	}
	return out
}

// AdapterServes says what is still missing before the restored HPA reads
// its metrics again: a current value for each metric of its spec and
// ScalingActive=True, both from one sync of the HPA controller after the
// restore (the previous status had KEDA's external metrics); "" when
// nothing is.
func AdapterServes(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	var missing []string
	for _, m := range hpa.Spec.Metrics {
		if _, ok := hpastatus.CurrentValue(hpa, m); !ok {
			missing = append(missing, fmt.Sprintf("%s %s", m.Type, metricName(m)))
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("HPA %s has no current value for %s%s", hpa.Name, strings.Join(missing, ", "), scalingActiveText(hpa))
	}
	return scalingActive(hpa)
}

// CurrentExternal is the HPA's current value of its external metric name
// (the average value when the target is AverageValue).
func CurrentExternal(hpa *autoscalingv2.HorizontalPodAutoscaler, name string) (float64, bool) {
	for _, m := range hpa.Spec.Metrics {
		if m.External != nil && m.External.Metric.Name == name {
			return hpastatus.CurrentValue(hpa, m)
		}
	}
	return 0, false
}

// scalingActive is "" when the HPA's ScalingActive condition is True,
// else the condition.
func scalingActive(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	if hpastatus.ScalingActive(hpa) {
		return ""
	}
	return "HPA " + hpa.Name + " not ScalingActive" + scalingActiveText(hpa)
}

// scalingActiveText is the HPA's ScalingActive condition when it is not
// True, as ": reason: message".
func scalingActiveText(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	if c := hpastatus.Condition(hpa, autoscalingv2.ScalingActive); c != nil && c.Status != corev1.ConditionTrue {
		return fmt.Sprintf(" (ScalingActive %s %s: %s)", c.Status, c.Reason, c.Message)
	}
	return ""
}

func conditionText(c *keda.Condition) string {
	if c == nil {
		return " (no Ready condition yet)"
	}
	return fmt.Sprintf(" (Ready %s %s: %s)", c.Status, c.Reason, c.Message)
}
