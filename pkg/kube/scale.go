package kube

import (
	"context"

	autoscalingv1 "k8s.io/api/autoscaling/v1"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/scale"
)

// Scale reads the scale subresource of an HPA's scale target, as the HPA
// controller does (its replicas and its pod selector).
func Scale(ctx context.Context, scales scale.ScalesGetter, mapper apimeta.RESTMapper, ns string, ref autoscalingv2.CrossVersionObjectReference) (*autoscalingv1.Scale, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	m, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		return nil, err
	}
	return scales.Scales(ns).Get(ctx, m.Resource.GroupResource(), ref.Name, metav1.GetOptions{})
}

// ScaleSelector is the pod selector of an HPA's scale target as its scale
// subresource states it (status.selector), which is what the HPA
// controller reads.
func ScaleSelector(ctx context.Context, scales scale.ScalesGetter, mapper apimeta.RESTMapper, ns string, ref autoscalingv2.CrossVersionObjectReference) (labels.Selector, error) {
	s, err := Scale(ctx, scales, mapper, ns, ref)
	if err != nil {
		return nil, err
	}
	return labels.Parse(s.Status.Selector)
}
