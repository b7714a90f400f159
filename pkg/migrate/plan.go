package migrate

import (
	"fmt"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// Metric is one metric of an HPA with what the adapter does for it.
type Metric struct {
	Spec autoscalingv2.MetricSpec
	// AdapterQuery is the query prometheus-adapter renders for the HPA
	// controller's request of this metric (pkg/hpareq); empty when Problem
	// says why there is none.
	AdapterQuery string
	Problem      string
	// Note is what the user should know about a migrated metric's
	// trigger (that it names today's pods, and why).
	Note string
}

// Options are the settings every plan shares.
type Options struct {
	// ServerAddress is the Prometheus URL KEDA's triggers query: the
	// adapter's --prometheus-url unless given.
	ServerAddress string
}

// NotesAnnotation on a planned ScaledObject holds the notes on its
// triggers, one line each ("trigger N (METRIC): NOTE"), so the YAML or
// JSON printed, and the object applied, say them too.
const NotesAnnotation = "metricscale.io/trigger-notes"

// Plan is the migration of one HPA. ScaledObject is nil when a metric
// cannot be migrated: KEDA rewrites the adopted HPA's metrics from its
// triggers, so a metric left behind would stop counting.
type Plan struct {
	Namespace, HPA string
	Metrics        []MetricPlan
	ScaledObject   *keda.ScaledObject
}

// MetricPlan is one HPA metric and its trigger, or why it has none.
type MetricPlan struct {
	Name string                         `json:"name"`
	Type autoscalingv2.MetricSourceType `json:"type"`
	// Trigger is the index of its trigger in the ScaledObject, -1 for none.
	Trigger int `json:"trigger"`
	// Query is the trigger's query; MetricType and Threshold its target.
	Query      string                         `json:"query,omitempty"`
	MetricType autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
	Threshold  float64                        `json:"threshold,omitempty"`
	// PerReplica: the HPA divides the value by the current replicas
	// (KEDA's AverageValue), so the HPA compares value/replicas with the
	// threshold.
	PerReplica bool `json:"perReplica,omitempty"`
	// Refused says plainly why the metric cannot be migrated.
	Refused string `json:"refused,omitempty"`
	// Note is what to know about a migrated metric's trigger.
	Note string `json:"note,omitempty"`
}

// Migratable reports whether every metric of the HPA has a trigger.
func (p *Plan) Migratable() bool { return p.ScaledObject != nil }

// PlanHPA builds the ScaledObject for hpa from its metrics (in the order
// of spec.metrics).
func PlanHPA(hpa *autoscalingv2.HorizontalPodAutoscaler, metrics []Metric, o Options) Plan {
	p := Plan{Namespace: hpa.Namespace, HPA: hpa.Name}
	var triggers []keda.ScaleTrigger
	var notes []string
	ok := len(metrics) > 0
	for _, m := range metrics {
		mp := planMetric(m)
		if mp.Refused == "" {
			mp.Trigger = len(triggers)
			triggers = append(triggers, keda.ScaleTrigger{
				Type:       "prometheus",
				MetricType: mp.MetricType,
				Metadata: map[string]string{
					"serverAddress": o.ServerAddress,
					"query":         mp.Query,
					"threshold":     strconv.FormatFloat(mp.Threshold, 'f', -1, 64),
					// No data is an error, as the adapter's "not found" is
					// to the HPA: the HPA holds instead of scaling to min.
					"ignoreNullValues": "false",
				},
			})
			if mp.Note != "" {
				notes = append(notes, fmt.Sprintf("trigger %d (%s): %s", mp.Trigger, mp.Name, mp.Note))
			}
		} else {
			ok = false
		}
		p.Metrics = append(p.Metrics, mp)
	}
	if !ok {
		return p
	}
	min := ptr.Deref(hpa.Spec.MinReplicas, 1) // the HPA's default; KEDA's is 0
	ref := hpa.Spec.ScaleTargetRef
	annotations := map[string]string{keda.TransferHPAOwnershipAnnotation: "true"}
	if len(notes) > 0 {
		annotations[NotesAnnotation] = strings.Join(notes, "\n")
	}
	p.ScaledObject = &keda.ScaledObject{
		TypeMeta: metav1.TypeMeta{APIVersion: keda.GroupVersion.String(), Kind: "ScaledObject"},
		ObjectMeta: metav1.ObjectMeta{Namespace: hpa.Namespace, Name: hpa.Name,
			// Adopt the existing HPA: KEDA takes it over instead of
			// creating a second one on the same target.
			Annotations: annotations},
		Spec: keda.ScaledObjectSpec{
			ScaleTargetRef:  &keda.ScaleTarget{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name},
			MinReplicaCount: ptr.To(min),
			MaxReplicaCount: ptr.To(hpa.Spec.MaxReplicas),
			Advanced: &keda.AdvancedConfig{HorizontalPodAutoscalerConfig: &keda.HorizontalPodAutoscalerConfig{
				Name: hpa.Name, Behavior: hpa.Spec.Behavior.DeepCopy()}},
			Triggers: triggers,
		},
	}
	return p
}

func planMetric(m Metric) MetricPlan {
	mp := MetricPlan{Name: metricName(m.Spec), Type: m.Spec.Type, Trigger: -1}
	var target autoscalingv2.MetricTarget
	switch m.Spec.Type {
	case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		mp.Refused = fmt.Sprintf("a %s metric (%s) is read from the resource metrics API, not from the adapter's rules: KEDA's cpu/memory triggers are out of scope here; keep this HPA or write the trigger by hand", m.Spec.Type, mp.Name)
		return mp
	case autoscalingv2.PodsMetricSourceType:
		target = m.Spec.Pods.Target
	case autoscalingv2.ObjectMetricSourceType:
		target = m.Spec.Object.Target
	case autoscalingv2.ExternalMetricSourceType:
		target = m.Spec.External.Target
	default:
		mp.Refused = fmt.Sprintf("metric type %q is unknown", m.Spec.Type)
		return mp
	}
	if m.Problem != "" {
		mp.Refused = m.Problem
		return mp
	}
	switch {
	case target.Type == autoscalingv2.AverageValueMetricType && target.AverageValue != nil:
		mp.MetricType, mp.Threshold, mp.PerReplica = autoscalingv2.AverageValueMetricType, target.AverageValue.AsApproximateFloat64(), true
	case target.Type == autoscalingv2.ValueMetricType && target.Value != nil:
		mp.MetricType, mp.Threshold = autoscalingv2.ValueMetricType, target.Value.AsApproximateFloat64()
	default:
		mp.Refused = fmt.Sprintf("target type %q of %s has no KEDA equivalent: use Value or AverageValue", target.Type, mp.Name)
		return mp
	}
	q, err := Reduce(m.AdapterQuery)
	if err != nil {
		mp.Refused = err.Error()
		return mp
	}
	mp.Query, mp.Note = q, m.Note
	return mp
}

func metricName(s autoscalingv2.MetricSpec) string {
	switch {
	case s.Pods != nil:
		return s.Pods.Metric.Name
	case s.Object != nil:
		return s.Object.Metric.Name
	case s.External != nil:
		return s.External.Metric.Name
	case s.Resource != nil:
		return string(s.Resource.Name)
	case s.ContainerResource != nil:
		return string(s.ContainerResource.Name) + " of container " + s.ContainerResource.Container
	}
	return ""
}
