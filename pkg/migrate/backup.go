package migrate

import (
	"encoding/json"
	"fmt"
	"maps"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// The marks migrate keda --apply leaves on the ScaledObjects it creates.
const (
	// ManagedByLabel with value ManagedBy marks a ScaledObject created by
	// migrate keda: --rollback touches only those.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-metricscale"
	// BackupAnnotation holds the adopted HPA as it was before (a Backup as
	// JSON). It lives on the ScaledObject, written in the same request that
	// creates it: there is never a ScaledObject without its backup, nor a
	// backup left behind when the create fails, and --rollback finds it
	// where it needs it. KEDA copies the ScaledObject's annotations onto the
	// HPA; the rollback restores the HPA's own.
	BackupAnnotation = "metricscale.io/original-hpa"
)

// ManagedSelector selects the ScaledObjects migrate keda created.
func ManagedSelector() string { return ManagedByLabel + "=" + ManagedBy }

// Backup is what KEDA rewrites on the HPA it adopts: its spec (metrics,
// min/max, behavior), labels and annotations; UID identifies the HPA.
type Backup struct {
	UID         types.UID                                 `json:"uid"`
	Labels      map[string]string                         `json:"labels,omitempty"`
	Annotations map[string]string                         `json:"annotations,omitempty"`
	Spec        autoscalingv2.HorizontalPodAutoscalerSpec `json:"spec"`
}

// WithBackup returns a copy of so marked as migrate's, holding hpa's
// backup.
func WithBackup(so *keda.ScaledObject, hpa *autoscalingv2.HorizontalPodAutoscaler) (*keda.ScaledObject, error) {
	b, err := json.Marshal(Backup{UID: hpa.UID, Labels: hpa.Labels, Annotations: hpa.Annotations, Spec: hpa.Spec})
	if err != nil {
		return nil, err
	}
	out := *so
	out.Labels = maps.Clone(so.Labels)
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	out.Labels[ManagedByLabel] = ManagedBy
	out.Annotations = maps.Clone(so.Annotations)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[BackupAnnotation] = string(b)
	return &out, nil
}

// ReadBackup reads the HPA's backup from a ScaledObject migrate created.
func ReadBackup(so *keda.ScaledObject) (*Backup, error) {
	raw, ok := so.Annotations[BackupAnnotation]
	if !ok {
		return nil, fmt.Errorf("ScaledObject %s/%s has no annotation %s with the HPA's previous spec: restore the HPA by hand (kubectl edit hpa %s)", so.Namespace, so.Name, BackupAnnotation, so.HPAName())
	}
	var b Backup
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		return nil, fmt.Errorf("ScaledObject %s/%s: annotation %s is not an HPA backup (%v): restore the HPA by hand (kubectl edit hpa %s)", so.Namespace, so.Name, BackupAnnotation, err, so.HPAName())
	}
	if len(b.Spec.Metrics) == 0 || b.Spec.MaxReplicas == 0 {
		return nil, fmt.Errorf("ScaledObject %s/%s: annotation %s holds no HPA spec (no metrics or maxReplicas): restore the HPA by hand (kubectl edit hpa %s)", so.Namespace, so.Name, BackupAnnotation, so.HPAName())
	}
	return &b, nil
}

// Restore returns hpa as the backup had it: spec, labels and annotations
// from b, without so's ownerReference (the garbage collector removes it
// when so is deleted with Orphan; KEDA may have written it back just
// before). hpa keeps its identity: name, UID, resourceVersion.
func Restore(hpa *autoscalingv2.HorizontalPodAutoscaler, so *keda.ScaledObject, b *Backup) *autoscalingv2.HorizontalPodAutoscaler {
	out := hpa.DeepCopy()
	out.Spec = *b.Spec.DeepCopy()
	out.Labels = maps.Clone(b.Labels)
	out.Annotations = maps.Clone(b.Annotations)
	var owners []metav1.OwnerReference
	for _, o := range hpa.OwnerReferences {
		if o.Kind == "ScaledObject" && o.Name == so.Name {
			continue
		}
		owners = append(owners, o)
	}
	out.OwnerReferences = owners
	return out
}
