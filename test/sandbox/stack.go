package sandbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	supervisorName = "supervisor"
	// KubernetesVersion is the version of the control-plane binaries.
	KubernetesVersion = "v1.32.2"
	// HPASyncPeriod is the HPA controller's --horizontal-pod-autoscaler-sync-period
	// (15 s by default; shorter here so tests scale sooner).
	HPASyncPeriod = 5 * time.Second
)

// Config says where the sandbox keeps its state and finds its binaries.
type Config struct {
	StateDir string // everything the sandbox writes: data, logs, PIDs, env
	BinDir   string // tool binaries (hack/tools.sh prints this directory)
	// ProjectBinDir holds the project's own binaries (make build's bin/):
	// the sandbox runs metricscale-sidecar from there as Grafana's sidecar.
	ProjectBinDir string
	Progress      io.Writer // one line per step
	// KEDALater lets KEDA's binaries be missing from BinDir at the start,
	// still being built: its pods start when they appear, and the sandbox is
	// ready without waiting for KEDA (WaitKEDA does).
	KEDALater bool
}

// Ports are the loopback ports the sandbox's processes listen on, chosen free
// at start so that two sandboxes never collide.
type Ports struct {
	Etcd, EtcdPeer, APIServer, ControllerManager, Scheduler, Kwok int
	Prometheus, Pushgateway, Adapter                              int
	// kube-state-metrics: --port (the metrics of objects) and
	// --telemetry-port (its own metrics, /readyz).
	KubeStateMetrics, KubeStateMetricsTelemetry int
	Grafana                                     int // the Grafana API emulator
	// KEDA: the operator's gRPC metrics service (which its metrics
	// apiserver calls), its own /metrics and its health probes; the metrics
	// apiserver's secure port (external.metrics.k8s.io when it is switched
	// to KEDA) and its own /metrics.
	KEDAOperatorGRPC, KEDAOperatorMetrics, KEDAOperatorHealth int
	KEDAMetricsAPIServer, KEDAMetricsAPIServerMetrics         int
	MetricsServer                                             int // metrics-server's secure port (metrics.k8s.io)
	HostKubelet                                               int // the host node's kubelet endpoint (/metrics/resource)
}

// stack is a running sandbox.
type stack struct {
	cfg      Config
	ports    Ports
	pki      pkiFiles
	mu       sync.Mutex // guards procs once keepControlPlaneUp runs
	procs    []*process
	keepers  sync.WaitGroup // keepControlPlaneUp's goroutines
	client   kubernetes.Interface
	rest     *rest.Config
	started  time.Time
	agent    *hostAgent
	grafana  string // the Grafana emulator's base URL
	progress func(format string, args ...any)
}

type pkiFiles struct {
	CA, FrontProxyCA            string
	APIServer, FrontProxyClient keyPair
	// Kubelet is the serving certificate of the nodes' kubelet endpoints
	// (kwok's server for the kwok nodes, the host agent's for the host
	// node), signed by the cluster CA as kubelets' are when the cluster
	// signs their serving certificates: metrics-server verifies it.
	Kubelet                                             keyPair
	SAKey, SAPub                                        string
	AdminKubeconfig, KCMKubeconfig, SchedulerKubeconfig string
}

func (s *stack) path(parts ...string) string {
	return filepath.Join(append([]string{s.cfg.StateDir}, parts...)...)
}

func (s *stack) bin(name string) string { return filepath.Join(s.cfg.BinDir, name) }

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (s *stack) allocatePorts() error {
	p, err := freePorts(19)
	if err != nil {
		return fmt.Errorf("finding free loopback ports: %w", err)
	}
	s.ports = Ports{
		Etcd: p[0], EtcdPeer: p[1], APIServer: p[2], ControllerManager: p[3], Scheduler: p[4], Kwok: p[5],
		Prometheus: p[6], Pushgateway: p[7], Adapter: p[8],
		KubeStateMetrics: p[9], KubeStateMetricsTelemetry: p[10], Grafana: p[11],
		KEDAOperatorGRPC: p[12], KEDAOperatorMetrics: p[13], KEDAOperatorHealth: p[14],
		KEDAMetricsAPIServer: p[15], KEDAMetricsAPIServerMetrics: p[16], MetricsServer: p[17], HostKubelet: p[18],
	}
	return nil
}

func (s *stack) writePKI() error {
	dir := s.path("pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := newAuthority(dir, "ca")
	if err != nil {
		return err
	}
	fp, err := newAuthority(dir, "front-proxy-ca")
	if err != nil {
		return err
	}
	f := pkiFiles{CA: ca.path, FrontProxyCA: fp.path}
	if f.APIServer, err = ca.issue("apiserver", "kube-apiserver", nil,
		[]string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.0.0.1"}); err != nil {
		return err
	}
	if f.FrontProxyClient, err = fp.issue("front-proxy-client", "front-proxy-client", nil, nil); err != nil {
		return err
	}
	if f.Kubelet, err = ca.issue("kubelet", "kubelet", nil, []string{"localhost", "127.0.0.1"}); err != nil {
		return err
	}
	if f.SAKey, f.SAPub, err = writeServiceAccountKeys(dir); err != nil {
		return err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", s.ports.APIServer)
	for _, id := range []struct {
		file, cn string
		orgs     []string
		dst      *string
	}{
		{"admin", "kubernetes-admin", []string{"system:masters"}, &f.AdminKubeconfig},
		{"controller-manager", "system:kube-controller-manager", nil, &f.KCMKubeconfig},
		{"scheduler", "system:kube-scheduler", nil, &f.SchedulerKubeconfig},
	} {
		kp, err := ca.issue(id.file, id.cn, id.orgs, nil)
		if err != nil {
			return err
		}
		*id.dst = s.path(id.file + ".kubeconfig")
		if err := writeKubeconfig(*id.dst, server, ca.path, clientcmdapi.AuthInfo{ClientCertificate: kp.Cert, ClientKey: kp.Key}); err != nil {
			return err
		}
	}
	s.pki = f
	return nil
}

// launch starts a component and remembers it for shutdown.
func (s *stack) launch(name string, args ...string) (*process, error) {
	p, err := startProcess(s.cfg.StateDir, name, s.bin(name), args, nil)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	return p, nil
}

// waitHealthy polls url until it answers 200, the process dies, or the
// timeout passes; on failure the error carries the log tail.
func (s *stack) waitHealthy(ctx context.Context, p *process, url string, client *http.Client, timeout time.Duration) error {
	start := time.Now()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if p.exited() {
			return fmt.Errorf("%s exited (%v) before it became healthy; last log lines:\n%s", p.name, p.exitErr, p.tail(25))
		}
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.progress("  %-24s ready in %.1fs", p.name, time.Since(start).Seconds())
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s (%s: %s); last log lines:\n%s", p.name, timeout, url, last, p.tail(25))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func insecureClient() *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func (s *stack) startEtcd(ctx context.Context) error {
	peer := fmt.Sprintf("http://127.0.0.1:%d", s.ports.EtcdPeer)
	client := fmt.Sprintf("http://127.0.0.1:%d", s.ports.Etcd)
	p, err := s.launch("etcd",
		"--name=sandbox", "--data-dir="+s.path("etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=sandbox="+peer, "--initial-cluster-state=new",
		"--unsafe-no-fsync", "--log-level=warn")
	if err != nil {
		return err
	}
	return s.waitHealthy(ctx, p, client+"/health", http.DefaultClient, 30*time.Second)
}

func (s *stack) startAPIServer(ctx context.Context) error {
	f := s.pki
	p, err := s.launch("kube-apiserver",
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", s.ports.Etcd),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", s.ports.APIServer),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--client-ca-file="+f.CA,
		"--tls-cert-file="+f.APIServer.Cert, "--tls-private-key-file="+f.APIServer.Key,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+f.SAPub, "--service-account-signing-key-file="+f.SAKey,
		"--authorization-mode=RBAC",
		"--requestheader-client-ca-file="+f.FrontProxyCA,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-username-headers=X-Remote-User",
		"--proxy-client-cert-file="+f.FrontProxyClient.Cert, "--proxy-client-key-file="+f.FrontProxyClient.Key,
		"--enable-aggregator-routing=false",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1")
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", f.AdminKubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 100, 200
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	httpClient.Timeout = 3 * time.Second
	// /readyz fails on autoregister-completion for a few seconds after start:
	// anything but 200 means not ready yet.
	if err := s.waitHealthy(ctx, p, cfg.Host+"/readyz", httpClient, 90*time.Second); err != nil {
		return err
	}
	s.rest = cfg
	s.client, err = kubernetes.NewForConfig(cfg)
	return err
}

func (s *stack) startControllers(ctx context.Context) error {
	f := s.pki
	kcm, err := s.launch("kube-controller-manager",
		"--kubeconfig="+f.KCMKubeconfig,
		"--authentication-kubeconfig="+f.KCMKubeconfig, "--authorization-kubeconfig="+f.KCMKubeconfig,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", s.ports.ControllerManager),
		// What a chain of HPAs needs, plus clusterrole-aggregation, which
		// every cluster runs: without it view, edit and admin are empty.
		// The rest stay off: kwok and the agent play the nodes, and the
		// Services are ExternalName (no endpoints to keep).
		"--controllers=deployment,replicaset,horizontalpodautoscaling,serviceaccount,serviceaccount-token,namespace,garbagecollector,root-ca-cert-publisher,clusterrole-aggregation",
		// Per-controller ServiceAccounts, as kubeadm and managed clusters run
		// it: the HPA controller acts as kube-system:horizontal-pod-autoscaler.
		"--use-service-account-credentials=true",
		"--horizontal-pod-autoscaler-sync-period="+HPASyncPeriod.String(),
		"--leader-elect=false",
		"--service-account-private-key-file="+f.SAKey, "--root-ca-file="+f.CA,
		"--v=1")
	if err != nil {
		return err
	}
	sched, err := s.launch("kube-scheduler",
		"--kubeconfig="+f.SchedulerKubeconfig,
		"--authentication-kubeconfig="+f.SchedulerKubeconfig, "--authorization-kubeconfig="+f.SchedulerKubeconfig,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", s.ports.Scheduler),
		"--leader-elect=false", "--v=1")
	if err != nil {
		return err
	}
	if err := s.applyKwokUsage(ctx); err != nil {
		return err
	}
	kwok, err := s.launch("kwok",
		"--kubeconfig="+f.AdminKubeconfig,
		"--config="+s.bin("kwok-stages.yaml"),
		// kubelet's /metrics/resource for each kwok node, from the usage of
		// the ResourceUsage and ClusterResourceUsage objects kwok watches.
		"--config="+s.bin(kwokMetrics),
		"--enable-crds=ResourceUsage,ClusterResourceUsage",
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		// One server plays every kwok node's kubelet: its port goes into
		// each node's status (daemonEndpoints), as a kubelet's does.
		fmt.Sprintf("--server-address=127.0.0.1:%d", s.ports.Kwok), fmt.Sprintf("--node-port=%d", s.ports.Kwok),
		"--tls-cert-file="+f.Kubelet.Cert, "--tls-private-key-file="+f.Kubelet.Key,
		"--cidr=10.244.0.0/16", "--node-ip=127.0.0.1")
	if err != nil {
		return err
	}
	hc := insecureClient()
	if err := s.waitHealthy(ctx, kcm, fmt.Sprintf("https://127.0.0.1:%d/healthz", s.ports.ControllerManager), hc, 60*time.Second); err != nil {
		return err
	}
	if err := s.waitHealthy(ctx, sched, fmt.Sprintf("https://127.0.0.1:%d/healthz", s.ports.Scheduler), hc, 60*time.Second); err != nil {
		return err
	}
	return s.waitHealthy(ctx, kwok, fmt.Sprintf("http://127.0.0.1:%d/healthz", s.ports.Kwok), http.DefaultClient, 60*time.Second)
}

// restartDelay is how long a control-plane process that exited stays
// down before it is started again.
const restartDelay = 5 * time.Second

// keepControlPlaneUp restarts any control-plane process that exits while
// the sandbox runs (killed by a test, or kube-controller-manager ending on
// a lost leader Lease during an API server outage), after restartDelay
// and with the same arguments, as kubelet restarts static pods. It returns
// at once; the goroutines end with ctx.
func (s *stack) keepControlPlaneUp(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.procs {
		s.keepers.Add(1)
		go func() {
			defer s.keepers.Done()
			for {
				s.mu.Lock()
				p := s.procs[i]
				s.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-p.done:
				}
				s.progress("%s exited (%v); restarting it in %s", p.name, p.exitErr, restartDelay)
				select {
				case <-ctx.Done():
					return
				case <-time.After(restartDelay):
				}
				np, err := startProcess(s.cfg.StateDir, p.name, p.cmd.Path, p.cmd.Args[1:], nil)
				if err != nil {
					s.progress("restarting %s: %v", p.name, err)
					return
				}
				s.mu.Lock()
				s.procs[i] = np
				s.mu.Unlock()
			}
		}()
	}
}

// stopAll stops every process in reverse start order, once nothing
// restarts them any more.
func (s *stack) stopAll() {
	s.keepers.Wait()
	if s.agent != nil {
		s.agent.stopAll()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(10 * time.Second)
	}
}
