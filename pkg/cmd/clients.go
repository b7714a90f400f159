package cmd

import (
	"fmt"
	"reflect"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
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
	disk, err := g.ConfigFlags.ToDiscoveryClient()
	if err != nil {
		return nil, "", err
	}
	c.Mapper = kube.NewMapper(disk)
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

// withContext returns the global options as given on the command line,
// with the kubeconfig context set to name ("" keeps --context) and, when
// --request-timeout is not given, a request timeout of timeout. Each copy
// builds clients of its own (ConfigFlags caches its loader, discovery and
// RESTMapper) from the same kubeconfig loading rules, so that doctor can
// run in several contexts at once.
func (g *GlobalOptions) withContext(name string, timeout time.Duration) *GlobalOptions {
	f := genericclioptions.NewConfigFlags(true)
	// Every exported field is a flag's value (or WrapConfigFn); the
	// unexported ones are the caches, which the copy must not share.
	src, dst := reflect.ValueOf(g.ConfigFlags).Elem(), reflect.ValueOf(f).Elem()
	for i := range src.NumField() {
		if dst.Type().Field(i).IsExported() {
			dst.Field(i).Set(src.Field(i))
		}
	}
	if name != "" {
		f.Context = &name
	}
	if t := f.Timeout; timeout > 0 && (t == nil || *t == "" || *t == "0") {
		s := timeout.String()
		f.Timeout = &s
	}
	return &GlobalOptions{ConfigFlags: f, AllNamespaces: g.AllNamespaces}
}
