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
		if _, ok := CurrentExternal(hpa, name); !ok {
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
