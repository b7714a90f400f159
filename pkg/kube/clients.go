package kube

import (
	"fmt"
	"net/http"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/scale"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	resourcemetrics "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"
	externalmetrics "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// MetricsTimeout bounds one request to the custom or external metrics API:
// their clients take no context, and a hung adapter must not hang the
// command (nor keep Ctrl-C from working).
const MetricsTimeout = 30 * time.Second

// Clients are the clients the commands work with, each built once per
// command (per context in a fleet) from one REST config. None of them
// talks to the API server before its first request.
type Clients struct {
	// Host is the API server's URL, as messages name it.
	Host string
	// HTTP reaches the API server as the clients do (its TLS and
	// credentials): for its service proxy.
	HTTP       *http.Client
	Client     kubernetes.Interface
	Aggregator aggregator.Interface // nil: find the adapter by listing Deployments
	Discovery  discovery.DiscoveryInterface
	Mapper     apimeta.RESTMapper
	Metadata   metadata.Interface
	Dynamic    dynamic.Interface
	// Scales reads the scale subresource of any scalable kind the API
	// server serves.
	Scales scale.ScalesGetter
	// Custom and External are the metrics clients as the HPA controller
	// builds them (Custom asks discovery for the API's preferred version on
	// its first request), each request bounded by MetricsTimeout.
	Custom   custommetrics.CustomMetricsClient
	External externalmetrics.ExternalMetricsClient
	// Resources reads the resource metrics API (metrics.k8s.io), as the
	// HPA controller does for Resource and ContainerResource metrics.
	Resources resourcemetrics.PodMetricsesGetter
	KEDA      *keda.Client
}

// NewClients builds every client from cfg. Built-in types travel as
// protobuf: a third of the memory and CPU of JSON for the pod and HPA lists
// of a large cluster. The RESTMapper is NewMapper over mapperDiscovery
// (kubectl's discovery cached on disk), or over the API server's discovery
// when it is nil.
func NewClients(cfg *rest.Config, mapperDiscovery discovery.DiscoveryInterface) (*Clients, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	c := &Clients{Host: cfg.Host, HTTP: hc}
	protoCfg := rest.CopyConfig(cfg)
	protoCfg.ContentType = "application/vnd.kubernetes.protobuf"
	protoCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if c.Client, err = kubernetes.NewForConfigAndClient(protoCfg, hc); err != nil {
		return nil, err
	}
	c.Discovery = c.Client.Discovery()
	if mapperDiscovery == nil {
		mapperDiscovery = c.Discovery
	}
	c.Mapper = NewMapper(mapperDiscovery)
	if c.Aggregator, err = aggregator.NewForConfigAndClient(cfg, hc); err != nil {
		return nil, err
	}
	if c.Metadata, err = metadata.NewForConfigAndClient(cfg, hc); err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	c.Dynamic, c.KEDA = dyn, keda.NewClient(dyn)
	if c.Scales, err = scale.NewForConfig(cfg, c.Mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(c.Discovery)); err != nil {
		return nil, err
	}
	metricsCfg := rest.CopyConfig(cfg)
	metricsCfg.Timeout = MetricsTimeout
	c.Custom = custommetrics.NewForConfig(metricsCfg, c.Mapper, custommetrics.NewAvailableAPIsGetter(c.Discovery))
	if c.External, err = externalmetrics.NewForConfig(metricsCfg); err != nil {
		return nil, err
	}
	if c.Resources, err = resourcemetrics.NewForConfig(metricsCfg); err != nil {
		return nil, err
	}
	return c, nil
}

// Unreachable words an error of a request that never reached the API
// server, naming the server and the flags that choose it.
func (c *Clients) Unreachable(err error) error {
	return fmt.Errorf("cannot reach the Kubernetes API server at %s (check --kubeconfig, --context, --server): %w", c.Host, err)
}
