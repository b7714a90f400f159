package migrate

import (
	"fmt"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
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
	// Query is a prometheus trigger's query; MetricType and Threshold its
	// target.
	Query string `json:"query,omitempty"`
	// Resource is a cpu or memory trigger's type, for a Resource or
	// ContainerResource metric; Container its containerName, Value its
	// value (a percentage for Utilization, a quantity for AverageValue).
	Resource  corev1.ResourceName `json:"resource,omitempty"`
	Container string              `json:"container,omitempty"`
	Value     string              `json:"value,omitempty"`

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
			triggers = append(triggers, trigger(mp, o))
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

// trigger is the KEDA trigger of a planned metric.
func trigger(mp MetricPlan, o Options) keda.ScaleTrigger {
	if mp.Resource != "" {
		// KEDA v2.21's cpu/memory scaler: metricType at the trigger
		// level, the target in metadata.value, containerName for a
		// ContainerResource metric (pkg/scalers/cpu_memory_scaler.go).
		md := map[string]string{"value": mp.Value}
		if mp.Container != "" {
			md["containerName"] = mp.Container
		}
		return keda.ScaleTrigger{Type: string(mp.Resource), MetricType: mp.MetricType, Metadata: md}
	}
	return keda.ScaleTrigger{
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
	}
}

// ResourceNote is the note on every cpu or memory trigger.
const ResourceNote = "the HPA reads it from the resource metrics API (metrics.k8s.io) before and after: KEDA's trigger writes the same metric back into the HPA, so the value is unchanged"

// planResource plans the cpu or memory trigger of a Resource or
// ContainerResource metric: the HPA's target as KEDA's scaler takes it.
func planResource(mp MetricPlan, spec autoscalingv2.MetricSpec) MetricPlan {
	var target autoscalingv2.MetricTarget
	if spec.Resource != nil {
		mp.Resource, target = spec.Resource.Name, spec.Resource.Target
	} else if spec.ContainerResource != nil {
		mp.Resource, mp.Container, target = spec.ContainerResource.Name, spec.ContainerResource.Container, spec.ContainerResource.Target
	}
	if mp.Resource != corev1.ResourceCPU && mp.Resource != corev1.ResourceMemory {
		mp.Resource, mp.Container = "", ""
		mp.Refused = fmt.Sprintf("resource %q: KEDA has triggers for cpu and memory only", mp.Name)
		return mp
	}
	switch {
	case target.Type == autoscalingv2.UtilizationMetricType && target.AverageUtilization != nil:
		u := *target.AverageUtilization
		mp.MetricType, mp.Threshold, mp.Value = autoscalingv2.UtilizationMetricType, float64(u), strconv.Itoa(int(u))
	case target.Type == autoscalingv2.AverageValueMetricType && target.AverageValue != nil:
		mp.MetricType, mp.Threshold, mp.Value = autoscalingv2.AverageValueMetricType, target.AverageValue.AsApproximateFloat64(), target.AverageValue.String()
	default:
		mp.Refused = fmt.Sprintf("target type %q of %s has no KEDA equivalent: KEDA's %s trigger takes Utilization or AverageValue", target.Type, mp.Name, mp.Resource)
		mp.Resource, mp.Container = "", ""
		return mp
	}
	mp.Note = ResourceNote
	return mp
}

func planMetric(m Metric) MetricPlan {
	mp := MetricPlan{Name: metricName(m.Spec), Type: m.Spec.Type, Trigger: -1}
	var target autoscalingv2.MetricTarget
	switch m.Spec.Type {
	case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		return planResource(mp, m.Spec)
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
	if c := s.ContainerResource; c != nil {
		return string(c.Name) + " of container " + c.Container
	}
	return metricspec.Name(s)
}
