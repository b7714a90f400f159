package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// Info describes a running sandbox; `up` writes it to <state>/sandbox.json.
type Info struct {
	StateDir       string `json:"stateDir"`
	Kubeconfig     string `json:"kubeconfig"`
	PrometheusURL  string `json:"prometheusURL"`
	PushgatewayURL string `json:"pushgatewayURL"`
	// The Grafana API emulator: its URL, admin user and the file holding
	// the admin password (never the password itself).
	GrafanaURL          string `json:"grafanaURL"`
	GrafanaUser         string `json:"grafanaUser"`
	GrafanaPasswordFile string `json:"grafanaPasswordFile"`
	Ports               Ports  `json:"ports"`
}

// Env renders the shell export lines of .sandbox/env. GRAFANA_PASSWORD is
// read from its file when the env is sourced, so the env (which `up`
// prints) holds no secret.
func (i Info) Env() string {
	return fmt.Sprintf("export KUBECONFIG=%s\nexport PROMETHEUS_URL=%s\nexport PUSHGATEWAY_URL=%s\nexport METRICSCALE_SANDBOX=%s\n"+
		"export GRAFANA_URL=%s\nexport GRAFANA_USER=%s\nexport GRAFANA_PASSWORD=\"$(cat '%s')\"\n",
		i.Kubeconfig, i.PrometheusURL, i.PushgatewayURL, i.StateDir, i.GrafanaURL, i.GrafanaUser, i.GrafanaPasswordFile)
}

// Client returns the REST config and a clientset for the sandbox's admin
// kubeconfig.
func (i Info) Client() (*rest.Config, kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", i.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	return cfg, client, err
}

// ReadInfo loads the description of the sandbox in stateDir.
func ReadInfo(stateDir string) (Info, error) {
	var i Info
	b, err := os.ReadFile(filepath.Join(stateDir, "sandbox.json"))
	if err != nil {
		return i, fmt.Errorf("no sandbox in %s (run `make sandbox-up`): %w", stateDir, err)
	}
	return i, json.Unmarshal(b, &i)
}

// Progress lines the supervisor writes for `up` to follow.
const (
	progressFile = "progress.log"
	readyMarker  = "READY"
	failedMarker = "FAILED"
)

// stateEntries are what a previous run left in the state directory; `run`
// starts from a clean slate and removes only these.
var stateEntries = []string{"etcd", "pods", "pki", "serviceaccounts", "logs", "run", "sandbox.json", "env", grafanaPasswordFile, progressFile,
	"admin.kubeconfig", "controller-manager.kubeconfig", "scheduler.kubeconfig"}

// Run is the supervisor: it starts the whole stack, reports progress, writes
// the env file when everything is ready, and keeps the host agent running
// until ctx ends; then it stops every process it started.
func Run(ctx context.Context, cfg Config) error {
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return err
	}
	cfg.StateDir = abs
	for _, e := range stateEntries {
		if err := os.RemoveAll(filepath.Join(abs, e)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	if err := writePID(filepath.Join(abs, "run", supervisorName+".pid"), os.Getpid()); err != nil {
		return err
	}
	pf, err := os.OpenFile(filepath.Join(abs, progressFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer pf.Close()
	out := io.Writer(pf)
	if cfg.Progress != nil {
		out = io.MultiWriter(pf, cfg.Progress)
	}
	s := &stack{cfg: cfg, started: time.Now()}
	s.progress = func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	defer s.stopAll()

	if err := s.boot(ctx); err != nil {
		s.progress("%s: %s", failedMarker, strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return err
	}
	s.keepControlPlaneUp(ctx)
	<-ctx.Done()
	s.progress("stopping")
	return nil
}

func (s *stack) boot(ctx context.Context) error {
	if err := s.checkBinaries(); err != nil {
		return err
	}
	if err := s.allocatePorts(); err != nil {
		return err
	}
	s.progress("state directory %s", s.cfg.StateDir)
	if err := s.writePKI(); err != nil {
		return fmt.Errorf("writing certificates: %w", err)
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
		skip bool
	}{
		{name: "etcd", fn: s.startEtcd},
		{name: "kube-apiserver", fn: s.startAPIServer},
		{name: "controllers (kube-controller-manager, kube-scheduler, kwok)", fn: s.startControllers},
		{name: "nodes", fn: s.createNodes},
		// Every host pod is created first, so that KEDA's start (the
		// operator's certificate bootstrap costs one restart back-off)
		// overlaps with the monitoring stack's.
		{name: "host agent; manifests of the monitoring stack, metrics-server and KEDA (CRDs, operator, metrics apiserver)", fn: s.applyManifests},
		{name: "monitoring stack (Prometheus, Pushgateway, prometheus-adapter, kube-state-metrics)", fn: s.waitMonitoring},
		{name: "custom metrics API", fn: s.waitMetricsAPI},
		{name: "Grafana (API emulator)", fn: s.startGrafana},
		{name: "KEDA (keda-operator, keda-metrics-apiserver)", fn: s.waitKEDA, skip: s.cfg.KEDALater},
		{name: "resource metrics API (metrics-server)", fn: s.waitResourceMetrics},
		{name: "Grafana's sidecar (metricscale-sidecar, two replicas)", fn: s.startSidecar},
	}
	for _, st := range steps {
		if st.skip {
			s.progress("not waiting for %s: its pods start once its binaries are built", st.name)
			continue
		}
		t := time.Now()
		s.progress("starting %s", st.name)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		s.progress("  done in %.1fs", time.Since(t).Seconds())
	}
	if err := s.writeInfo(); err != nil {
		return err
	}
	s.progress("%s in %.1fs", readyMarker, time.Since(s.started).Seconds())
	return nil
}

// checkBinaries refuses to start without every tool binary the stack runs.
func (s *stack) checkBinaries() error {
	needed := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml", "prometheus", "prometheus-pushgateway", "prometheus-adapter", "kube-state-metrics",
		kedaCRDs, "metrics-server", kwokMetrics, kwokCRDs, kwokUsage}
	if !s.cfg.KEDALater {
		needed = append(needed, KEDABinaries...)
	}
	for _, b := range needed {
		if _, err := os.Stat(s.bin(b)); err != nil {
			return fmt.Errorf("missing %s in %s: run hack/tools.sh (make tools) first", b, s.cfg.BinDir)
		}
	}
	return nil
}

// writeInfo writes sandbox.json and the env file users source.
func (s *stack) writeInfo() error {
	info := Info{
		StateDir:            s.cfg.StateDir,
		Kubeconfig:          s.pki.AdminKubeconfig,
		PrometheusURL:       fmt.Sprintf("http://127.0.0.1:%d", s.ports.Prometheus),
		PushgatewayURL:      fmt.Sprintf("http://127.0.0.1:%d", s.ports.Pushgateway),
		GrafanaURL:          s.grafana,
		GrafanaUser:         GrafanaUser,
		GrafanaPasswordFile: s.path(grafanaPasswordFile),
		Ports:               s.ports,
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(s.path("sandbox.json"), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(s.path("env"), []byte(info.Env()), 0o644)
}

// createNodes registers the host node (runs the monitoring pods for real) and
// DefaultKwokNodes kwok nodes (application pods); EnsureKwokNodes adds more.
func (s *stack) createNodes(ctx context.Context) error {
	host, err := registerNode(ctx, s.client, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: HostNode, Labels: map[string]string{
			"kubernetes.io/hostname": HostNode, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", hostNodeLabel: "true"}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: hostNodeLabel, Value: "true", Effect: corev1.TaintEffectNoSchedule}}},
	})
	if err != nil {
		return err
	}
	now := metav1.Now()
	capacity := nodeCapacity()
	host.Status = corev1.NodeStatus{
		Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "the sandbox host agent runs this node's pods as host processes", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: HostNode}},
		// The host agent's kubelet endpoint (/metrics/resource).
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(s.ports.HostKubelet)}},
		NodeInfo:        corev1.NodeSystemInfo{KubeletVersion: KubernetesVersion, OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "sandbox://host"},
	}
	if _, err := s.client.CoreV1().Nodes().UpdateStatus(ctx, host, metav1.UpdateOptions{}); err != nil {
		return err
	}
	for i := range DefaultKwokNodes {
		if _, err := registerNode(ctx, s.client, kwokNode(kwokNodeName(i))); err != nil {
			return err
		}
	}
	return nil
}

func (s *stack) templateData() TemplateData {
	return TemplateData{
		Ports:          s.ports,
		PrometheusURL:  fmt.Sprintf("http://127.0.0.1:%d", s.ports.Prometheus),
		PushgatewayURL: fmt.Sprintf("http://127.0.0.1:%d", s.ports.Pushgateway),
		StateDir:       s.cfg.StateDir,
	}
}

// applyManifests starts the host agent and applies the monitoring stack's
// and KEDA's manifests.
func (s *stack) applyManifests(ctx context.Context) error {
	s.agent = newHostAgent(s)
	actx, cancel := context.WithCancel(ctx)
	s.agent.cancel = cancel
	go s.agent.run(actx)
	if err := s.agent.serveKubelet(actx); err != nil {
		return err
	}
	// The default ServiceAccount must exist before pods can be admitted.
	if err := s.poll(ctx, 30*time.Second, "the default ServiceAccount", func() (bool, string) {
		_, err := s.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	}); err != nil {
		return err
	}
	if err := s.applyBuiltin(ctx, "monitoring.yaml", "helm"); err != nil {
		return err
	}
	if err := s.applyBuiltin(ctx, "metrics-server.yaml", "kubectl"); err != nil {
		return err
	}
	return s.applyKEDA(ctx)
}

// applyBuiltin renders one of the sandbox's manifests and applies it as
// fieldManager.
func (s *stack) applyBuiltin(ctx context.Context, name, fieldManager string) error {
	files, err := builtinManifests()
	if err != nil {
		return err
	}
	manifests, err := Render(files, name, s.templateData())
	if err != nil {
		return err
	}
	ap, err := NewApplier(s.rest, fieldManager)
	if err != nil {
		return err
	}
	_, err = ap.Apply(ctx, manifests)
	return err
}

// applyCRDs applies the CustomResourceDefinitions of a file in the tools
// directory (copied there from a pinned module by hack/tools.sh) and waits
// until each is Established, so that the objects and the controllers that
// come next find their API served.
func (s *stack) applyCRDs(ctx context.Context, file string) error {
	crds, err := os.ReadFile(s.bin(file))
	if err != nil {
		return err
	}
	ap, err := NewApplier(s.rest, "kubectl")
	if err != nil {
		return err
	}
	names, err := ap.Apply(ctx, crds)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	crdResource := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, kn := range names {
		kind, name, _ := strings.Cut(kn, "/")
		if kind != "customresourcedefinition" {
			return fmt.Errorf("%s: want only CustomResourceDefinitions, found %s", s.bin(file), kn)
		}
		if err := s.poll(ctx, 30*time.Second, "CRD "+name+" Established", func() (bool, string) {
			crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				if c, ok := c.(map[string]any); ok && c["type"] == "Established" {
					return c["status"] == "True", fmt.Sprint(c["message"])
				}
			}
			return false, "no Established condition yet"
		}); err != nil {
			return err
		}
	}
	return nil
}

// waitMonitoring waits for the monitoring stack's Deployments.
func (s *stack) waitMonitoring(ctx context.Context) error {
	return s.waitDeployments(ctx, "monitoring", []string{"prometheus-server", "prometheus-pushgateway", "prometheus-adapter", "kube-state-metrics"}, 90*time.Second)
}

// waitDeployments waits until each Deployment has a ready replica, one
// progress line each.
func (s *stack) waitDeployments(ctx context.Context, namespace string, names []string, timeout time.Duration) error {
	for _, d := range names {
		t := time.Now()
		if err := s.poll(ctx, timeout, "deployment "+namespace+"/"+d, func() (bool, string) {
			dep, err := s.client.AppsV1().Deployments(namespace).Get(ctx, d, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return dep.Status.ReadyReplicas >= 1, fmt.Sprintf("%d/%d ready", dep.Status.ReadyReplicas, *dep.Spec.Replicas)
		}); err != nil {
			return err
		}
		s.progress("  %-24s ready in %.1fs", d, time.Since(t).Seconds())
	}
	return nil
}

// waitMetricsAPI waits until the APIService is Available and the custom
// metrics API answers discovery.
func (s *stack) waitMetricsAPI(ctx context.Context) error {
	agg, err := aggregator.NewForConfig(s.rest)
	if err != nil {
		return err
	}
	if err := s.poll(ctx, 60*time.Second, "APIService v1beta1.custom.metrics.k8s.io", func() (bool, string) {
		return apiServiceAvailable(ctx, agg, "v1beta1.custom.metrics.k8s.io")
	}); err != nil {
		return err
	}
	return s.poll(ctx, 60*time.Second, "GET /apis/custom.metrics.k8s.io/v1beta1", func() (bool, string) {
		err := s.client.Discovery().RESTClient().Get().AbsPath("/apis/custom.metrics.k8s.io/v1beta1").Do(ctx).Error()
		return err == nil, fmt.Sprint(err)
	})
}

// poll calls cond every 250ms until it holds; on timeout the error names
// what was awaited, its last state, and what the host pods are doing.
func (s *stack) poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) error {
	err := pollUntil(ctx, timeout, what, cond)
	if err != nil && ctx.Err() == nil && s.agent != nil {
		return fmt.Errorf("%w\nhost pods:\n%s%s", err, s.agent.describeContainers(), s.agentLogTails())
	}
	return err
}

// pollUntil calls cond every 250ms until it holds; on timeout the error
// names what was awaited and its last state.
func pollUntil(ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %s", what, timeout, state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *stack) agentLogTails() string {
	var b strings.Builder
	logs, _ := filepath.Glob(s.path("logs", "prometheus-adapter-*.log"))
	for _, l := range logs {
		fmt.Fprintf(&b, "last lines of %s:\n%s\n", l, TailFile(l, 15))
	}
	return b.String()
}
