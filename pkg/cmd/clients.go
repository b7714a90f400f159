package cmd

import (
	"fmt"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"

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
	namespace, _, err := g.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	disk, err := g.ConfigFlags.ToDiscoveryClient()
	if err != nil {
		return nil, "", err
	}
	c, err := kube.NewClients(cfg, disk)
	return c, namespace, err
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
// --request-timeout is not given, a request timeout of timeout. The copy
// is a new ConfigFlags holding every flag's value: it loads the same
// kubeconfig with the same overrides, but builds its own loader,
// discovery cache and RESTMapper (ConfigFlags keeps them once built), so
// that doctor can run in several contexts at once. TestWithContext fails
// when a flag ConfigFlags.AddFlags declares is not copied.
func (g *GlobalOptions) withContext(name string, timeout time.Duration) *GlobalOptions {
	src := g.ConfigFlags
	f := genericclioptions.NewConfigFlags(true)
	f.CacheDir, f.KubeConfig = src.CacheDir, src.KubeConfig
	f.ClusterName, f.AuthInfoName, f.Context, f.Namespace = src.ClusterName, src.AuthInfoName, src.Context, src.Namespace
	f.APIServer, f.TLSServerName, f.Insecure = src.APIServer, src.TLSServerName, src.Insecure
	f.CertFile, f.KeyFile, f.CAFile, f.BearerToken = src.CertFile, src.KeyFile, src.CAFile, src.BearerToken
	f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup = src.Impersonate, src.ImpersonateUID, src.ImpersonateGroup
	f.Username, f.Password = src.Username, src.Password
	f.Timeout, f.DisableCompression = src.Timeout, src.DisableCompression
	f.WrapConfigFn = src.WrapConfigFn
	if name != "" {
		f.Context = &name
	}
	if t := f.Timeout; timeout > 0 && (t == nil || *t == "" || *t == "0") {
		s := timeout.String()
		f.Timeout = &s
	}
	return &GlobalOptions{ConfigFlags: f, AllNamespaces: g.AllNamespaces}
}
