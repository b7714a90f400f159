package kube

import (
	"context"
	"fmt"
	"sort"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// HPAScope says which HPAs a command looks at, as kubectl get hpa does:
// those named in Namespace, or without names every HPA of Namespace ("" for
// all) that Selector (a label selector; "" for all) matches.
type HPAScope struct {
	Namespace string
	Names     []string
	Selector  string
}

// HPAs reads the HPAs of scope: each named one (a missing one is named
// with how to list them), or the listed ones a page at a time, sorted by
// namespace/name. keep copies what the caller reads of each (nil:
// WithoutManagedFields), so that a page is garbage once read.
func HPAs(ctx context.Context, c kubernetes.Interface, scope HPAScope,
	keep func(*autoscalingv2.HorizontalPodAutoscaler) autoscalingv2.HorizontalPodAutoscaler) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	if keep == nil {
		keep = WithoutManagedFields
	}
	namespace, names := scope.Namespace, scope.Names
	api := c.AutoscalingV2().HorizontalPodAutoscalers(namespace)
	var out []autoscalingv2.HorizontalPodAutoscaler
	if len(names) > 0 {
		for _, n := range names {
			h, err := api.Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("HorizontalPodAutoscaler %q not found in namespace %q (list them with kubectl get hpa -n %s): %w", n, namespace, namespace, err)
			}
			if err != nil {
				return nil, fmt.Errorf("reading HorizontalPodAutoscaler %s/%s: %w", namespace, n, err)
			}
			out = append(out, keep(h))
		}
		return out, nil
	}
	err := EachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return api.List(ctx, o)
	}, metav1.ListOptions{LabelSelector: scope.Selector}, func(obj runtime.Object) error {
		out = append(out, keep(obj.(*autoscalingv2.HorizontalPodAutoscaler)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return out, nil
}

// WithoutManagedFields is the HPA without its managedFields, which no
// command reads and which are most of a large list's bytes.
func WithoutManagedFields(h *autoscalingv2.HorizontalPodAutoscaler) autoscalingv2.HorizontalPodAutoscaler {
	out := *h
	out.ManagedFields = nil
	return out
}

// EachItem pages through a list (pages of 500) and hands each item to fn.
// fn copies what it keeps: a page is garbage once fn has seen its items, and
// at most one page is fetched ahead, instead of the pager's default of ten.
func EachItem(ctx context.Context, list pager.ListPageFunc, o metav1.ListOptions, fn func(runtime.Object) error) error {
	p := pager.New(list)
	p.PageBufferSize = 0
	return p.EachListItem(ctx, o, fn)
}
