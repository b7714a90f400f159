package sandbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// KEDA runs in every sandbox: keda-operator and its metrics apiserver are
// pods on the host node (manifests/keda.yaml), its CRDs are the module's own
// (hack/tools.sh copies them next to the binaries). It serves no metrics API
// until SetExternalMetrics hands it external.metrics.k8s.io.
const (
	KEDANamespace = "keda"
	// kedaCRDs is the file hack/tools.sh writes into the tools directory:
	// config/crd/bases of the pinned github.com/kedacore/keda/v2 module.
	kedaCRDs = "keda-crds.yaml"
	// ExternalMetricsAPIService is the APIService the adapter and KEDA
	// both want.
	ExternalMetricsAPIService = "v1beta1.external.metrics.k8s.io"
)

var kedaDeployments = []string{"keda-operator", "keda-metrics-apiserver"}

// KEDABinaries are what hack/tools.sh keda builds.
var KEDABinaries = []string{"keda-operator", "keda-operator-metrics-apiserver"}

// applyKEDA applies KEDA's CRDs, waits until the API server serves them
// (the operator's caches fail without them), then the KEDA manifests.
func (s *stack) applyKEDA(ctx context.Context) error {
	if err := s.applyCRDs(ctx, kedaCRDs); err != nil {
		return err
	}
	return s.applyBuiltin(ctx, "keda.yaml", "kubectl")
}

// waitKEDA waits until both KEDA Deployments are ready. The operator's
// first start creates its certificates Secret and exits; the agent restarts
// it after kubelet's first back-off (10 s), so this step takes that long.
func (s *stack) waitKEDA(ctx context.Context) error {
	return s.waitDeployments(ctx, KEDANamespace, kedaDeployments, 2*time.Minute)
}

// WaitKEDA waits until KEDA's Deployments are ready in a running sandbox,
// as its start does without Config.KEDALater; progress gets one line per
// Deployment. On timeout the error says what KEDA's pods are waiting for.
func WaitKEDA(ctx context.Context, cfg *rest.Config, timeout time.Duration, progress func(format string, args ...any)) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	s := &stack{client: client, progress: progress}
	err = s.waitDeployments(ctx, KEDANamespace, kedaDeployments, timeout)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w\n%s", err, podsWaiting(ctx, client, KEDANamespace))
	}
	return err
}

// podsWaiting lists the namespace's containers that are not running and
// why (the host agent's reason and message).
func podsWaiting(ctx context.Context, client kubernetes.Interface, namespace string) string {
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				fmt.Fprintf(&b, "pod %s, container %s: %s: %s\n", p.Name, c.Name, w.Reason, w.Message)
			}
		}
	}
	return b.String()
}

// ExternalMetricsServer names who serves external.metrics.k8s.io.
type ExternalMetricsServer string

const (
	// ExternalMetricsNone: no APIService (a fresh sandbox).
	ExternalMetricsNone ExternalMetricsServer = "none"
	// ExternalMetricsAdapter: prometheus-adapter, as its chart registers it
	// when rules.external is set.
	ExternalMetricsAdapter ExternalMetricsServer = "adapter"
	// ExternalMetricsKEDA: KEDA's metrics apiserver, as KEDA's release
	// registers it (after a migration).
	ExternalMetricsKEDA ExternalMetricsServer = "keda"
	// ExternalMetricsOther: an APIService that points elsewhere.
	ExternalMetricsOther ExternalMetricsServer = "other"
)

// ExternalMetricsServers are the values SetExternalMetrics accepts.
var ExternalMetricsServers = []ExternalMetricsServer{ExternalMetricsNone, ExternalMetricsAdapter, ExternalMetricsKEDA}

// ExternalMetricsSpec is the APIService spec each server is registered
// with: the adapter's as its chart writes it (insecureSkipTLSVerify, a
// self-signed certificate), KEDA's as its release does (apiservice.ExternalSpec,
// which migrate keda --apply writes).
func ExternalMetricsSpec(to ExternalMetricsServer, ports Ports) (apiregistrationv1.APIServiceSpec, error) {
	switch to {
	case ExternalMetricsAdapter:
		spec := apiservice.ExternalSpec("monitoring", "prometheus-adapter", int32(ports.Adapter))
		spec.InsecureSkipTLSVerify = true
		return spec, nil
	case ExternalMetricsKEDA:
		return apiservice.ExternalSpec(KEDANamespace, "keda-metrics-apiserver", int32(ports.KEDAMetricsAPIServer)), nil
	}
	return apiregistrationv1.APIServiceSpec{}, fmt.Errorf("unknown external metrics server %q: choose one of %v", to, ExternalMetricsServers)
}

// ExternalMetrics reports who serves external.metrics.k8s.io in the sandbox.
func ExternalMetrics(ctx context.Context, cfg *rest.Config) (ExternalMetricsServer, error) {
	agg, err := aggregator.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	as, err := agg.ApiregistrationV1().APIServices().Get(ctx, ExternalMetricsAPIService, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ExternalMetricsNone, nil
	} else if err != nil {
		return "", err
	}
	switch svc := as.Spec.Service; {
	case svc == nil:
		return ExternalMetricsOther, nil
	case svc.Namespace == "monitoring" && svc.Name == "prometheus-adapter":
		return ExternalMetricsAdapter, nil
	case svc.Namespace == KEDANamespace && svc.Name == "keda-metrics-apiserver":
		return ExternalMetricsKEDA, nil
	}
	return ExternalMetricsOther, nil
}

// SetExternalMetrics hands external.metrics.k8s.io to a server, as a
// migration does (or takes it away with ExternalMetricsNone): the whole
// APIService spec is replaced, so nothing of the previous owner's (KEDA's
// injected caBundle, the adapter's insecureSkipTLSVerify) is left behind.
// For KEDA it waits until the APIService is Available; the adapter serves
// the group only when its config has externalRules, so that is the
// caller's to wait for.
func SetExternalMetrics(ctx context.Context, info Info, to ExternalMetricsServer) error {
	cfg, _, err := info.Client()
	if err != nil {
		return err
	}
	agg, err := aggregator.NewForConfig(cfg)
	if err != nil {
		return err
	}
	apis := agg.ApiregistrationV1().APIServices()
	if to == ExternalMetricsNone {
		if err := apis.Delete(ctx, ExternalMetricsAPIService, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
	spec, err := ExternalMetricsSpec(to, info.Ports)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		as, err := apis.Get(ctx, ExternalMetricsAPIService, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = apis.Create(ctx, &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: ExternalMetricsAPIService}, Spec: spec}, metav1.CreateOptions{})
			return err
		} else if err != nil {
			return err
		}
		as.Spec = spec
		_, err = apis.Update(ctx, as, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("pointing APIService %s at %s: %w", ExternalMetricsAPIService, to, err)
	}
	if to != ExternalMetricsKEDA {
		return nil
	}
	return pollUntil(ctx, time.Minute, "APIService "+ExternalMetricsAPIService+" Available", func() (bool, string) {
		return apiServiceAvailable(ctx, agg, ExternalMetricsAPIService)
	})
}

// apiServiceAvailable reads an APIService's Available condition: whether
// it holds, and its reason and message.
func apiServiceAvailable(ctx context.Context, agg aggregator.Interface, name string) (bool, string) {
	as, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	return apiservice.Available(as)
}
