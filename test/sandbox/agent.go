package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	sidecardeploy "github.com/metricscale/kubectl-metricscale/deploy/sidecar"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// HostNode is the node whose pods run as real processes on this machine.
// It is tainted so that only the monitoring stack, which tolerates the taint,
// lands on it; application pods go to the kwok nodes.
const (
	HostNode       = "monitoring-node"
	hostNodeLabel  = "metricscale.io/sandbox-host"
	maxBackoff     = 5 * time.Minute
	initialBackoff = 10 * time.Second
)

// runtime says how a container image runs on the host: which binary, and
// which flags the host needs beyond the container's own args.
type runtime struct {
	binary string
	// hostArgs are appended to the container args (pflag: last one wins).
	hostArgs func(a *hostAgent, pr *podRun) ([]string, error)
	// reloader marks configmap-reload: no process; the agent POSTs its
	// --webhook-url whenever its --volume-dir changes.
	reloader bool
	// project marks the project's own binaries (Config.ProjectBinDir), not
	// a tool's.
	project bool
}

// runtimes maps an image repository (without tag) to how it runs here.
var runtimes = map[string]runtime{
	"registry.k8s.io/prometheus-adapter/prometheus-adapter":  {binary: "prometheus-adapter", hostArgs: adapterHostArgs},
	"registry.k8s.io/kube-state-metrics/kube-state-metrics":  {binary: "kube-state-metrics", hostArgs: kubeStateMetricsHostArgs},
	"quay.io/prometheus/prometheus":                          {binary: "prometheus", hostArgs: prometheusHostArgs},
	"quay.io/prometheus/pushgateway":                         {binary: "prometheus-pushgateway"},
	"quay.io/prometheus-operator/prometheus-config-reloader": {reloader: true},
	"jimmidyson/configmap-reload":                            {reloader: true},
	sidecardeploy.Image:                                      {binary: "metricscale-sidecar", hostArgs: sidecarHostArgs, project: true},
	"ghcr.io/kedacore/keda":                                  {binary: "keda-operator", hostArgs: kedaOperatorHostArgs},
	"ghcr.io/kedacore/keda-metrics-apiserver":                {binary: "keda-operator-metrics-apiserver", hostArgs: kedaMetricsAPIServerHostArgs},
	"registry.k8s.io/metrics-server/metrics-server":          {binary: "metrics-server", hostArgs: metricsServerHostArgs},
}

func imageRepo(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// hostAgent plays kubelet (and kube-proxy) for the pods bound to HostNode: it
// materialises their ConfigMap and emptyDir volumes in the state directory,
// runs their containers as host processes with paths and in-cluster Service
// URLs rewritten and ports moved to private ones, runs their readiness
// probes, restarts crashed containers with kubelet's back-off, routes each
// declared port to the newest Ready pod, and reports all of it in the pod
// status.
type hostAgent struct {
	s       *stack
	client  kubernetes.Interface
	pods    corelisters.PodLister
	cms     corelisters.ConfigMapLister
	secrets corelisters.SecretLister
	svcs    corelisters.ServiceLister
	runs    map[types.UID]*podRun
	proxies map[int32]*portProxy // declared container port → proxy to Ready pods
	kick    chan struct{}
	// cancel ends run, which closes stopped: stopAll waits for it.
	cancel  context.CancelFunc
	stopped chan struct{}
	factory informers.SharedInformerFactory
	// procs are the running containers, for the host node's kubelet
	// endpoint (publishProcs).
	procs atomic.Pointer[[]containerProc]
}

type podRun struct {
	uid       types.UID
	namespace string
	name      string
	dir       string
	mounts    map[string]string // container path → host path, per container
	// unmounted names a volume that cannot be set up yet (its Secret or
	// ConfigMap is missing): no container starts until it can, as kubelet
	// holds a pod in ContainerCreating.
	unmounted  string
	containers []*containerRun
	started    metav1.Time
	created    time.Time
	lastStatus *corev1.PodStatus
}

type containerRun struct {
	pod       *podRun
	spec      corev1.Container
	rt        runtime
	known     bool
	proc      *process
	startedAt metav1.Time
	ready     bool
	restarts  int32
	lastTerm  *corev1.ContainerStateTerminated
	waiting   *corev1.ContainerStateWaiting
	ports     map[int32]int // declared container port → the private port it listens on
	retryAt   time.Time
	volHash   map[string]string // reloader: last seen hash per watched dir
}

func newHostAgent(s *stack) *hostAgent {
	return &hostAgent{s: s, client: s.client, runs: map[types.UID]*podRun{}, proxies: map[int32]*portProxy{}, kick: make(chan struct{}, 1),
		stopped: make(chan struct{})}
}

func (a *hostAgent) trigger() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// run watches pods on HostNode, ConfigMaps and Services, and reconciles once a
// second and on every change until ctx ends.
func (a *hostAgent) run(ctx context.Context) {
	defer close(a.stopped)
	a.factory = informers.NewSharedInformerFactoryWithOptions(a.client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(a.client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", HostNode).String()
	}))
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.trigger() },
		UpdateFunc: func(any, any) { a.trigger() },
		DeleteFunc: func(any) { a.trigger() },
	}
	podInf := podFactory.Core().V1().Pods()
	_, _ = podInf.Informer().AddEventHandler(handler)
	cmInf := a.factory.Core().V1().ConfigMaps()
	_, _ = cmInf.Informer().AddEventHandler(handler)
	secretInf := a.factory.Core().V1().Secrets()
	_, _ = secretInf.Informer().AddEventHandler(handler)
	svcInf := a.factory.Core().V1().Services()
	a.pods, a.cms, a.secrets, a.svcs = podInf.Lister(), cmInf.Lister(), secretInf.Lister(), svcInf.Lister()
	podFactory.Start(ctx.Done())
	a.factory.Start(ctx.Done())
	podFactory.WaitForCacheSync(ctx.Done())
	a.factory.WaitForCacheSync(ctx.Done())

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		a.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.kick:
		}
	}
}

func (a *hostAgent) reconcile(ctx context.Context) {
	pods, err := a.pods.List(everything)
	if err != nil {
		return
	}
	// Oldest first, so that the newest pod of an image ends up holding it.
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp)
	})
	seen := map[types.UID]bool{}
	for _, pod := range pods {
		seen[pod.UID] = true
		if pod.DeletionTimestamp != nil {
			a.remove(pod.UID)
			// No kubelet to confirm the graceful deletion: finish it once
			// the processes are stopped.
			_ = a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
				GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(pod.UID))})
			continue
		}
		pr := a.runs[pod.UID]
		if pr == nil {
			pr = a.admit(ctx, pod)
		}
		a.syncVolumes(pr, pod)
		for _, c := range pr.containers {
			if pr.unmounted != "" && c.proc == nil {
				c.waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: pr.unmounted}
				continue
			}
			a.syncContainer(ctx, c, pod)
		}
		a.writeStatus(ctx, pr, pod)
	}
	for uid := range a.runs {
		if !seen[uid] {
			a.remove(uid)
		}
	}
	a.syncProxies()
	a.publishProcs()
}

// admit prepares a new pod: its directory, volumes and containers. The
// containers start on the next sync.
func (a *hostAgent) admit(ctx context.Context, pod *corev1.Pod) *podRun {
	pr := &podRun{uid: pod.UID, namespace: pod.Namespace, name: pod.Name, dir: a.s.path("pods", string(pod.UID)), started: metav1.Now(), created: pod.CreationTimestamp.Time, mounts: map[string]string{}}
	for _, v := range pod.Spec.Volumes {
		_ = os.MkdirAll(filepath.Join(pr.dir, "volumes", v.Name), 0o755)
	}
	for _, c := range pod.Spec.Containers {
		cr := &containerRun{pod: pr, spec: c, volHash: map[string]string{}}
		cr.rt, cr.known = runtimes[imageRepo(c.Image)]
		if !cr.known {
			cr.waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: fmt.Sprintf("the sandbox host cannot run image %q; it runs: %s", c.Image, strings.Join(knownImages(), ", "))}
		}
		pr.containers = append(pr.containers, cr)
	}
	a.runs[pod.UID] = pr
	return pr
}

func knownImages() []string {
	var out []string
	for k := range runtimes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// syncVolumes writes ConfigMap and Secret volumes (again when their object
// changed) and records where each mount lives on the host. A volume whose
// object is missing and not optional leaves the pod unmounted, with
// kubelet's message.
func (a *hostAgent) syncVolumes(pr *podRun, pod *corev1.Pod) {
	pr.unmounted = ""
	for _, v := range pod.Spec.Volumes {
		files, err := a.volumeFiles(pod.Namespace, v)
		if err != nil {
			if pr.unmounted == "" {
				pr.unmounted = fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
			}
			continue
		}
		dir := filepath.Join(pr.dir, "volumes", v.Name)
		for name, content := range files {
			p := filepath.Join(dir, name)
			if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, content) {
				continue
			}
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			// Write then rename, as kubelet's atomic writer does, so a
			// reader never sees half a file.
			_ = os.WriteFile(p+".tmp", content, 0o600)
			_ = os.Rename(p+".tmp", p)
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, m := range c.VolumeMounts {
			pr.mounts[c.Name+"\x00"+m.MountPath] = filepath.Join(pr.dir, "volumes", m.Name)
		}
	}
}

// volumeFiles is what a ConfigMap or Secret volume holds, file name →
// content (items select and rename keys); nil for other volumes, and for a
// missing object of an optional volume.
func (a *hostAgent) volumeFiles(namespace string, v corev1.Volume) (map[string][]byte, error) {
	var (
		data     map[string][]byte
		items    []corev1.KeyToPath
		optional *bool
		err      error
		kind     string
		name     string
	)
	switch {
	case v.ConfigMap != nil:
		kind, name, items, optional = "configmap", v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional
		var cm *corev1.ConfigMap
		if cm, err = a.cms.ConfigMaps(namespace).Get(name); err == nil {
			data = map[string][]byte{}
			for k, val := range cm.Data {
				data[k] = []byte(val)
			}
			for k, val := range cm.BinaryData {
				data[k] = val
			}
		}
	case v.Secret != nil:
		kind, name, items, optional = "secret", v.Secret.SecretName, v.Secret.Items, v.Secret.Optional
		var sec *corev1.Secret
		if sec, err = a.secrets.Secrets(namespace).Get(name); err == nil {
			data = sec.Data
		}
	default:
		return nil, nil
	}
	if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("%s %q not found", kind, name)
	}
	if len(items) == 0 {
		return data, nil
	}
	files := map[string][]byte{}
	for _, it := range items {
		files[it.Path] = data[it.Key]
	}
	return files, nil
}

func (a *hostAgent) syncContainer(ctx context.Context, c *containerRun, pod *corev1.Pod) {
	if !c.known {
		return
	}
	if c.rt.reloader {
		a.syncReloader(c)
		return
	}
	if c.proc != nil && c.proc.exited() {
		code := c.proc.exitCode()
		c.lastTerm = &corev1.ContainerStateTerminated{
			ExitCode: int32(code), Reason: "Error", StartedAt: c.startedAt, FinishedAt: metav1.Now(),
			Message:     c.proc.tail(20),
			ContainerID: c.containerID(),
		}
		if code == 0 {
			c.lastTerm.Reason = "Completed"
		}
		c.proc, c.ready = nil, false
		c.restarts++
		backoff := initialBackoff << min(c.restarts-1, 5)
		c.retryAt = time.Now().Add(min(backoff, maxBackoff))
		c.waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", min(backoff, maxBackoff), c.spec.Name, c.pod.name, c.pod.namespace, c.pod.uid)}
	}
	if c.proc == nil {
		if time.Now().Before(c.retryAt) {
			return
		}
		if err := a.start(ctx, c, pod); err != nil {
			c.waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}
			c.retryAt = time.Now().Add(initialBackoff)
			return
		}
	}
	c.ready = a.probe(c)
}

// start runs the container's process. Every declared container port is
// moved to a private port (in the args that end in it), so that several pods
// of one image can run side by side behind the port proxy.
func (a *hostAgent) start(ctx context.Context, c *containerRun, pod *corev1.Pod) error {
	if ctx.Err() != nil {
		return fmt.Errorf("the sandbox is stopping: %w", ctx.Err())
	}
	args := a.hostArgs(c)
	if c.ports == nil && len(c.spec.Ports) > 0 {
		private, err := freePorts(len(c.spec.Ports))
		if err != nil {
			return err
		}
		c.ports = map[int32]int{}
		for i, p := range c.spec.Ports {
			c.ports[p.ContainerPort] = private[i]
		}
	}
	args = movePorts(args, c.ports)
	if c.rt.hostArgs != nil {
		extra, err := c.rt.hostArgs(a, c.pod)
		if err != nil {
			return err
		}
		args = append(args, extra...)
	}
	pod, err := a.pods.Pods(c.pod.namespace).Get(c.pod.name)
	if err != nil {
		return err
	}
	env, err := containerEnv(pod, c.spec, a, a.rewriteServiceURL)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s", c.rt.binary, c.pod.uid[:8])
	bin := a.s.bin(c.rt.binary)
	if c.rt.project {
		bin = filepath.Join(a.s.cfg.ProjectBinDir, c.rt.binary)
	}
	if _, err := os.Stat(bin); err != nil && a.s.cfg.KEDALater {
		// hack/tools.sh keda is still building it.
		return fmt.Errorf("%s is not built yet: %w", c.rt.binary, err)
	}
	if msg, ok := takeFault(a.s.cfg.StateDir, c.rt.binary); ok {
		// A forced failure: this start runs a process that prints the
		// message and exits 1, as a binary that cannot start would.
		bin, args = "/bin/sh", []string{"-c", `echo "$0" >&2; exit 1`, msg}
	}
	p, err := startProcess(a.s.cfg.StateDir, name, bin, args, env)
	if err != nil {
		return err
	}
	c.proc, c.waiting, c.startedAt, c.ready = p, nil, metav1.Now(), false
	return nil
}

// movePorts rewrites args that end in a declared port (--secure-port=6443,
// --web.listen-address=127.0.0.1:9090) to the private port.
func movePorts(args []string, ports map[int32]int) []string {
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = arg
		for public, private := range ports {
			for _, sep := range []string{"=", ":"} {
				if suffix := sep + strconv.Itoa(int(public)); strings.HasSuffix(arg, suffix) {
					out[i] = strings.TrimSuffix(arg, suffix) + sep + strconv.Itoa(private)
				}
			}
		}
	}
	return out
}

func (c *containerRun) containerID() string {
	if c.proc == nil {
		return ""
	}
	return fmt.Sprintf("sandbox://%d", c.proc.cmd.Process.Pid)
}

// serviceHost is an in-cluster Service's DNS name: name, namespace.
const serviceHost = `([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?`

var (
	serviceURL  = regexp.MustCompile(`^(https?://)` + serviceHost + `(:\d+)?(/.*)?$`)
	serviceAddr = regexp.MustCompile(`^` + serviceHost + `:(\d+)$`)
)

// hostArgs rewrites the container args for the host: paths under a volume
// mount point into the pod's volume directory, and URLs and host:port
// addresses of in-cluster Services to loopback (resolveService). Anything else is
// passed unchanged, so a wrong URL stays wrong, as it would in a cluster.
func (a *hostAgent) hostArgs(c *containerRun) []string {
	var mounts []string
	for k := range c.pod.mounts {
		if strings.HasPrefix(k, c.spec.Name+"\x00") {
			mounts = append(mounts, strings.TrimPrefix(k, c.spec.Name+"\x00"))
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	var out []string
	for _, arg := range append(append([]string{}, c.spec.Command...), c.spec.Args...) {
		flag, val, hasEq := strings.Cut(arg, "=")
		if !hasEq {
			flag, val = "", arg
		}
		for _, m := range mounts {
			if val == m || strings.HasPrefix(val, strings.TrimSuffix(m, "/")+"/") {
				val = c.pod.mounts[c.spec.Name+"\x00"+m] + strings.TrimPrefix(val, strings.TrimSuffix(m, "/"))
				break
			}
		}
		val = a.rewriteServiceURL(val)
		if hasEq {
			out = append(out, flag+"="+val)
		} else {
			out = append(out, val)
		}
	}
	// The host binary stands for the image's entrypoint: drop a leading
	// executable (e.g. /adapter in the chart's args, /bin/prometheus).
	if len(out) > 0 && !strings.HasPrefix(out[0], "-") {
		out = out[1:]
	}
	return out
}

// rewriteServiceURL turns the URL of an in-cluster Service into the
// loopback address that serves it here; any other value is returned as is.
// A bare name.namespace.svc:port address is resolved the same way.
func (a *hostAgent) rewriteServiceURL(val string) string {
	if m := serviceURL.FindStringSubmatch(val); m != nil {
		if host, ok := a.resolveService(m[3], m[2], strings.TrimPrefix(m[4], ":")); ok {
			return m[1] + host + m[5]
		}
		return val
	}
	if host, err := a.resolveAddr(val); err == nil {
		return host
	}
	return val
}

// envKeys reads the Secret and ConfigMap keys a container's env names.
type envKeys interface {
	secretKey(namespace, name, key string) (string, error)
	configMapKey(namespace, name, key string) (string, error)
}

// containerEnv is the container's environment as kubelet builds it: plain
// values (rewritten, e.g. Service URLs resolved as in args), Secret and
// ConfigMap keys, and the pod fields of the downward API. A missing Secret
// or key fails the start, as kubelet's CreateContainerConfigError does.
// Values are never put in errors.
func containerEnv(pod *corev1.Pod, c corev1.Container, keys envKeys, rewrite func(string) string) ([]string, error) {
	var out []string
	for _, e := range c.Env {
		val := rewrite(e.Value)
		var err error
		switch src := e.ValueFrom; {
		case src == nil:
		case src.SecretKeyRef != nil:
			val, err = keys.secretKey(pod.Namespace, src.SecretKeyRef.Name, src.SecretKeyRef.Key)
		case src.ConfigMapKeyRef != nil:
			val, err = keys.configMapKey(pod.Namespace, src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key)
		case src.FieldRef != nil:
			switch src.FieldRef.FieldPath {
			case "metadata.namespace":
				val = pod.Namespace
			case "metadata.name":
				val = pod.Name
			case "spec.nodeName":
				val = pod.Spec.NodeName
			case "spec.serviceAccountName":
				val = pod.Spec.ServiceAccountName
			case "status.podIP", "status.hostIP":
				val = "127.0.0.1"
			default:
				err = fmt.Errorf("the sandbox host cannot resolve fieldRef %s", src.FieldRef.FieldPath)
			}
		default:
			err = errors.New("the sandbox host resolves value, fieldRef, secretKeyRef and configMapKeyRef only")
		}
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		out = append(out, e.Name+"="+val)
	}
	return out, nil
}

func (a *hostAgent) secretKey(namespace, name, key string) (string, error) {
	sec, err := a.client.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("secret %q: %w", name, err)
	}
	b, ok := sec.Data[key]
	if !ok {
		return "", fmt.Errorf("couldn't find key %s in Secret %s/%s", key, namespace, name)
	}
	return string(b), nil
}

func (a *hostAgent) configMapKey(namespace, name, key string) (string, error) {
	cm, err := a.cms.ConfigMaps(namespace).Get(name)
	if err != nil {
		return "", fmt.Errorf("configmap %q: %w", name, err)
	}
	v, ok := cm.Data[key]
	if !ok {
		return "", fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", key, namespace, name)
	}
	return v, nil
}

// resolveService does for a host process what cluster DNS and kube-proxy do
// for a pod: an ExternalName Service resolves to its external name, a Service
// with a selector to the loopback port of the host pods it selects (the
// agent's port proxy listens there). It returns host:port.
func (a *hostAgent) resolveService(ns, name, port string) (string, bool) {
	svc, err := a.svcs.Services(ns).Get(name)
	if err != nil {
		return "", false
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if port != "" {
			return svc.Spec.ExternalName + ":" + port, true
		}
		return svc.Spec.ExternalName, true
	}
	if port == "" {
		port = "80"
	}
	for _, sp := range svc.Spec.Ports {
		if strconv.Itoa(int(sp.Port)) != port {
			continue
		}
		if sp.TargetPort.IntValue() != 0 {
			return "127.0.0.1:" + strconv.Itoa(sp.TargetPort.IntValue()), true
		}
		pods, _ := a.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
		for _, p := range pods {
			for _, c := range p.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == sp.TargetPort.String() {
						return "127.0.0.1:" + strconv.Itoa(int(cp.ContainerPort)), true
					}
				}
			}
		}
	}
	return "", false
}

// resolveAddr maps the address of an in-cluster Service (name.ns.svc:port)
// to loopback as resolveService does; any other address is returned as is.
// The Grafana emulator's data source proxy dials through it.
func (a *hostAgent) resolveAddr(hostPort string) (string, error) {
	m := serviceAddr.FindStringSubmatch(hostPort)
	if m == nil {
		return hostPort, nil
	}
	if host, ok := a.resolveService(m[2], m[1], m[3]); ok {
		return host, nil
	}
	return "", fmt.Errorf("no Service %s in namespace %s serves port %s", m[1], m[2], m[3])
}

// serviceAccountToken is what kubelet mounts into a pod for its
// ServiceAccount: a token bound to the pod, so that the process has exactly
// the RBAC permissions of that ServiceAccount, and loses them with the pod.
func (a *hostAgent) serviceAccountToken(pr *podRun) (serviceAccount, token string, err error) {
	pod, err := a.pods.Pods(pr.namespace).Get(pr.name)
	if err != nil {
		return "", "", err
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := a.client.CoreV1().ServiceAccounts(pr.namespace).CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To[int64](48 * 3600),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", pr.namespace, sa, err)
	}
	return sa, tr.Status.Token, nil
}

// serviceAccountKubeconfig stands for in-cluster config: a kubeconfig for
// the API server with the pod's ServiceAccount token.
func (a *hostAgent) serviceAccountKubeconfig(pr *podRun) (string, error) {
	_, token, err := a.serviceAccountToken(pr)
	if err != nil {
		return "", err
	}
	kc := filepath.Join(pr.dir, "serviceaccount.kubeconfig")
	return kc, writeKubeconfig(kc, a.s.rest.Host, a.s.pki.CA, clientcmdapi.AuthInfo{Token: token})
}

// adapterHostArgs gives the adapter its ServiceAccount's kubeconfig for
// listing and for delegated authentication and authorization, and binds it
// to loopback.
func adapterHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	kc, err := a.serviceAccountKubeconfig(pr)
	if err != nil {
		return nil, err
	}
	return []string{"--bind-address=127.0.0.1", "--lister-kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc}, nil
}

// kubeStateMetricsHostArgs gives kube-state-metrics its ServiceAccount's
// kubeconfig (in a pod it uses in-cluster config) and binds both of its
// listeners, which default to every address, to loopback.
func kubeStateMetricsHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	kc, err := a.serviceAccountKubeconfig(pr)
	if err != nil {
		return nil, err
	}
	return []string{"--kubeconfig=" + kc, "--host=127.0.0.1", "--telemetry-host=127.0.0.1"}, nil
}

// prometheusHostArgs writes the pod's ServiceAccount token where the
// sandbox's prometheus.yml reads it (TemplateData.ServiceAccountTokenFile),
// as a chart's Prometheus reads the token kubelet mounts: scrapes of
// endpoints that authorize through the API server (the adapter's /metrics)
// carry it. Prometheus reads the file on each scrape, so a new pod's token
// replaces the old one's without a reload. It adds no flags.
func prometheusHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	sa, token, err := a.serviceAccountToken(pr)
	if err != nil {
		return nil, err
	}
	f := serviceAccountTokenFile(a.s.cfg.StateDir, pr.namespace, sa)
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		return nil, err
	}
	// Write then rename: Prometheus may be reading the file for a scrape.
	if err := os.WriteFile(f+".tmp", []byte(token), 0o600); err != nil {
		return nil, err
	}
	return nil, os.Rename(f+".tmp", f)
}

// sidecarHostArgs gives metricscale-sidecar its ServiceAccount's kubeconfig
// (in a pod it uses in-cluster config) and its listener on the private port
// of its declared one, on loopback: several replicas run side by side.
func sidecarHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	kc, err := a.serviceAccountKubeconfig(pr)
	if err != nil {
		return nil, err
	}
	args := []string{"--kubeconfig=" + kc}
	for _, c := range pr.containers {
		if c.rt.binary != "metricscale-sidecar" {
			continue
		}
		for _, private := range c.ports {
			args = append(args, fmt.Sprintf("--listen-address=127.0.0.1:%d", private))
		}
	}
	return args, nil
}

// serviceAccountTokenFile is where the host agent keeps the token of a
// ServiceAccount for processes that read it from a file named in their
// configuration rather than in their flags.
func serviceAccountTokenFile(stateDir, namespace, serviceAccount string) string {
	return filepath.Join(stateDir, "serviceaccounts", namespace, serviceAccount, "token")
}

// kedaOperatorHostArgs gives keda-operator its ServiceAccount's kubeconfig
// (controller-runtime's --kubeconfig stands for in-cluster config).
func kedaOperatorHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	kc, err := a.serviceAccountKubeconfig(pr)
	if err != nil {
		return nil, err
	}
	return []string{"--kubeconfig=" + kc}, nil
}

// kedaMetricsAPIServerHostArgs gives KEDA's metrics apiserver its
// ServiceAccount's kubeconfig for its clients (its lister's too) and for
// delegated authentication and authorization, and binds its secure port to
// loopback.
func kedaMetricsAPIServerHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	kc, err := a.serviceAccountKubeconfig(pr)
	if err != nil {
		return nil, err
	}
	return append(aggregatedServerArgs(kc), "--lister-kubeconfig="+kc), nil
}

// metricsServerHostArgs gives metrics-server its ServiceAccount's kubeconfig
// as KEDA's metrics apiserver gets it. Its kubelet client uses that
// kubeconfig too: it verifies the nodes' serving certificates with its CA,
// as with in-cluster config.
func metricsServerHostArgs(a *hostAgent, pr *podRun) ([]string, error) {
	kc, err := a.serviceAccountKubeconfig(pr)
	if err != nil {
		return nil, err
	}
	return aggregatedServerArgs(kc), nil
}

// aggregatedServerArgs are the flags of an aggregated API server on the
// host: kubeconfig kc for its clients and for delegated authentication and
// authorization, its secure port on loopback.
func aggregatedServerArgs(kc string) []string {
	return []string{"--bind-address=127.0.0.1", "--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc}
}

// probe runs the container's HTTP readiness probe once; a container without
// one is ready as soon as it runs.
func (a *hostAgent) probe(c *containerRun) bool {
	p := c.spec.ReadinessProbe
	if p == nil || p.HTTPGet == nil {
		return true
	}
	port := p.HTTPGet.Port.IntValue()
	if port == 0 {
		for _, cp := range c.spec.Ports {
			if cp.Name == p.HTTPGet.Port.String() {
				port = int(cp.ContainerPort)
			}
		}
	}
	scheme := strings.ToLower(string(p.HTTPGet.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	if private, ok := c.ports[int32(port)]; ok {
		port = private
	}
	resp, err := insecureClient().Get(fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, port, p.HTTPGet.Path))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// syncReloader does configmap-reload's job: when a watched volume changes,
// POST to the webhook.
func (a *hostAgent) syncReloader(c *containerRun) {
	if c.startedAt.IsZero() {
		c.startedAt = metav1.Now()
	}
	c.ready = true
	args := a.hostArgs(c)
	var dirs, hooks []string
	for _, arg := range args {
		flag, val, _ := strings.Cut(arg, "=")
		switch strings.TrimLeft(flag, "-") {
		case "volume-dir", "watched-dir":
			dirs = append(dirs, val)
		case "webhook-url", "reload-url":
			hooks = append(hooks, val)
		}
	}
	changed := false
	for _, d := range dirs {
		h := hashDir(d)
		if old, ok := c.volHash[d]; ok && old != h {
			changed = true
		}
		c.volHash[d] = h
	}
	if !changed {
		return
	}
	for _, u := range hooks {
		if _, err := url.Parse(u); err != nil {
			continue
		}
		if resp, err := http.Post(u, "text/plain", nil); err == nil {
			resp.Body.Close()
		}
	}
}

func hashDir(dir string) string {
	h := sha256.New()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func (a *hostAgent) remove(uid types.UID) {
	pr := a.runs[uid]
	if pr == nil {
		return
	}
	for _, c := range pr.containers {
		if c.proc != nil {
			c.proc.stop(10 * time.Second)
		}
	}
	delete(a.runs, uid)
}

func (a *hostAgent) stopAll() {
	// The reconcile loop must be over first: a pass still running would
	// restart a container stopped here (or by sandbox down), and that
	// process would outlive the sandbox.
	if a.cancel != nil {
		a.cancel()
		select {
		case <-a.stopped:
		case <-time.After(30 * time.Second):
		}
	}
	for uid := range a.runs {
		a.remove(uid)
	}
	for _, p := range a.proxies {
		p.close()
	}
}

// syncProxies points every declared port at the Ready pods that declare it,
// newest first, as a Service's endpoints would.
func (a *hostAgent) syncProxies() {
	type backend struct {
		created time.Time
		port    int
	}
	ready := map[int32][]backend{}
	for _, pr := range a.runs {
		for _, c := range pr.containers {
			for public, private := range c.ports {
				if _, ok := ready[public]; !ok {
					ready[public] = nil
				}
				if c.ready && c.proc != nil {
					ready[public] = append(ready[public], backend{pr.created, private})
				}
			}
		}
	}
	for public := range a.proxies {
		if _, ok := ready[public]; !ok {
			ready[public] = nil
		}
	}
	for public, bs := range ready {
		sort.Slice(bs, func(i, j int) bool { return bs[i].created.After(bs[j].created) })
		ports := make([]int, len(bs))
		for i, b := range bs {
			ports[i] = b.port
		}
		p := a.proxies[public]
		if p == nil {
			p = &portProxy{port: public}
			a.proxies[public] = p
		}
		p.setBackends(ports)
	}
}

// status is the container's status, as kubelet reports it.
func (c *containerRun) status() corev1.ContainerStatus {
	running := c.proc != nil || (c.rt.reloader && c.known)
	cs := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, ImageID: c.spec.Image, Ready: c.ready, RestartCount: c.restarts, Started: ptr.To(running)}
	switch {
	case running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: c.startedAt}
		cs.ContainerID = c.containerID()
	case c.waiting != nil:
		cs.State.Waiting = c.waiting
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	if c.lastTerm != nil {
		cs.LastTerminationState.Terminated = c.lastTerm
	}
	return cs
}

// condition is the pod condition t with status s, its transition time kept
// from the last status written while s is unchanged.
func (pr *podRun) condition(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: s, LastTransitionTime: pr.started}
	if pr.lastStatus != nil {
		for _, old := range pr.lastStatus.Conditions {
			if old.Type == t && old.Status == s {
				c.LastTransitionTime = old.LastTransitionTime
			} else if old.Type == t {
				c.LastTransitionTime = metav1.Now()
			}
		}
	}
	return c
}

// writeStatus reports the containers' state in the pod status, as kubelet does.
func (a *hostAgent) writeStatus(ctx context.Context, pr *podRun, pod *corev1.Pod) {
	st := corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "127.0.0.1", PodIP: "127.0.0.1",
		HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}},
		StartTime: &pr.started, QOSClass: pod.Status.QOSClass,
	}
	allReady := true
	for _, c := range pr.containers {
		allReady = allReady && c.ready
		st.ContainerStatuses = append(st.ContainerStatuses, c.status())
	}
	readyStatus := corev1.ConditionFalse
	if allReady {
		readyStatus = corev1.ConditionTrue
	}
	st.Conditions = []corev1.PodCondition{
		pr.condition(corev1.PodInitialized, corev1.ConditionTrue),
		pr.condition(corev1.PodReady, readyStatus),
		pr.condition(corev1.ContainersReady, readyStatus),
		pr.condition(corev1.PodScheduled, corev1.ConditionTrue),
	}
	if pr.lastStatus != nil && apiequality.Semantic.DeepEqual(*pr.lastStatus, st) {
		return
	}
	updated := pod.DeepCopy()
	updated.Status = st
	if _, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			fmt.Fprintf(os.Stderr, "host agent: updating status of pod %s/%s: %v\n", pod.Namespace, pod.Name, err)
		}
		return // retried on the next sync with a fresh copy
	}
	pr.lastStatus = &st
}

// describeContainers summarises the host pods' containers for error messages.
func (a *hostAgent) describeContainers() string {
	var b bytes.Buffer
	for _, pr := range a.runs {
		for _, c := range pr.containers {
			state := "running"
			switch {
			case c.waiting != nil:
				state = "waiting: " + c.waiting.Reason + ": " + c.waiting.Message
			case c.proc == nil:
				state = "not started"
			}
			fmt.Fprintf(&b, "  pod %s/%s container %s: %s, ready=%s, restarts=%d\n", pr.namespace, pr.name, c.spec.Name, state, strconv.FormatBool(c.ready), c.restarts)
			if c.proc != nil {
				fmt.Fprintf(&b, "    log %s\n", c.proc.logPath)
			}
		}
	}
	return b.String()
}
