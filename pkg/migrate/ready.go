package migrate

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// KEDAServes says what is still missing before KEDA drives the HPA: so
// Ready=True, the HPA controlled by so, ScalingActive=True and a current
// value for each of so's external metrics; "" when nothing is.
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
	if len(so.Status.ExternalMetricNames) == 0 {
		return "ScaledObject " + so.Name + " lists no external metrics yet"
	}
	var missing []string
	for _, name := range so.Status.ExternalMetricNames {
		if _, ok := currentValue(hpa, autoscalingv2.ExternalMetricSourceType, name); !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("HPA %s has no current value from KEDA for %s%s", hpa.Name, strings.Join(missing, ", "), scalingActiveText(hpa))
	}
	return scalingActive(hpa)
}

// AdapterServes says what is still missing before the restored HPA reads
// its metrics again: a current value for each metric of its spec and
// ScalingActive=True, both from one sync of the HPA controller after the
// restore (the previous status had KEDA's external metrics); "" when
// nothing is.
func AdapterServes(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	var missing []string
	for _, m := range hpa.Spec.Metrics {
		if _, ok := currentValue(hpa, m.Type, metricName(m)); !ok {
			missing = append(missing, fmt.Sprintf("%s %s", m.Type, metricName(m)))
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("HPA %s has no current value for %s%s", hpa.Name, strings.Join(missing, ", "), scalingActiveText(hpa))
	}
	return scalingActive(hpa)
}

// CurrentExternal is the HPA's current value of external metric name
// (the average value when the target is AverageValue).
func CurrentExternal(hpa *autoscalingv2.HorizontalPodAutoscaler, name string) (float64, bool) {
	return currentValue(hpa, autoscalingv2.ExternalMetricSourceType, name)
}

// currentValue is the value status.currentMetrics reports for the Pods,
// Object or External metric of type t and name: the average value if there is one, else the value.
func currentValue(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.MetricSourceType, name string) (float64, bool) {
	for _, m := range hpa.Status.CurrentMetrics {
		if m.Type != t {
			continue
		}
		var id autoscalingv2.MetricIdentifier
		var cur autoscalingv2.MetricValueStatus
		switch {
		case m.Pods != nil:
			id, cur = m.Pods.Metric, m.Pods.Current
		case m.Object != nil:
			id, cur = m.Object.Metric, m.Object.Current
		case m.External != nil:
			id, cur = m.External.Metric, m.External.Current
		default:
			continue // cpu/memory metrics are never migrated
		}
		if id.Name != name {
			continue
		}
		switch {
		case cur.AverageValue != nil:
			return cur.AverageValue.AsApproximateFloat64(), true
		case cur.Value != nil:
			return cur.Value.AsApproximateFloat64(), true
		}
	}
	return 0, false
}

// scalingActive is "" when the HPA's ScalingActive condition is True,
// else the condition.
func scalingActive(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, c := range hpa.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionTrue {
			return ""
		}
	}
	return "HPA " + hpa.Name + " not ScalingActive" + scalingActiveText(hpa)
}

// scalingActiveText is the HPA's ScalingActive condition when it is not
// True, as ": reason: message".
func scalingActiveText(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, c := range hpa.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status != corev1.ConditionTrue {
			return fmt.Sprintf(" (ScalingActive %s %s: %s)", c.Status, c.Reason, c.Message)
		}
	}
	return ""
}

func conditionText(c *keda.Condition) string {
	if c == nil {
		return " (no Ready condition yet)"
	}
	return fmt.Sprintf(" (Ready %s %s: %s)", c.Status, c.Reason, c.Message)
}
