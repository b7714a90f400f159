package cmd

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// clients builds the clients every command works with from kubectl's
// global flags, and returns -n (or the kubeconfig context's namespace).
func (g *GlobalOptions) clients() (*kube.Clients, string, error) {
	cfg, err := g.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	// Built-in types travel as protobuf: a third of the memory and CPU of
	// JSON for the pod and HPA lists of a large cluster.
	protoCfg := rest.CopyConfig(cfg)
	protoCfg.ContentType = "application/vnd.kubernetes.protobuf"
	protoCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	namespace, _, err := g.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	c := &kube.Clients{Rest: cfg}
	if c.Client, err = kubernetes.NewForConfig(protoCfg); err != nil {
		return nil, "", err
	}
	c.Discovery = c.Client.Discovery()
	if c.Aggregator, err = aggregator.NewForConfig(cfg); err != nil {
		return nil, "", err
	}
	if c.Mapper, err = g.ConfigFlags.ToRESTMapper(); err != nil {
		return nil, "", err
	}
	return c, namespace, nil
}

// completeChain reads the adapter flag group and builds the clients, as
// every command that works on the chain completes.
func (g *GlobalOptions) completeChain(f *chain.Flags) (chain.Options, *kube.Clients, string, error) {
	co, err := f.ToOptions()
	if err != nil {
		return co, nil, "", err
	}
	c, namespace, err := g.clients()
	return co, c, namespace, err
}
