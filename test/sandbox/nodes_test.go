package sandbox

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// EnsureKwokNodes registers only the missing nodes, with the labels,
// annotation and capacity of the ones `up` registers, and waits for them to
// be Ready (which kwok reports; here the fake client does).
func TestEnsureKwokNodes(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	c.PrependReactor("create", "nodes", func(a k8stesting.Action) (bool, kruntime.Object, error) {
		n := a.(k8stesting.CreateAction).GetObject().(*corev1.Node)
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
		return false, nil, nil
	})
	for i := range DefaultKwokNodes {
		if _, err := registerNode(ctx, c, kwokNode(kwokNodeName(i))); err != nil {
			t.Fatal(err)
		}
	}
	added, err := EnsureKwokNodes(ctx, c, 2, time.Second)
	if err != nil || len(added) != 0 {
		t.Fatalf("enough nodes: added %v, %v", added, err)
	}
	added, err = EnsureKwokNodes(ctx, c, 4, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"kwok-node-2", "kwok-node-3"}; !reflect.DeepEqual(added, want) {
		t.Fatalf("added %v, want %v", added, want)
	}
	first, _ := c.CoreV1().Nodes().Get(ctx, "kwok-node-0", metav1.GetOptions{})
	last, _ := c.CoreV1().Nodes().Get(ctx, "kwok-node-3", metav1.GetOptions{})
	if !reflect.DeepEqual(first.Labels, map[string]string{"kubernetes.io/hostname": "kwok-node-0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"}) ||
		last.Labels["type"] != "kwok" || last.Labels["kubernetes.io/hostname"] != "kwok-node-3" ||
		!reflect.DeepEqual(withoutName(first.Annotations, first.Name), withoutName(last.Annotations, last.Name)) ||
		last.Annotations[resourceMetricsPathAnnotation] != "/metrics/nodes/kwok-node-3/metrics/resource" ||
		!last.Status.Allocatable.Pods().Equal(*first.Status.Allocatable.Pods()) {
		t.Fatalf("new node differs from the sandbox's own:\n%+v\n%+v", first.ObjectMeta, last.ObjectMeta)
	}
	nodes, _ := KwokNodes(ctx, c)
	if len(nodes) != 4 {
		t.Fatalf("%d kwok nodes", len(nodes))
	}
	if err := DeleteNodes(ctx, c, append(added, "kwok-node-9")); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := KwokNodes(ctx, c); len(nodes) != 2 {
		t.Fatalf("%d kwok nodes after deleting the added ones", len(nodes))
	}
}

// withoutName is a node's annotations with its own name (in its resource
// metrics path) replaced by NODE, for comparing nodes.
func withoutName(annotations map[string]string, node string) map[string]string {
	out := map[string]string{}
	for k, v := range annotations {
		out[k] = strings.ReplaceAll(v, node, "NODE")
	}
	return out
}
