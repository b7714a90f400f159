package sandbox

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"
)

// The resource metrics API (metrics.k8s.io, what kubectl top and the HPA
// controller's Resource metrics read) is metrics-server's, a pod on the
// host node (manifests/metrics-server.yaml). It scrapes each node's
// kubelet /metrics/resource: kwok's server for the kwok nodes (the Metric
// of kwok's module, at the path of each node's resource-metrics-path
// annotation), the host agent's for the host node (kubelet.go).
const (
	// ResourceMetricsAPIService is metrics-server's APIService.
	ResourceMetricsAPIService = "v1beta1.metrics.k8s.io"
	// MetricsServerNamespace and MetricsServerName name its Deployment
	// (and ServiceAccount, Service), as its release manifest does.
	MetricsServerNamespace = "kube-system"
	MetricsServerName      = "metrics-server"
	// MetricsServerResolution is its --metric-resolution: how often it
	// scrapes, so how long a new usage takes to reach the API.
	MetricsServerResolution = 15 * time.Second

	// Files hack/tools.sh copies from the pinned kwok module: the Metric
	// kwok serves per node (a --config document), the CRDs of
	// ResourceUsage and ClusterResourceUsage, and kwok's default
	// ClusterResourceUsage (usage from pod annotations).
	kwokMetrics = "kwok-metrics.yaml"
	kwokCRDs    = "kwok-crds.yaml"
	kwokUsage   = "kwok-usage.yaml"

	// resourceMetricsPathAnnotation is the annotation metrics-server
	// (0.7 and later) reads for the path of a node's resource metrics;
	// kwok serves each node's at kwokResourceMetricsPath.
	resourceMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"
	kwokResourceMetricsPath       = "/metrics/nodes/%s/metrics/resource"

	// UsageCPUAnnotation and UsageMemoryAnnotation set a pod's usage
	// through kwok's default ClusterResourceUsage (each container uses
	// that much; 1m and 1Mi without them): a pod template can carry them.
	UsageCPUAnnotation    = "kwok.x-k8s.io/usage-cpu"
	UsageMemoryAnnotation = "kwok.x-k8s.io/usage-memory"
)

var resourceUsages = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "resourceusages"}

// applyKwokUsage applies kwok's usage CRDs and its default
// ClusterResourceUsage, before kwok starts watching them.
func (s *stack) applyKwokUsage(ctx context.Context) error {
	if err := s.applyCRDs(ctx, kwokCRDs); err != nil {
		return err
	}
	usage, err := os.ReadFile(s.bin(kwokUsage))
	if err != nil {
		return err
	}
	ap, err := NewApplier(s.rest, "kubectl")
	if err != nil {
		return err
	}
	_, err = ap.Apply(ctx, usage)
	return err
}

// waitResourceMetrics waits until metrics-server is Ready, its APIService
// Available, and the API answers with the host node's usage.
func (s *stack) waitResourceMetrics(ctx context.Context) error {
	if err := s.waitDeployments(ctx, MetricsServerNamespace, []string{MetricsServerName}, 2*time.Minute); err != nil {
		return err
	}
	agg, err := aggregator.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	if err := s.poll(ctx, time.Minute, "APIService "+ResourceMetricsAPIService, func() (bool, string) {
		return apiServiceAvailable(ctx, agg, ResourceMetricsAPIService)
	}); err != nil {
		return err
	}
	return s.poll(ctx, time.Minute, "GET /apis/metrics.k8s.io/v1beta1/nodes/"+HostNode, func() (bool, string) {
		err := s.client.Discovery().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/nodes/" + HostNode).Do(ctx).Error()
		return err == nil, fmt.Sprint(err)
	})
}

// defaultUsage is kwok's default usage of a container (its default
// ClusterResourceUsage's, without annotations).
var defaultUsage = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("1Mi")}

// SetPodUsage makes kwok report usage (cpu in cores, memory in bytes) for
// each container of the kwok pod namespace/name, or only for the named
// containers, from now on: it applies a kwok ResourceUsage named after the
// pod, which wins over the default ClusterResourceUsage and is deleted
// with the pod. A resource usage does not name keeps kwok's default (cpu
// 1m, memory 1Mi). A zero cpu or memory leaves the pod out of the metrics
// API, as metrics-server drops a kubelet's zero. metrics-server serves a
// new usage within two scrapes (MetricsServerResolution): CPU is a rate
// over the last two.
func SetPodUsage(ctx context.Context, cfg *rest.Config, namespace, pod string, usage corev1.ResourceList, containers ...string) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	p, err := client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return applyResourceUsage(ctx, dyn, p, usage, containers)
}

// SetPodsUsage does SetPodUsage for each pod selector selects in
// namespace, and returns their names.
func SetPodsUsage(ctx context.Context, cfg *rest.Config, namespace, selector string, usage corev1.ResourceList) ([]string, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range pods.Items {
		if err := applyResourceUsage(ctx, dyn, &pods.Items[i], usage, nil); err != nil {
			return names, err
		}
		names = append(names, pods.Items[i].Name)
	}
	return names, nil
}

// applyResourceUsage applies pod's kwok ResourceUsage: usage for the named
// containers, or for every container when none is named.
func applyResourceUsage(ctx context.Context, dyn dynamic.Interface, pod *corev1.Pod, usage corev1.ResourceList, containers []string) error {
	values := map[string]any{}
	for name, q := range defaultUsage {
		values[string(name)] = map[string]any{"value": q.String()}
	}
	for name, q := range usage {
		values[string(name)] = map[string]any{"value": q.String()}
	}
	entry := map[string]any{"usage": values}
	if len(containers) > 0 {
		entry["containers"] = containers
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "ResourceUsage",
		"metadata": map[string]any{
			"name": pod.Name, "namespace": pod.Namespace,
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "Pod", "name": pod.Name, "uid": string(pod.UID)}},
		},
		"spec": map[string]any{"usages": []any{entry}},
	}}
	body, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = dyn.Resource(resourceUsages).Namespace(pod.Namespace).Patch(ctx, pod.Name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: "metricscale-sandbox", Force: ptr.To(true)})
	if err != nil {
		return fmt.Errorf("setting the usage of pod %s/%s (kwok ResourceUsage): %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
