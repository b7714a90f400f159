package alerts

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// PrometheusRuleKind is the Prometheus Operator's kind for rules.
var PrometheusRuleKind = schema.GroupKind{Group: "monitoring.coreos.com", Kind: "PrometheusRule"}

// Owner label: the PrometheusRules Apply writes carry it, and it changes
// no other.
const (
	OwnerLabel = "app.kubernetes.io/managed-by"
	OwnerValue = "metricscale"
)

// ErrNoOperator: the API server serves no PrometheusRule (the Prometheus
// Operator's CRDs are not installed).
var ErrNoOperator = errors.New("the API server serves no PrometheusRule (monitoring.coreos.com): the Prometheus Operator's CRDs are not installed")

// Applied says what Apply did, as kubectl apply says it.
type Applied string

const (
	Created    Applied = "created"
	Configured Applied = "configured"
	Unchanged  Applied = "unchanged"
)

// Apply creates the PrometheusRule obj or brings the one of its name to
// it, writing nothing when its spec and owner label are already so. One of
// that name without the owner label is someone else's: it is left alone.
func Apply(ctx context.Context, client dynamic.Interface, mapper meta.RESTMapper, obj *unstructured.Unstructured) (Applied, error) {
	mapping, err := mapper.RESTMapping(PrometheusRuleKind)
	if r, ok := mapper.(meta.ResettableRESTMapper); ok && meta.IsNoMatchError(err) {
		// A cached discovery predates the CRD: ask the API server again, as kubectl apply does.
		r.Reset()
		mapping, err = mapper.RESTMapping(PrometheusRuleKind)
	}
	if meta.IsNoMatchError(err) {
		return "", ErrNoOperator
	}
	if err != nil {
		return "", err
	}
	rules := client.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	live, err := rules.Get(ctx, obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = rules.Create(ctx, obj, metav1.CreateOptions{FieldManager: OwnerValue})
		return Created, err
	case err != nil:
		return "", err
	case live.GetLabels()[OwnerLabel] != OwnerValue:
		return "", fmt.Errorf("PrometheusRule %s/%s exists without %s=%s: it is not metricscale's, and is left alone; delete it or apply these rules under another name",
			obj.GetNamespace(), obj.GetName(), OwnerLabel, OwnerValue)
	case equality.Semantic.DeepEqual(live.Object["spec"], obj.Object["spec"]):
		return Unchanged, nil
	}
	obj.SetResourceVersion(live.GetResourceVersion())
	_, err = rules.Update(ctx, obj, metav1.UpdateOptions{FieldManager: OwnerValue})
	return Configured, err
}
