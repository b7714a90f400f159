package keda

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group, version and the ScaledObject resource.
var (
	GroupVersion  = schema.GroupVersion{Group: "keda.sh", Version: "v1alpha1"}
	ScaledObjects = GroupVersion.WithResource("scaledobjects")
)

// Annotations and labels KEDA reads or writes.
const (
	// TransferHPAOwnershipAnnotation ("true") on a ScaledObject whose
	// advanced.horizontalPodAutoscalerConfig.name names an existing HPA
	// makes KEDA adopt that HPA instead of creating a second one.
	TransferHPAOwnershipAnnotation = "scaledobject.keda.sh/transfer-hpa-ownership"
	// ScaledObjectNameLabel is set by KEDA on the HPA it owns, and is the
	// label selector of the external metrics it serves for a ScaledObject.
	ScaledObjectNameLabel = "scaledobject.keda.sh/name"
	// PausedAnnotation and PausedReplicasAnnotation pause scaling.
	PausedAnnotation         = "autoscaling.keda.sh/paused"
	PausedReplicasAnnotation = "autoscaling.keda.sh/paused-replicas"
)

// ConditionType is a ScaledObject status condition's type.
type ConditionType string

// The ScaledObject conditions KEDA reports.
const (
	ConditionReady    ConditionType = "Ready"
	ConditionActive   ConditionType = "Active"
	ConditionFallback ConditionType = "Fallback"
	ConditionPaused   ConditionType = "Paused"
)

// ScaledObject is keda.sh/v1alpha1 ScaledObject.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScaledObjectSpec   `json:"spec"`
	Status ScaledObjectStatus `json:"status,omitempty"`
}

// ScaledObjectSpec is what KEDA scales and on which triggers.
type ScaledObjectSpec struct {
	ScaleTargetRef        *ScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *AdvancedConfig `json:"advanced,omitempty"`
	Triggers              []ScaleTrigger  `json:"triggers"`
	Fallback              *Fallback       `json:"fallback,omitempty"`
}

// ScaleTarget is the workload a ScaledObject scales (its scale subresource).
type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

// AdvancedConfig holds the HPA KEDA manages for the ScaledObject.
type AdvancedConfig struct {
	HorizontalPodAutoscalerConfig *HorizontalPodAutoscalerConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool                           `json:"restoreToOriginalReplicaCount,omitempty"`
	ScalingModifiers              *ScalingModifiers              `json:"scalingModifiers,omitempty"`
}

// HorizontalPodAutoscalerConfig: the HPA's name (an existing HPA to adopt
// with TransferHPAOwnershipAnnotation) and its behavior.
type HorizontalPodAutoscalerConfig struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
	Name     string                                         `json:"name,omitempty"`
}

// ScalingModifiers combine the triggers' metrics with a formula.
type ScalingModifiers struct {
	Formula          string                         `json:"formula,omitempty"`
	Target           string                         `json:"target,omitempty"`
	ActivationTarget string                         `json:"activationTarget,omitempty"`
	MetricType       autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// Fallback is the replica count KEDA sets when a trigger keeps failing.
type Fallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior,omitempty"`
}

// ScaleTrigger is one trigger: its scaler type ("prometheus"), the
// scaler's metadata (for prometheus: serverAddress, query, threshold,
// activationThreshold, ...), the TriggerAuthentication it uses, and the
// HPA target type of its metric (AverageValue by default, or Value).
type ScaleTrigger struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *AuthenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// AuthenticationRef names a TriggerAuthentication (or, with Kind
// ClusterTriggerAuthentication, a cluster-wide one).
type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// ScaledObjectStatus is what KEDA reports.
type ScaledObjectStatus struct {
	ScaleTargetKind      string                    `json:"scaleTargetKind,omitempty"`
	ScaleTargetGVKR      *GroupVersionKindResource `json:"scaleTargetGVKR,omitempty"`
	OriginalReplicaCount *int32                    `json:"originalReplicaCount,omitempty"`
	LastActiveTime       *metav1.Time              `json:"lastActiveTime,omitempty"`
	// ExternalMetricNames are the names KEDA serves on
	// external.metrics.k8s.io for the HPA: s<trigger index>-<metric>.
	ExternalMetricNames []string                `json:"externalMetricNames,omitempty"`
	ResourceMetricNames []string                `json:"resourceMetricNames,omitempty"`
	CompositeScalerName string                  `json:"compositeScalerName,omitempty"`
	Conditions          []Condition             `json:"conditions,omitempty"`
	Health              map[string]HealthStatus `json:"health,omitempty"`
	PausedReplicaCount  *int32                  `json:"pausedReplicaCount,omitempty"`
	HPAName             string                  `json:"hpaName,omitempty"`
}

// GroupVersionKindResource is the scale target's resolved type.
type GroupVersionKindResource struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
}

// Condition is a ScaledObject status condition.
type Condition struct {
	Type    ConditionType          `json:"type"`
	Status  metav1.ConditionStatus `json:"status"`
	Reason  string                 `json:"reason,omitempty"`
	Message string                 `json:"message,omitempty"`
}

// HealthStatus is a trigger's consecutive failures.
type HealthStatus struct {
	NumberOfFailures *int32 `json:"numberOfFailures,omitempty"`
	Status           string `json:"status,omitempty"`
}

// Condition returns the status condition of type t, or nil.
func (so *ScaledObject) Condition(t ConditionType) *Condition {
	for i := range so.Status.Conditions {
		if so.Status.Conditions[i].Type == t {
			return &so.Status.Conditions[i]
		}
	}
	return nil
}

// IsTrue reports whether condition t is present with status True.
func (so *ScaledObject) IsTrue(t ConditionType) bool {
	c := so.Condition(t)
	return c != nil && c.Status == metav1.ConditionTrue
}

// HPAName is the HPA KEDA manages for the ScaledObject: the name in
// advanced.horizontalPodAutoscalerConfig, else keda-hpa-<name> (KEDA's
// getHPAName).
func (so *ScaledObject) HPAName() string {
	if a := so.Spec.Advanced; a != nil && a.HorizontalPodAutoscalerConfig != nil && a.HorizontalPodAutoscalerConfig.Name != "" {
		return a.HorizontalPodAutoscalerConfig.Name
	}
	return "keda-hpa-" + so.Name
}

// MetricSelector is the label selector the HPA KEDA writes sends with its
// external metrics: scaledobject.keda.sh/name=<name>.
func (so *ScaledObject) MetricSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{ScaledObjectNameLabel: so.Name}}
}

// ExternalMetricName is the name KEDA serves trigger index i's metric
// under (its GenerateMetricNameWithIndex): s<i>-<metric>, e.g.
// s0-prometheus.
func ExternalMetricName(i int, metric string) string {
	return fmt.Sprintf("s%d-%s", i, metric)
}

// Owner names the ScaledObject that controls the HPA (KEDA's
// ownerReference), or "".
func Owner(h *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, o := range h.OwnerReferences {
		if o.Kind == "ScaledObject" && strings.HasPrefix(o.APIVersion, GroupVersion.Group+"/") {
			return o.Name
		}
	}
	return ""
}
