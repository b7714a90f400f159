package sandbox

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

const (
	// DefaultKwokNodes is how many kwok nodes `up` registers.
	DefaultKwokNodes = 2
	// KwokNodePods is the pod capacity of each kwok node.
	KwokNodePods = 1000
	// KwokNodeSelector selects the sandbox's kwok nodes.
	KwokNodeSelector = "type=kwok"
)

// nodeCapacity is every sandbox node's capacity and allocatable.
func nodeCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(KwokNodePods, resource.DecimalSI),
	}
}

func kwokNodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// kwokNode is the kwok node named name: kwok manages the nodes annotated
// kwok.x-k8s.io/node=fake and makes the pods bound to them Running and Ready;
// metrics-server reads the node's resource metrics from kwok, at the path
// the node's resource-metrics-path annotation names.
func kwokNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name,
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake",
			resourceMetricsPathAnnotation: fmt.Sprintf(kwokResourceMetricsPath, name)},
		Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
	}}
}

// registerNode creates n with the sandbox's capacity and clears the
// not-ready taint that admission puts on new nodes, which only the node
// lifecycle controller would otherwise remove.
func registerNode(ctx context.Context, c kubernetes.Interface, n *corev1.Node) (*corev1.Node, error) {
	capacity := nodeCapacity()
	n.Status = corev1.NodeStatus{Capacity: capacity, Allocatable: capacity}
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	// kwok updates its nodes concurrently: re-read on conflict.
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		node, err := c.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var keep []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				keep = append(keep, t)
			}
		}
		node.Spec.Taints = keep
		updated, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		if err == nil {
			created = updated
		}
		return err
	})
	return created, err
}

// KwokNodes lists the sandbox's kwok nodes.
func KwokNodes(ctx context.Context, c kubernetes.Interface) ([]corev1.Node, error) {
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: KwokNodeSelector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// EnsureKwokNodes makes sure at least n kwok nodes exist: it registers the
// missing ones as `up` registers its own (kwok-node-<i>, same labels,
// annotation and capacity), waits up to timeout for kwok to report them
// Ready, and returns the names it registered.
func EnsureKwokNodes(ctx context.Context, c kubernetes.Interface, n int, timeout time.Duration) ([]string, error) {
	nodes, err := KwokNodes(ctx, c)
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, node := range nodes {
		exists[node.Name] = true
	}
	var added []string
	for i := 0; len(nodes)+len(added) < n; i++ {
		name := kwokNodeName(i)
		if exists[name] {
			continue
		}
		if _, err := registerNode(ctx, c, kwokNode(name)); err != nil {
			return added, fmt.Errorf("registering kwok node %s: %w", name, err)
		}
		added = append(added, name)
	}
	deadline := time.Now().Add(timeout)
	for _, name := range added {
		for {
			node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err == nil && nodeReady(node) {
				break
			}
			if time.Now().After(deadline) {
				return added, fmt.Errorf("kwok node %s not Ready after %s (is kwok running?)", name, timeout)
			}
			select {
			case <-ctx.Done():
				return added, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return added, nil
}

// DeleteNodes deletes the named nodes; a node already gone is no error.
// Pods still bound to a node stay behind (the sandbox runs no pod garbage
// collector): delete them first.
func DeleteNodes(ctx context.Context, c kubernetes.Interface, names []string) error {
	for _, name := range names {
		if err := c.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting node %s: %w", name, err)
		}
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
