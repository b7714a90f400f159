package doctor

import (
	"fmt"
	"sort"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// hpaObject names an HPA in its findings.
func hpaObject(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	return "HorizontalPodAutoscaler " + hpa.Namespace + "/" + hpa.Name
}

// hpaFindings judges the HPA as a whole from the controller's conditions and
// its scale target. targetFound is false when the target does not exist.
func hpaFindings(hpa *autoscalingv2.HorizontalPodAutoscaler, targetFound bool, readyPods, pods int, events ...corev1.Event) []Finding {
	obj := hpaObject(hpa)
	ref := hpa.Spec.ScaleTargetRef
	var out []Finding
	if !targetFound {
		out = append(out, newFinding(CodeTargetNotFound, obj, ref.Kind, ref.Name, hpa.Namespace, "it does not exist").
			withFix(Fix{Description: "fix spec.scaleTargetRef (kind, name and apiVersion, e.g. apps/v1 Deployment) or create the target"}))
		return out
	}
	if readyPods == 0 {
		out = append(out, newFinding(CodeNoReadyPods, obj, ref.Kind, ref.Name, pods))
	}
	for _, c := range hpa.Status.Conditions {
		switch {
		case c.Type == autoscalingv2.AbleToScale && c.Status == corev1.ConditionFalse && c.Reason == "FailedGetScale":
			out = append(out, newFinding(CodeTargetNotFound, obj, ref.Kind, ref.Name, hpa.Namespace, c.Message))
		case c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason != "ScalingDisabled":
			if strings.Contains(c.Message, "forbidden") {
				out = append(out, newFinding(CodeHPAForbidden, obj, c.Reason, c.Message).
					withFix(Fix{Description: "bind a ClusterRole that allows get/list on custom.metrics.k8s.io (and external.metrics.k8s.io) to the HPA controller's ServiceAccount kube-system/horizontal-pod-autoscaler",
						YAML: hpaRBACYAML}))
				continue
			}
			out = append(out, newFinding(CodeCannotCompute, obj, c.Reason, c.Message).withEvidence(sayOnce(c.Message, eventEvidence(events, 3))...))
		case c.Type == autoscalingv2.ScalingLimited && c.Status == corev1.ConditionTrue && c.Reason == "TooManyReplicas":
			out = append(out, newFinding(CodeAtMaxReplicas, obj, hpa.Spec.MaxReplicas, c.Message))
		}
	}
	return out
}

const hpaRBACYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: custom-metrics-reader
rules:
- apiGroups: [custom.metrics.k8s.io, external.metrics.k8s.io]
  resources: ["*"]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: hpa-controller-custom-metrics
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: custom-metrics-reader}
subjects:
- {kind: ServiceAccount, name: horizontal-pod-autoscaler, namespace: kube-system}
`

func describedObjectMissing(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) Finding {
	d := spec.Object.DescribedObject
	return newFinding(CodeDescribedObjectMissing, hpaObject(hpa), spec.Object.Metric.Name, d.Kind, d.Name, hpa.Namespace).
		withFix(Fix{Description: fmt.Sprintf("fix spec.metrics[].object.describedObject (kind %s, name %s, apiVersion) to name an existing object", d.Kind, d.Name)})
}

// eventEvidence renders the newest warning events of an HPA, newest first.
func eventEvidence(events []corev1.Event, max int) []string {
	sort.SliceStable(events, func(i, j int) bool { return kube.EventTime(&events[i]).After(kube.EventTime(&events[j])) })
	var out []string
	for _, e := range events {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		if len(out) == max {
			break
		}
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (x%d)", e.Count)
		}
		out = append(out, fmt.Sprintf("event %s%s: %s", e.Reason, count, e.Message))
	}
	return out
}

// sayOnce shortens each line of evidence that ends as message does (an
// event that repeats the condition's error, as the controller's events
// do): the shared ending, said above, becomes "… (as above)".
func sayOnce(message string, evidence []string) []string {
	out := make([]string, len(evidence))
	for i, e := range evidence {
		out[i] = shortenRepeat(e, message, "as above")
	}
	return out
}

// shortenRepeat cuts from line the ending it shares with said, at a word,
// and points at where it was said; a line that shares less than a clause
// is kept whole.
func shortenRepeat(line, said, where string) string {
	const least = 24 // shorter shared endings are words, not a repeated error
	n := commonSuffix(line, said)
	for n > 0 && n < len(line) && line[len(line)-n-1] != ' ' {
		n--
	}
	if n < least {
		return line
	}
	return strings.TrimRight(line[:len(line)-n], " :") + " … (" + where + ")"
}

// commonSuffix is the length of the longest common ending of a and b.
func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// settle turns MS401 into MS408, a warning, only when doctor reproduced the
// HPA controller's own request for every metric of the HPA (selectors
// included) and each returned values: the condition is from the
// controller's last sync and clears on its next (typically right after a
// rule was added). The condition, its events and the requests that answered
// are the evidence. A metric doctor did not request, or whose request
// returned nothing, keeps MS401 an error.
func settle(hr *HPAReport) {
	if len(hr.Metrics) == 0 {
		return
	}
	var answered []string
	for _, m := range hr.Metrics {
		if m.Request == "" {
			return
		}
		answered = append(answered, "GET "+m.Request+" returned values")
	}
	for i, f := range hr.Findings {
		// AmbiguousSelector is never stale: the values answer, the
		// controller still refuses to scale.
		if f.Code == string(CodeCannotCompute) && !strings.Contains(f.Message, "AmbiguousSelector") {
			ev := append([]string{"condition " + f.Message}, f.Evidence...)
			hr.Findings[i] = newFinding(CodeStaleCondition, f.Object).withEvidence(append(ev, answered...)...)
		}
	}
}
