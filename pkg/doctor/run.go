package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/pager"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	cmv1beta1 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta1"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Env is how doctor reaches the cluster.
type Env = kube.Clients

// Options select what doctor looks at.
type Options struct {
	Namespace     string // ignored with AllNamespaces
	AllNamespaces bool
	HPANames      []string
	// Adapter location; empty means discover.
	AdapterNamespace, AdapterName string
	// PrometheusURL overrides the adapter's --prometheus-url; PrometheusSource
	// says where it came from ("flag" or "env").
	PrometheusURL, PrometheusSource string
	// SeriesWindow is how far back doctor looks for series the adapter's
	// window no longer sees (default 1h).
	SeriesWindow time.Duration
	Now          time.Time
}

// Run inspects the chain and returns the report. An error means doctor
// could not run at all (the API server is unreachable, an HPA named on the
// command line does not exist).
func Run(ctx context.Context, env Env, o Options) (*Report, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.SeriesWindow == 0 {
		o.SeriesWindow = time.Hour
	}
	ns := o.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	hpas, err := listHPAs(ctx, env.Client, ns, o.HPANames)
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			return nil, fmt.Errorf("cannot reach the Kubernetes API server at %s (check --kubeconfig, --context, --server): %w", env.Rest.Host, err)
		}
		return nil, err
	}
	r := &Report{APIVersion: "metricscale.io/v1alpha1", Kind: "DoctorReport", Findings: []Finding{}, HPAs: []HPAReport{}}

	// Aggregation layer.
	svcs, err := apiServices(ctx, env.Aggregator)
	if err != nil {
		return nil, fmt.Errorf("reading APIServices: %w", err)
	}
	r.Inventory.APIServices = svcs
	customSvc, externalSvc := svcs[0], svcs[1]

	// The adapter and its config.
	a, locErr := adapter.Locate(ctx, env.Client, adapter.Locator{Namespace: o.AdapterNamespace, Name: o.AdapterName,
		ServiceNamespace: refNamespace(customSvc.Service), ServiceName: refName(customSvc.Service)})
	var cfg *adapter.Config
	var cfgErr error
	adapterRef := ""
	if a != nil {
		adapterRef = a.Namespace + "/" + a.Name
		cfg, cfgErr = a.LoadConfig(ctx, env.Client)
		r.Inventory.Adapter = &AdapterInfo{Namespace: a.Namespace, Name: a.Name, Image: a.Image, PrometheusURL: a.PrometheusURL,
			Config: a.ConfigPath, ConfigMap: a.Namespace + "/" + a.ConfigMap + ":" + a.ConfigKey,
			RelistInterval: a.RelistInterval.String(), MaxAge: a.MaxAge.String(), ReadyPods: a.ReadyPods(), Pods: len(a.Pods)}
		if cfg != nil && cfg.Parsed != nil {
			r.Inventory.Adapter.Rules, r.Inventory.Adapter.ExternalRules = len(cfg.Parsed.Rules), len(cfg.Parsed.ExternalRules)
		}
	}
	needCustom, needExternal := false, cfg != nil && cfg.Parsed != nil && len(cfg.Parsed.ExternalRules) > 0
	for _, h := range hpas {
		for _, m := range h.Spec.Metrics {
			needCustom = needCustom || m.Type == autoscalingv2.PodsMetricSourceType || m.Type == autoscalingv2.ObjectMetricSourceType
			needExternal = needExternal || m.Type == autoscalingv2.ExternalMetricSourceType
		}
	}
	r.Findings = append(r.Findings, checkAPIServices(svcs, adapterRef, needCustom || len(hpas) == 0, needExternal)...)
	r.Findings = append(r.Findings, checkAdapter(a, locErr, cfg, cfgErr)...)
	if v, err := env.Client.Discovery().ServerVersion(); err == nil {
		minor, _ := strconv.Atoi(strings.TrimRight(v.Minor, "+"))
		r.Findings = append(r.Findings, checkAdapterVersion(a, minor)...)
	}

	// Prometheus, as the adapter reaches it (or as the user says).
	promURL, source := o.PrometheusURL, o.PrometheusSource
	if promURL == "" && a != nil {
		promURL, source = a.PrometheusURL, "adapter-flag"
	}
	var conn *prometheus.Connection
	if promURL != "" {
		conn = prometheus.Connect(ctx, env.Rest, env.Client, promURL)
		r.Inventory.Prometheus = &PromInfo{URL: promURL, Source: source, Via: conn.Via, Reachable: conn.OK(), Error: conn.Error}
		var candidates []string
		if !conn.OK() {
			candidates = prometheusServices(ctx, env.Client)
		}
		r.Findings = append(r.Findings, checkPrometheus(conn, source, candidates, adapterRef)...)
	}
	pv := &livePrometheus{conn: conn, series: map[string][]prom.Series{}, queries: map[string]queryResult{}}

	// Simulated discovery with the adapter's own code.
	var disc *simulate.Discovery
	maxAge := adapter.DefaultRelistInterval
	if a != nil {
		maxAge = a.MaxAge
	}
	if cfg != nil && cfg.Parsed != nil && conn != nil && conn.OK() {
		disc = simulate.Run(ctx, conn, cfg.Parsed, env.Mapper, maxAge, o.Now)
		r.Inventory.DiscoveredMetrics = len(disc.Metrics)
		r.Findings = append(r.Findings, checkDiscovery(disc, a)...)
		sa, denied := adapterDenied(ctx, env.Client, a, disc)
		r.Findings = append(r.Findings, checkAdapterRBAC(a, sa, denied, neededResources(hpas))...)
	}

	api := newLiveAPI(ctx, env.Client.Discovery().RESTClient(), customSvc)
	r.Inventory.ServedMetrics = api.count()
	api.prefetch(ctx, hpas, 8)
	w := &walker{api: api, ext: newLiveExternalAPI(env.Rest, externalSvc), prom: pv, disc: disc, maxAge: maxAge, now: o.Now, adapterRef: adapterRef, seriesWindow: o.SeriesWindow}

	targets := newTargets(env.Client, ns, hpas)
	var events map[string][]corev1.Event
	if needEvents(hpas) {
		events = hpaEvents(ctx, env.Client, ns)
	}
	for i := range hpas {
		h := &hpas[i]
		hr := HPAReport{Namespace: h.Namespace, Name: h.Name, ScaleTarget: h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
			MaxReplicas: h.Spec.MaxReplicas, CurrentReplicas: h.Status.CurrentReplicas, DesiredReplicas: h.Status.DesiredReplicas,
			Metrics: []MetricReport{}, Findings: []Finding{}}
		if h.Spec.MinReplicas != nil {
			hr.MinReplicas = *h.Spec.MinReplicas
		} else {
			hr.MinReplicas = 1
		}
		pods, found, err := targets.podsOf(ctx, h.Namespace, h.Spec.ScaleTargetRef)
		if err != nil {
			return nil, err
		}
		ready := 0
		for _, p := range pods {
			if podReady(p) {
				ready++
			}
		}
		hr.Findings = append(hr.Findings, hpaFindings(h, found, ready, len(pods), events[h.Namespace+"/"+h.Name]...)...)
		for _, spec := range h.Spec.Metrics {
			var mr MetricReport
			switch spec.Type {
			case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
				if spec.Type == autoscalingv2.ObjectMetricSourceType {
					exists, err := targets.objectExists(ctx, h.Namespace, spec.Object.DescribedObject)
					if err == nil && !exists {
						mr = MetricReport{Type: string(spec.Type), Name: spec.Object.Metric.Name, Target: targetString(spec.Object.Target),
							Object: spec.Object.DescribedObject.Kind + "/" + spec.Object.DescribedObject.Name,
							Chain:  chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken), Findings: []Finding{describedObjectMissing(h, spec)}}
						break
					}
				}
				mr = w.walkMetric(ctx, h, spec, target{pods: readyOnly(pods)})
			case autoscalingv2.ExternalMetricSourceType:
				mr = w.walkExternal(ctx, h, spec)
			default:
				mr = otherMetric(h, spec)
			}
			if mr.Findings == nil {
				mr.Findings = []Finding{}
			}
			mr.Chain = finishChain(mr.Chain)
			hr.Metrics = append(hr.Metrics, mr)
		}
		settle(&hr)
		r.HPAs = append(r.HPAs, hr)
	}
	r.summarize()
	return r, nil
}

// otherMetric reports Resource and ContainerResource metrics (served by
// metrics-server, not this chain): the HPA's own word on them.
func otherMetric(h *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) MetricReport {
	mr := MetricReport{Type: string(spec.Type), Findings: []Finding{}}
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		mr.Name, mr.Target = string(spec.Resource.Name), targetString(spec.Resource.Target)
	case autoscalingv2.ContainerResourceMetricSourceType:
		mr.Name, mr.Target = string(spec.ContainerResource.Name), targetString(spec.ContainerResource.Target)
	}
	link := hpaLink(h)
	mr.Chain = []Link{{LinkHPA, link}}
	mr.Healthy = link == LinkOK
	return mr
}

func (r *Report) summarize() {
	count := func(fs []Finding) {
		for _, f := range fs {
			switch f.Severity {
			case SeverityError:
				r.Summary.Errors++
			case SeverityWarning:
				r.Summary.Warnings++
			default:
				r.Summary.Infos++
			}
		}
	}
	count(r.Findings)
	r.Summary.HPAs = len(r.HPAs)
	for _, h := range r.HPAs {
		count(h.Findings)
		for _, m := range h.Metrics {
			r.Summary.Metrics++
			if m.Healthy {
				r.Summary.Healthy++
			}
			count(m.Findings)
		}
	}
}

// HasErrors reports whether any finding is an error (doctor exits 1).
func (r *Report) HasErrors() bool { return r.Summary.Errors > 0 }

func listHPAs(ctx context.Context, c kubernetes.Interface, ns string, names []string) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	if len(names) > 0 {
		var out []autoscalingv2.HorizontalPodAutoscaler
		for _, n := range names {
			h, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("HorizontalPodAutoscaler %q not found in namespace %q (list them with kubectl get hpa -n %s): %w", n, ns, ns, err)
			}
			if err != nil {
				return nil, fmt.Errorf("reading HorizontalPodAutoscaler %s/%s: %w", ns, n, err)
			}
			out = append(out, *h)
		}
		return out, nil
	}
	var out []autoscalingv2.HorizontalPodAutoscaler
	err := eachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return c.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, o)
	}, metav1.ListOptions{}, func(obj runtime.Object) error {
		out = append(out, trimHPA(obj.(*autoscalingv2.HorizontalPodAutoscaler)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing HorizontalPodAutoscalers: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return out, nil
}

// trimHPA keeps what doctor reads of an HPA: its name, spec and status. The
// rest of its metadata (managedFields above all) is left to the garbage
// collector while the list is read.
func trimHPA(h *autoscalingv2.HorizontalPodAutoscaler) autoscalingv2.HorizontalPodAutoscaler {
	return autoscalingv2.HorizontalPodAutoscaler{TypeMeta: h.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: h.Name, Namespace: h.Namespace, CreationTimestamp: h.CreationTimestamp},
		Spec:       h.Spec, Status: h.Status}
}

// eachItem pages through a list (pages of 500) and hands each item to fn.
// fn copies what it keeps: a page is garbage once fn has seen its items, and
// at most one page is fetched ahead, instead of the pager's default of ten.
func eachItem(ctx context.Context, list pager.ListPageFunc, o metav1.ListOptions, fn func(runtime.Object) error) error {
	p := pager.New(list)
	p.PageBufferSize = 0
	return p.EachListItem(ctx, o, fn)
}

func apiServices(ctx context.Context, agg aggregator.Interface) ([]APIService, error) {
	var out []APIService
	for _, name := range []string{CustomAPIService, ExternalAPIService, ResourceAPIService} {
		as, err := agg.ApiregistrationV1().APIServices().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			out = append(out, APIService{Name: name})
			continue
		}
		if err != nil {
			return nil, err
		}
		s := APIService{Name: name, Present: true}
		if as.Spec.Service != nil {
			s.Service = as.Spec.Service.Namespace + "/" + as.Spec.Service.Name
		}
		for _, c := range as.Status.Conditions {
			if c.Type == apiregistrationv1.Available {
				s.Available = c.Status == apiregistrationv1.ConditionTrue
				s.Reason, s.Message = c.Reason, c.Message
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// prometheusServices lists in-cluster Services that look like Prometheus's
// HTTP API, as URLs the adapter could use.
func prometheusServices(ctx context.Context, c kubernetes.Interface) []string {
	list, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range list.Items {
		n := s.Name
		if !strings.Contains(n, "prometheus") || strings.Contains(n, "adapter") || strings.Contains(n, "pushgateway") ||
			strings.Contains(n, "alertmanager") || strings.Contains(n, "operator") || strings.Contains(n, "node-exporter") {
			continue
		}
		for _, p := range s.Spec.Ports {
			out = append(out, fmt.Sprintf("http://%s.%s.svc:%d", n, s.Namespace, p.Port))
			break
		}
	}
	sort.Strings(out)
	return out
}

// liveAPI reads the custom metrics API: discovery once, values once per
// (namespace, resource, metric).
type liveAPI struct {
	rc        rest.Interface
	available bool
	why       string
	listed    map[string]bool
	mu        sync.Mutex
	values    map[string]*valuesResult
}

type valuesResult struct {
	once sync.Once
	list *cmv1beta1.MetricValueList
	err  error
}

func newLiveAPI(ctx context.Context, rc rest.Interface, svc APIService) *liveAPI {
	a := &liveAPI{rc: rc, listed: map[string]bool{}, values: map[string]*valuesResult{}}
	if !svc.Present {
		a.why = "no APIService " + CustomAPIService
		return a
	}
	body, err := rc.Get().AbsPath("/apis/custom.metrics.k8s.io/v1beta1").SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		a.why = err.Error()
		if !svc.Available {
			a.why = fmt.Sprintf("APIService Available=False %s: %s", svc.Reason, svc.Message)
		}
		return a
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(body, &list); err != nil {
		a.why = err.Error()
		return a
	}
	a.available = true
	for _, r := range list.APIResources {
		a.listed[r.Name] = true
	}
	return a
}

func (a *liveAPI) Available() (bool, string) { return a.available, a.why }
func (a *liveAPI) Listed(resource, metric string) bool {
	return a.listed[resource+"/"+metric]
}
func (a *liveAPI) ListedNames(resource string) []string {
	var out []string
	for k := range a.listed {
		if r, m, ok := strings.Cut(k, "/"); ok && r == resource {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}
func (a *liveAPI) count() int { return len(a.listed) }

func (a *liveAPI) Values(ctx context.Context, ns, resource, metric string) (*cmv1beta1.MetricValueList, error) {
	key := ns + "/" + resource + "/" + metric
	a.mu.Lock()
	res, ok := a.values[key]
	if !ok {
		res = &valuesResult{}
		a.values[key] = res
	}
	a.mu.Unlock()
	// One request per key, even when asked concurrently.
	res.once.Do(func() {
		path := fmt.Sprintf("/apis/custom.metrics.k8s.io/v1beta1/namespaces/%s/%s/*/%s", ns, resource, metric)
		body, err := a.rc.Get().AbsPath(path).SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil {
			res.err = err
			return
		}
		res.list = &cmv1beta1.MetricValueList{}
		res.err = json.Unmarshal(body, res.list)
	})
	return res.list, res.err
}

// prefetch fetches the values of every listed (namespace, resource, metric)
// the HPAs read, a few at a time, so the walk finds them cached.
func (a *liveAPI) prefetch(ctx context.Context, hpas []autoscalingv2.HorizontalPodAutoscaler, workers int) {
	type key struct{ ns, resource, metric string }
	seen := map[key]bool{}
	var keys []key
	for _, h := range hpas {
		for _, m := range h.Spec.Metrics {
			k := key{ns: h.Namespace}
			switch m.Type {
			case autoscalingv2.PodsMetricSourceType:
				k.resource, k.metric = "pods", m.Pods.Metric.Name
			case autoscalingv2.ObjectMetricSourceType:
				k.resource, k.metric = resourceForKind(m.Object.DescribedObject.Kind, m.Object.DescribedObject.APIVersion).Resource, m.Object.Metric.Name
			default:
				continue
			}
			if _, read := controllerValue(&h, m); read && scalingActive(&h) {
				continue // the walk trusts the controller's own reading
			}
			if a.Listed(k.resource, k.metric) && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	work := make(chan key)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				_, _ = a.Values(ctx, k.ns, k.resource, k.metric)
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
}

// livePrometheus caches series lists by (name, start).
type livePrometheus struct {
	conn    *prometheus.Connection
	mu      sync.Mutex
	series  map[string][]prom.Series
	queries map[string]queryResult
	names   []string
}

func (p *livePrometheus) OK() bool { return p.conn != nil && p.conn.OK() }

func (p *livePrometheus) SeriesNamed(ctx context.Context, name string, since time.Time) ([]prom.Series, error) {
	key := name + "@" + strconv.FormatInt(since.Unix(), 10)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.series[key]; ok {
		return s, nil
	}
	s, err := p.conn.Series(ctx, since, prom.Selector(fmt.Sprintf("{__name__=%q}", name)))
	if err != nil {
		return nil, err
	}
	p.series[key] = s
	return s, nil
}

func (p *livePrometheus) Query(ctx context.Context, q string) (prom.QueryResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.queries[q]; ok {
		return r.res, r.err
	}
	res, err := p.conn.Query(ctx, q)
	p.queries[q] = queryResult{res, err}
	return res, err
}

type queryResult struct {
	res prom.QueryResult
	err error
}

func (p *livePrometheus) MetricNames(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.names != nil {
		return p.names, nil
	}
	names, err := p.conn.MetricNames(ctx)
	if err == nil {
		p.names = names
	}
	return names, err
}

// targets resolves the HPAs' scale targets to their pods, listing pods and
// workloads once per namespace (once in all with -A). It keeps only what the
// walk reads: for each scale target of an HPA in scope, its Running pods
// (name and readiness). Pods no HPA scales are dropped as the pages are
// read, so memory grows with the HPAs' pods, not with the cluster's.
type targets struct {
	c       kubernetes.Interface
	scope   string          // "" for all namespaces
	wanted  map[string]bool // Kind/namespace/name of the HPAs' scale targets
	found   map[string]bool // wanted targets that exist
	pods    map[string][]targetPod
	loaded  map[string]bool
	objects map[string]bool
}

func newTargets(c kubernetes.Interface, scope string, hpas []autoscalingv2.HorizontalPodAutoscaler) *targets {
	t := &targets{c: c, scope: scope, wanted: map[string]bool{}, found: map[string]bool{}, pods: map[string][]targetPod{},
		loaded: map[string]bool{}, objects: map[string]bool{}}
	for i := range hpas {
		ref := hpas[i].Spec.ScaleTargetRef
		t.wanted[ref.Kind+"/"+hpas[i].Namespace+"/"+ref.Name] = true
	}
	return t
}

func (t *targets) load(ctx context.Context, ns string) error {
	listNS := ns
	if t.scope == "" {
		listNS = ""
	}
	if t.loaded[listNS] {
		return nil
	}
	// The workloads first: their selectors decide which pods are kept.
	type podSelector struct {
		key string
		sel labels.Selector
	}
	selectors := map[string][]podSelector{} // namespace → selectors of wanted targets
	keep := func(kind, namespace, name string, sel *metav1.LabelSelector) {
		key := kind + "/" + namespace + "/" + name
		if !t.wanted[key] {
			return
		}
		t.found[key] = true
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			selectors[namespace] = append(selectors[namespace], podSelector{key, s})
		}
	}
	err := eachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return t.c.AppsV1().Deployments(listNS).List(ctx, o)
	}, metav1.ListOptions{}, func(obj runtime.Object) error {
		d := obj.(*appsv1.Deployment)
		keep("Deployment", d.Namespace, d.Name, d.Spec.Selector)
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing deployments: %w", err)
	}
	_ = eachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return t.c.AppsV1().StatefulSets(listNS).List(ctx, o)
	}, metav1.ListOptions{}, func(obj runtime.Object) error {
		st := obj.(*appsv1.StatefulSet)
		keep("StatefulSet", st.Namespace, st.Name, st.Spec.Selector)
		return nil
	})
	if len(selectors) > 0 {
		err = eachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return t.c.CoreV1().Pods(listNS).List(ctx, o)
		}, metav1.ListOptions{}, func(obj runtime.Object) error {
			p := obj.(*corev1.Pod)
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				return nil
			}
			for _, s := range selectors[p.Namespace] {
				if s.sel.Matches(labels.Set(p.Labels)) {
					t.pods[s.key] = append(t.pods[s.key], targetPod{name: p.Name, ready: podReady(*p)})
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing pods: %w", err)
		}
	}
	t.loaded[listNS] = true
	return nil
}

// podsOf returns the Running pods of the scale target, and whether the target
// exists.
func (t *targets) podsOf(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error) {
	if err := t.load(ctx, ns); err != nil {
		return nil, false, err
	}
	if ref.Kind != "Deployment" && ref.Kind != "StatefulSet" {
		return nil, true, nil // other scalable kinds: not resolved here
	}
	key := ref.Kind + "/" + ns + "/" + ref.Name
	var out []corev1.Pod
	for _, p := range t.pods[key] {
		out = append(out, p.pod(ns))
	}
	return out, t.found[key], nil
}

// targetPod is what doctor keeps of a Running pod of a scale target.
type targetPod struct {
	name  string
	ready bool
}

// pod gives the walk the pod as it reads it: name, phase, Ready condition.
func (p targetPod) pod(ns string) corev1.Pod {
	ready := corev1.ConditionFalse
	if p.ready {
		ready = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}}}
}

// objectExists checks a described object of a kind doctor knows.
func (t *targets) objectExists(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (bool, error) {
	key := ns + "/" + strings.ToLower(ref.Kind) + "/" + ref.Name
	if v, ok := t.objects[key]; ok {
		return v, nil
	}
	var err error
	switch strings.ToLower(ref.Kind) {
	case "service":
		_, err = t.c.CoreV1().Services(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	case "pod":
		_, err = t.c.CoreV1().Pods(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	case "deployment":
		_, err = t.c.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	case "namespace":
		_, err = t.c.CoreV1().Namespaces().Get(ctx, ref.Name, metav1.GetOptions{})
	default:
		return true, nil
	}
	if apierrors.IsNotFound(err) {
		t.objects[key] = false
		return false, nil
	}
	if err != nil {
		return true, err
	}
	t.objects[key] = true
	return true, nil
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func readyOnly(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if podReady(p) {
			out = append(out, p)
		}
	}
	return out
}

// finishChain stops the picture at the first broken link: later links were
// not checked (·), except the HPA's, which comes from its own conditions.
func finishChain(links []Link) []Link {
	broken := false
	for i := range links {
		if links[i].Name == LinkHPA {
			continue
		}
		if broken {
			links[i].Status = LinkUnknown
		} else if links[i].Status == LinkBroken {
			broken = true
		}
	}
	return links
}

// adapterDenied asks the API server (SubjectAccessReview, one per distinct
// resource) which resources the rules map that the adapter's ServiceAccount
// may not list. Errors (doctor itself lacking the right to ask) are ignored.
func adapterDenied(ctx context.Context, c kubernetes.Interface, a *adapter.Adapter, d *simulate.Discovery) (string, []schema.GroupResource) {
	if a == nil || d == nil {
		return "", nil
	}
	sa := a.Deployment.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	seen := map[string]bool{}
	var denied []schema.GroupResource
	for _, m := range d.Metrics {
		res := m.Resource
		if res.Resource == "" || seen[res.String()] {
			continue
		}
		seen[res.String()] = true
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               "system:serviceaccount:" + a.Namespace + ":" + sa,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + a.Namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Group: res.Group, Resource: res.Resource},
		}}
		got, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err == nil && !got.Status.Allowed {
			denied = append(denied, res)
		}
	}
	return sa, denied
}

// neededResources are the resources whose metrics the HPAs in scope read.
func neededResources(hpas []autoscalingv2.HorizontalPodAutoscaler) map[schema.GroupResource]bool {
	out := map[schema.GroupResource]bool{}
	for _, h := range hpas {
		for _, m := range h.Spec.Metrics {
			switch m.Type {
			case autoscalingv2.PodsMetricSourceType:
				out[schema.GroupResource{Resource: "pods"}] = true
			case autoscalingv2.ObjectMetricSourceType:
				out[resourceForKind(m.Object.DescribedObject.Kind, m.Object.DescribedObject.APIVersion)] = true
			}
		}
	}
	return out
}

// needEvents says whether any HPA has a ScalingActive=False condition, the
// only finding whose evidence the events are (MS401): a cluster whose HPAs
// all scale is not asked for its events at all.
func needEvents(hpas []autoscalingv2.HorizontalPodAutoscaler) bool {
	for i := range hpas {
		for _, c := range hpas[i].Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse {
				return true
			}
		}
	}
	return false
}

// hpaEvents lists the warning events about HPAs in scope (paged, one request
// per 500), keyed by namespace/name, keeping the fields the evidence shows.
// Doctor runs without them if it may not list events.
func hpaEvents(ctx context.Context, c kubernetes.Interface, ns string) map[string][]corev1.Event {
	out := map[string][]corev1.Event{}
	err := eachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().Events(ns).List(ctx, o)
	}, metav1.ListOptions{FieldSelector: "involvedObject.kind=HorizontalPodAutoscaler,type=" + corev1.EventTypeWarning}, func(obj runtime.Object) error {
		e := obj.(*corev1.Event)
		k := e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
		out[k] = append(out[k], corev1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: e.CreationTimestamp},
			Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count, LastTimestamp: e.LastTimestamp, EventTime: e.EventTime})
		return nil
	})
	if err != nil {
		return map[string][]corev1.Event{}
	}
	return out
}

func scalingActive(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
