package keda

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
)

// Client reads and writes ScaledObjects through the dynamic client.
type Client struct {
	dyn dynamic.Interface
}

// NewClient returns a Client over dyn.
func NewClient(dyn dynamic.Interface) *Client { return &Client{dyn: dyn} }

// Get reads one ScaledObject.
func (c *Client) Get(ctx context.Context, namespace, name string) (*ScaledObject, error) {
	u, err := c.dyn.Resource(ScaledObjects).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(u)
}

// List reads the ScaledObjects of a namespace ("" for all).
func (c *Client) List(ctx context.Context, namespace string) ([]ScaledObject, error) {
	return c.ListSelected(ctx, namespace, "")
}

// ListSelected reads the ScaledObjects of a namespace ("" for all) whose
// labels match selector ("" for all).
func (c *Client) ListSelected(ctx context.Context, namespace, selector string) ([]ScaledObject, error) {
	l, err := c.dyn.Resource(ScaledObjects).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := make([]ScaledObject, 0, len(l.Items))
	for i := range l.Items {
		so, err := FromUnstructured(&l.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *so)
	}
	return out, nil
}

// Create creates so in its namespace and returns what the API server stored.
func (c *Client) Create(ctx context.Context, so *ScaledObject) (*ScaledObject, error) {
	u, err := ToUnstructured(so)
	if err != nil {
		return nil, err
	}
	created, err := c.dyn.Resource(ScaledObjects).Namespace(so.Namespace).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(created)
}

// Delete deletes a ScaledObject; the garbage collector then deletes the
// HPA it owns.
func (c *Client) Delete(ctx context.Context, namespace, name string) error {
	return c.dyn.Resource(ScaledObjects).Namespace(namespace).Delete(ctx, name, metav1.DeleteOptions{})
}

// DeleteOrphan deletes a ScaledObject with propagationPolicy Orphan: the
// garbage collector removes the ScaledObject's ownerReference from the HPA
// instead of deleting the HPA. KEDA v2.21's finalizer only stops the scale
// loop (controllers/keda/scaledobject_finalizer.go); it never deletes the
// HPA itself.
func (c *Client) DeleteOrphan(ctx context.Context, namespace, name string) error {
	orphan := metav1.DeletePropagationOrphan
	return c.dyn.Resource(ScaledObjects).Namespace(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &orphan})
}

// FromUnstructured converts a ScaledObject read with the dynamic client;
// fields the mirror does not know are dropped.
func FromUnstructured(u *unstructured.Unstructured) (*ScaledObject, error) {
	so := &ScaledObject{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, so); err != nil {
		return nil, fmt.Errorf("reading ScaledObject %s/%s: %w", u.GetNamespace(), u.GetName(), err)
	}
	return so, nil
}

// ToUnstructured converts so for the dynamic client, with its apiVersion
// and kind set.
func ToUnstructured(so *ScaledObject) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(so)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(GroupVersion.WithKind("ScaledObject"))
	return u, nil
}
