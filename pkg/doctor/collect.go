package doctor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/scale"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	cmv1beta1 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta1"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"
	"k8s.io/utils/ptr"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	adapterchain "github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/grant"
	"github.com/metricscale/kubectl-metricscale/pkg/hpainput"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// listHPAs reads the HPAs in scope, each trimmed to what doctor reads.
func listHPAs(ctx context.Context, c kubernetes.Interface, scope kube.HPAScope) ([]autoscalingv2.HorizontalPodAutoscaler, error) {
	return kube.HPAs(ctx, c, scope, trimHPA)
}

// trimHPA keeps what doctor reads of an HPA: its name, owners (a ScaledObject), spec and status. The
// rest of its metadata (managedFields above all) is left to the garbage
// collector while the list is read.
func trimHPA(h *autoscalingv2.HorizontalPodAutoscaler) autoscalingv2.HorizontalPodAutoscaler {
	return autoscalingv2.HorizontalPodAutoscaler{TypeMeta: h.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: h.Name, Namespace: h.Namespace, CreationTimestamp: h.CreationTimestamp, OwnerReferences: h.OwnerReferences},
		Spec:       h.Spec, Status: h.Status}
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

// adapterDenied asks the API server which resources the adapter's
// ServiceAccount may not list, among those its rules map and those the
// HPAs in scope read metrics of (a fix that maps one must grant it too).
// Errors (doctor itself lacking the right to ask) leave it unknown.
func adapterDenied(ctx context.Context, c kubernetes.Interface, a *adapter.Adapter, d *simulate.Discovery, needed []schema.GroupResource) (grant.ServiceAccount, []schema.GroupResource) {
	if a == nil || d == nil {
		return grant.ServiceAccount{}, nil
	}
	sa := a.ServiceAccount()
	resources := needed
	for _, m := range d.Metrics {
		resources = append(resources, m.Resource)
	}
	denied, _ := grant.Missing(ctx, c, sa, resources)
	return sa, denied
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
	err := kube.EachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
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

// Collected is everything doctor reads before it judges: the HPAs in scope,
// the APIServices, the adapter's chain (adapter, config, Prometheus,
// simulated discovery), and the sources the walk reads lazily, behind small
// interfaces, with one request per distinct request of the HPA controller.
type Collected struct {
	Now time.Time
	// Namespace is the namespace of the HPAs in scope ("" for all).
	Namespace string
	// SeriesWindow is how far back the walk looks for series the
	// adapter's window no longer sees.
	SeriesWindow time.Duration
	HPAs         []autoscalingv2.HorizontalPodAutoscaler
	// APIServices are the custom, external and resource metrics
	// APIServices, in that order.
	APIServices []APIService
	Chain       *adapterchain.Chain
	// ServerMinor is the API server's minor version (-1: unknown).
	ServerMinor int
	// PrometheusCandidates are in-cluster Services that look like
	// Prometheus, read when Prometheus is unreachable.
	PrometheusCandidates []string
	// AdapterServiceAccount may not list the Denied resources, among
	// those its rules map and those the HPAs read metrics of.
	AdapterServiceAccount grant.ServiceAccount
	Denied                []schema.GroupResource
	// Events are the HPAs' warning events by namespace/name.
	Events map[string][]corev1.Event

	// Mapper names the resources of kinds, as the API server does.
	Mapper     apimeta.RESTMapper
	API        MetricsAPI
	External   ExternalAPI
	Prometheus Prometheus
	Targets    Targets
	// KEDA reads the ScaledObjects that own HPAs and runs their triggers.
	KEDA KEDA
	// Resources reads the resource metrics API for Resource and
	// ContainerResource metrics; MetricsServer is metrics-server's Service
	// when no APIService registers that API.
	Resources     ResourceMetrics
	MetricsServer *MetricsServer
	// Inputs reads what the HPA controller reads for its decision; nil
	// with -A, where reading every HPA's pods and values would cost a
	// request or three per HPA.
	Inputs Inputs
	// ControllerView: the walk takes the controller's last reading of each
	// metric, values and failures alike, instead of asking the metrics APIs
	// again (-A, where that would cost a request per HPA, and a failing one
	// seconds at a busy adapter). It then cannot tell a failure the
	// controller has yet to retry from one still there (MS408).
	ControllerView bool
	// OtherHPAs are the namespace's HPAs not in scope, read when HPAs were
	// named, to find those that share a scale target with one in scope.
	OtherHPAs []autoscalingv2.HorizontalPodAutoscaler

	// refused is the first request the live sources were refused.
	refused *refusals
}

// refusals keeps the first request the API server refused doctor for want
// of permission. Doctor then stops with that one refusal, worded with the
// role to apply, instead of reporting each refused request as a broken link
// of the chain. Reads doctor can do without (events, the adapter's RBAC,
// described objects) are not noted.
type refusals struct {
	mu    sync.Mutex
	first error
}

// note keeps err if it is the first refusal.
func (r *refusals) note(err error) {
	if r == nil || err == nil {
		return
	}
	if _, ok := apierr.Refused(err); !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		r.first = apierr.Denied(err, apierr.ReadOnlyRole)
	}
}

// err is the first refusal, worded; nil when there was none.
func (r *refusals) err() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// Targets resolves what the HPAs point at.
type Targets interface {
	// PodsOf returns the Running pods of a scale target, and whether the
	// target exists.
	PodsOf(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error)
	// PodSelector is the scale target's pod selector, as its scale
	// subresource states it.
	PodSelector(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference) (labels.Selector, error)
	// ObjectExists reports whether an Object metric's described object
	// exists.
	ObjectExists(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference) (bool, error)
	// Exists reports whether an object of a resource exists.
	Exists(ctx context.Context, gr schema.GroupResource, namespace, name string) (bool, error)
	// ScaleOf is what the scale target's scale subresource states.
	ScaleOf(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference) (hpainput.Scale, error)
	// ControllerPods returns the scale target's pods in every phase, and
	// whether the target exists.
	ControllerPods(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error)
}

// Collect reads the cluster for doctor: the HPAs, the APIServices, the
// adapter's chain, and what the findings need as evidence. The metric
// values the walk will read are fetched ahead, a few at a time.
func Collect(ctx context.Context, env Env, o Options) (*Collected, error) {
	in := &Collected{Now: o.Now, SeriesWindow: o.SeriesWindow, ServerMinor: -1, Namespace: o.Namespace}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if in.SeriesWindow == 0 {
		in.SeriesWindow = time.Hour
	}
	if o.AllNamespaces {
		in.Namespace = ""
	}
	if err := in.readHPAs(ctx, env, kube.HPAScope{Namespace: in.Namespace, Names: o.HPANames, Selector: o.Selector}); err != nil {
		return nil, err
	}
	hpas := in.HPAs
	var err error
	if in.APIServices, err = apiServices(ctx, env.Aggregator); err != nil {
		return nil, apierr.Denied(fmt.Errorf("reading APIServices: %w", err), apierr.ReadOnlyRole)
	}
	customSvc, externalSvc := in.APIServices[0], in.APIServices[1]

	co := o.Chain
	co.ServiceNamespace, co.ServiceName = refNamespace(customSvc.Service), refName(customSvc.Service)
	ch := adapterchain.Load(ctx, &env, co, adapterchain.StagePrometheus, in.Now)
	in.Chain = ch
	// An adapter doctor may not read is not a broken adapter.
	in.refused = &refusals{}
	in.refused.note(ch.AdapterErr)
	in.refused.note(ch.ConfigErr)
	if err := in.refused.err(); err != nil {
		return nil, err
	}
	// The relist (Prometheus's answer for every series the rules select,
	// most of doctor's wait on a large cluster) runs while the rest is
	// read; the walk looks at its series of the HPAs' metrics only.
	relistCtx, stopRelist := context.WithCancel(ctx)
	defer stopRelist()
	relisted := make(chan *simulate.Discovery, 1)
	go func() {
		relisted <- ch.Relist(relistCtx, env.Mapper, in.Now, simulate.KeepMetrics(metricNames(hpas)...))
	}()
	if v, err := env.Client.Discovery().ServerVersion(); err == nil {
		in.ServerMinor, _ = strconv.Atoi(strings.TrimRight(v.Minor, "+"))
	}
	if ch.Prometheus != nil && !ch.Prometheus.OK() {
		in.PrometheusCandidates = prometheusServices(ctx, env.Client)
	}

	// The events (pages of a list) are read while the workloads and pods
	// are (those of liveSources): neither needs the other.
	events := in.readEvents(ctx, env)
	in.liveSources(ctx, env, in.Namespace, customSvc, externalSvc)
	in.Events = events()
	if ch.Discovery = <-relisted; ch.Discovery != nil {
		in.AdapterServiceAccount, in.Denied = adapterDenied(ctx, env.Client, ch.Adapter, ch.Discovery, slices.Collect(maps.Keys(neededResources(hpas, env.Mapper))))
	}
	return in, nil
}

// readEvents starts reading the events of the HPAs in scope, when their
// conditions call for them, and returns what waits for them (nil when not read).
func (in *Collected) readEvents(ctx context.Context, env Env) func() map[string][]corev1.Event {
	if !needEvents(in.HPAs) {
		return func() map[string][]corev1.Event { return nil }
	}
	events := make(chan map[string][]corev1.Event, 1)
	go func() { events <- hpaEvents(ctx, env.Client, in.Namespace) }()
	return func() map[string][]corev1.Event { return <-events }
}

// readHPAs lists the HPAs in scope or reads the named ones, and then the
// namespace's others.
func (in *Collected) readHPAs(ctx context.Context, env Env, scope kube.HPAScope) error {
	hpas, err := listHPAs(ctx, env.Client, scope)
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			return env.Unreachable(err)
		}
		return apierr.Denied(err, apierr.ReadOnlyRole)
	}
	in.HPAs = hpas
	if len(scope.Names) > 0 || scope.Selector != "" {
		// The namespace's other HPAs, only to name those that share a scale
		// target with one in scope (MS414); without them that check sees
		// the HPAs in scope alone.
		in.OtherHPAs, _ = listHPAs(ctx, env.Client, kube.HPAScope{Namespace: scope.Namespace})
	}
	return nil
}

// liveSources sets up the sources the walk reads lazily, each noting the
// first request the API server refuses, and starts fetching the custom
// metrics values the walk will read, eight at a time.
func (in *Collected) liveSources(ctx context.Context, env Env, ns string, customSvc, externalSvc APIService) {
	in.ControllerView = ns == ""
	tg := newTargets(env.Client, env.Metadata, env.Scales, env.Mapper, ns, in.HPAs)
	tg.refused = in.refused
	in.Targets = tg
	api := newLiveAPI(env.Discovery, env.Custom, customSvc)
	api.refused = in.refused
	api.prefetch(ctx, in.HPAs, tg, env.Mapper, !in.ControllerView, 8)
	in.Mapper = env.Mapper
	in.API = api
	ext := newLiveExternalAPI(env.External, externalSvc)
	ext.refused = in.refused
	in.External = ext
	kd := newLiveKEDA(&env)
	kd.refused = in.refused
	in.KEDA = kd
	in.Resources = newResourceSource(ctx, env, ns, in)
	if ns != "" {
		// Not with -A: the decision needs each Pods metric's values per pod,
		// a request per HPA (or per namespace) that the adapter answers at
		// its own client's pace to the API server (one pod list each, five
		// a second by default): 40 s for 200 namespaces in make bench.
		inputs := sourceInputs{src: walkSource{targets: tg, api: api, ext: ext, res: in.Resources}, mapper: env.Mapper, now: in.Now}
		if p := in.Chain.Prometheus; p != nil && p.OK() {
			inputs.prom = p
		}
		in.Inputs = inputs
	}
	in.Prometheus = &livePrometheus{conn: in.Chain.Prometheus, series: map[string][]prom.Series{}, queries: map[string]queryResult{}}
}

// metricNames are the names of the HPAs' Pods, Object and External
// metrics.
func metricNames(hpas []autoscalingv2.HorizontalPodAutoscaler) []string {
	var out []string
	for i := range hpas {
		for _, m := range hpas[i].Spec.Metrics {
			if m.Pods != nil || m.Object != nil || m.External != nil {
				out = append(out, metricspec.Name(m))
			}
		}
	}
	return out
}

// liveAPI reads the custom metrics API: discovery once, then each distinct
// request of the HPA controller once (HPAs that make the same request share
// it).
type liveAPI struct {
	client    custommetrics.CustomMetricsClient
	refused   *refusals
	available bool
	why       string
	listed    map[string]bool
	mu        sync.Mutex
	values    map[string]*valuesResult
}

type valuesResult struct {
	once sync.Once
	list *cmv1beta2.MetricValueList
	err  error
}

func newLiveAPI(disc discovery.DiscoveryInterface, client custommetrics.CustomMetricsClient, svc APIService) *liveAPI {
	a := &liveAPI{listed: map[string]bool{}, values: map[string]*valuesResult{}}
	if !svc.Present {
		a.why = "no APIService " + CustomAPIService
		return a
	}
	list, err := disc.ServerResourcesForGroupVersion(cmv1beta1.SchemeGroupVersion.String())
	if err != nil {
		a.why = err.Error()
		if !svc.Available {
			a.why = fmt.Sprintf("APIService Available=False %s: %s", svc.Reason, svc.Message)
		}
		return a
	}
	a.client, a.available = client, true
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
func (a *liveAPI) Count() int { return len(a.listed) }

// Values sends the controller's request, once per distinct request (keyed by
// its path), even when asked concurrently.
func (a *liveAPI) Values(_ context.Context, req hpareq.Request) (*cmv1beta2.MetricValueList, error) {
	key := req.Path()
	a.mu.Lock()
	res, ok := a.values[key]
	if !ok {
		res = &valuesResult{}
		a.values[key] = res
	}
	a.mu.Unlock()
	res.once.Do(func() {
		if a.client == nil {
			res.err = errors.New(a.why)
			return
		}
		res.list, res.err = req.Custom(a.client)
		a.refused.note(res.err)
	})
	return res.list, res.err
}

// prefetch starts sending, a few at a time, the requests the walk and the
// decision will send, so that they find them cached or in flight (Values
// waits for a request in flight): the controller's request of every listed
// Pods and Object metric, also of those the walk takes from the controller's
// own reading, healthy or failed, when the decision reads them (decide). It returns once the
// requests are built (they read tg, which is not shared across goroutines);
// the adapter answers a failing HPA's request at its own pace (seconds when
// busy), so the rest of Collect and the walk of other HPAs go on meanwhile.
func (a *liveAPI) prefetch(ctx context.Context, hpas []autoscalingv2.HorizontalPodAutoscaler, tg Targets, mapper apimeta.RESTMapper, decide bool, workers int) {
	var reqs []hpareq.Request
	seen := map[string]bool{}
	for i := range hpas {
		h := &hpas[i]
		for _, m := range h.Spec.Metrics {
			if m.Type != autoscalingv2.PodsMetricSourceType && m.Type != autoscalingv2.ObjectMetricSourceType {
				continue
			}
			req, err := controllerRequest(ctx, h, m, tg, mapper)
			if err != nil || !a.Listed(req.Resource.String(), req.Metric) || seen[req.Path()] {
				continue // the walk reports an error
			}
			_, read := readByController(h, m)
			_, failed := failedByController(h, m)
			if decide || (!read && !failed) {
				seen[req.Path()] = true
				reqs = append(reqs, req)
			}
		}
	}
	work := make(chan hpareq.Request, len(reqs))
	for _, r := range reqs {
		work <- r
	}
	close(work)
	for range min(workers, len(reqs)) {
		go func() {
			for r := range work {
				_, _ = a.Values(ctx, r)
			}
		}()
	}
}

// controllerRequest is the controller's request for a Pods or Object
// metric of h.
func controllerRequest(ctx context.Context, h *autoscalingv2.HorizontalPodAutoscaler, m autoscalingv2.MetricSpec, tg Targets, mapper apimeta.RESTMapper) (hpareq.Request, error) {
	var podSel labels.Selector
	if m.Type == autoscalingv2.PodsMetricSourceType {
		sel, err := tg.PodSelector(ctx, h.Namespace, h.Spec.ScaleTargetRef)
		if err != nil {
			return hpareq.Request{}, err
		}
		podSel = sel
	}
	return hpareq.For(h, m, podSel, mapper)
}

// livePrometheus caches series lists by (name, start).
type livePrometheus struct {
	conn    *prometheus.Connection
	mu      sync.Mutex
	series  map[string][]prom.Series
	queries map[string]queryResult
	names   []string
	targets []prometheus.Target
}

func (p *livePrometheus) OK() bool { return p.conn != nil && p.conn.OK() }

func (p *livePrometheus) SeriesNamed(ctx context.Context, name string, since time.Time) ([]prom.Series, error) {
	key := name + "@" + strconv.FormatInt(since.UnixMilli(), 10)
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

func (p *livePrometheus) SeriesBetween(ctx context.Context, name string, start, end time.Time) ([]prom.Series, error) {
	return p.conn.SeriesBetween(ctx, start, end, prom.Selector(fmt.Sprintf("{__name__=%q}", name)))
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

// Targets lists Prometheus's active scrape targets, once.
func (p *livePrometheus) Targets(ctx context.Context) ([]prometheus.Target, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.targets == nil {
		t, err := p.conn.Targets(ctx)
		if err != nil {
			return nil, err
		}
		p.targets = t
	}
	return p.targets, nil
}

// targets resolves the HPAs' scale targets to their pods, listing pods and
// workloads once per namespace (once in all with -A). It keeps only what the
// walk and the controller's decision read: for each scale target of an HPA
// in scope, its replicas and pods (name, phase, readiness, requests). Pods
// no HPA scales are dropped as the pages are read, so memory grows with the
// HPAs' pods, not with the cluster's.
type targets struct {
	c       kubernetes.Interface
	meta    metadata.Interface // described objects of any kind
	mapper  apimeta.RESTMapper
	scope   string          // "" for all namespaces
	wanted  map[string]bool // Kind/namespace/name of the HPAs' scale targets
	found   map[string]bool // wanted targets that exist
	pods    map[string][]targetPod
	loaded  map[string]bool
	objects map[string]bool
	// selectors are the wanted targets' pod selectors, as their scale
	// subresource states them (status.selector is the workload's
	// spec.selector); scales reads the subresource of other kinds.
	selectors map[string]labels.Selector
	// replicas are the wanted Deployments' and StatefulSets' spec and
	// status replicas, as their scale subresource states them.
	replicas map[string][2]int32
	scales   scale.ScalesGetter
	refused  *refusals
}

func newTargets(c kubernetes.Interface, meta metadata.Interface, scales scale.ScalesGetter, mapper apimeta.RESTMapper, scope string, hpas []autoscalingv2.HorizontalPodAutoscaler) *targets {
	t := &targets{c: c, meta: meta, scales: scales, mapper: mapper, scope: scope, wanted: map[string]bool{}, found: map[string]bool{}, pods: map[string][]targetPod{},
		loaded: map[string]bool{}, objects: map[string]bool{}, selectors: map[string]labels.Selector{}, replicas: map[string][2]int32{}}
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
	selectors, err := t.loadWorkloads(ctx, listNS)
	if err != nil {
		return err
	}
	if len(selectors) > 0 {
		err = kube.EachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return t.c.CoreV1().Pods(listNS).List(ctx, o)
		}, metav1.ListOptions{}, func(obj runtime.Object) error {
			p := obj.(*corev1.Pod)
			for _, s := range selectors[p.Namespace] {
				if s.sel.Matches(labels.Set(p.Labels)) {
					t.pods[s.key] = append(t.pods[s.key], newTargetPod(p))
				}
			}
			return nil
		})
		if err != nil {
			t.refused.note(err)
			return fmt.Errorf("listing pods: %w", err)
		}
	}
	t.loaded[listNS] = true
	return nil
}

// podSelector is the pod selector of a wanted scale target (key
// Kind/namespace/name).
type podSelector struct {
	key string
	sel labels.Selector
}

// loadWorkloads lists the Deployments and StatefulSets of listNS, notes
// which wanted scale targets exist, and returns their pod selectors by
// namespace.
func (t *targets) loadWorkloads(ctx context.Context, listNS string) (map[string][]podSelector, error) {
	selectors := map[string][]podSelector{}
	keep := func(kind, namespace, name string, sel *metav1.LabelSelector, spec *int32, status int32) {
		key := kind + "/" + namespace + "/" + name
		if !t.wanted[key] {
			return
		}
		t.found[key] = true
		t.replicas[key] = [2]int32{ptr.Deref(spec, 1), status}
		if s, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			selectors[namespace] = append(selectors[namespace], podSelector{key, s})
			t.selectors[key] = s
		}
	}
	err := kube.EachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return t.c.AppsV1().Deployments(listNS).List(ctx, o)
	}, metav1.ListOptions{}, func(obj runtime.Object) error {
		d := obj.(*appsv1.Deployment)
		keep("Deployment", d.Namespace, d.Name, d.Spec.Selector, d.Spec.Replicas, d.Status.Replicas)
		return nil
	})
	if err != nil {
		t.refused.note(err)
		return nil, fmt.Errorf("listing deployments: %w", err)
	}
	_ = kube.EachItem(ctx, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return t.c.AppsV1().StatefulSets(listNS).List(ctx, o)
	}, metav1.ListOptions{}, func(obj runtime.Object) error {
		st := obj.(*appsv1.StatefulSet)
		keep("StatefulSet", st.Namespace, st.Name, st.Spec.Selector, st.Spec.Replicas, st.Status.Replicas)
		return nil
	})
	return selectors, nil
}

// PodsOf returns the Running pods of the scale target, and whether the target
// exists.
func (t *targets) PodsOf(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error) {
	if err := t.load(ctx, ns); err != nil {
		return nil, false, err
	}
	if ref.Kind != "Deployment" && ref.Kind != "StatefulSet" {
		return nil, true, nil // other scalable kinds: not resolved here
	}
	key := ref.Kind + "/" + ns + "/" + ref.Name
	var out []corev1.Pod
	for _, p := range t.pods[key] {
		if p.running() {
			out = append(out, p.pod(ns))
		}
	}
	return out, t.found[key], nil
}

// ScaleOf is what the scale subresource states: a listed Deployment's or
// StatefulSet's replicas and selector, any other kind's read.
func (t *targets) ScaleOf(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (hpainput.Scale, error) {
	if err := t.load(ctx, ns); err != nil {
		return hpainput.Scale{}, err
	}
	key := ref.Kind + "/" + ns + "/" + ref.Name
	if r, ok := t.replicas[key]; ok && t.selectors[key] != nil {
		return hpainput.Scale{SpecReplicas: r[0], StatusReplicas: r[1], Selector: t.selectors[key].String()}, nil
	}
	if ref.Kind == "Deployment" || ref.Kind == "StatefulSet" || t.scales == nil {
		return hpainput.Scale{}, fmt.Errorf("%s %s not found", ref.Kind, ref.Name)
	}
	s, err := kube.Scale(ctx, t.scales, t.mapper, ns, ref)
	if err != nil {
		t.refused.note(err)
		return hpainput.Scale{}, err
	}
	return hpainput.Scale{SpecReplicas: s.Spec.Replicas, StatusReplicas: s.Status.Replicas, Selector: s.Status.Selector}, nil
}

// ControllerPods returns the scale target's pods in every phase, as the
// controller's pod lister gives them: a listed Deployment's or
// StatefulSet's from the namespace's list, any other kind's listed by its
// scale's selector. false: the target does not exist.
func (t *targets) ControllerPods(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error) {
	if err := t.load(ctx, ns); err != nil {
		return nil, false, err
	}
	key := ref.Kind + "/" + ns + "/" + ref.Name
	if _, ok := t.replicas[key]; !ok {
		return t.podsBySelector(ctx, ns, ref)
	}
	out := make([]corev1.Pod, 0, len(t.pods[key]))
	for _, p := range t.pods[key] {
		out = append(out, p.pod(ns))
	}
	return out, true, nil
}

// PodSelector is the scale target's pod selector as the HPA controller reads
// it: the status.selector of its scale subresource.
func (t *targets) PodSelector(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (labels.Selector, error) {
	if err := t.load(ctx, ns); err != nil {
		return nil, err
	}
	key := ref.Kind + "/" + ns + "/" + ref.Name
	if s, ok := t.selectors[key]; ok {
		return s, nil
	}
	if ref.Kind == "Deployment" || ref.Kind == "StatefulSet" || t.scales == nil {
		return nil, fmt.Errorf("%s %s has no pod selector", ref.Kind, ref.Name)
	}
	s, err := kube.ScaleSelector(ctx, t.scales, t.mapper, ns, ref)
	if err != nil {
		t.refused.note(err)
		return nil, fmt.Errorf("reading the scale of %s %s: %w", ref.Kind, ref.Name, err)
	}
	t.selectors[key] = s
	return s, nil
}

// podsBySelector lists the pods of a scale target of a kind targets does
// not list (false for a missing Deployment or StatefulSet).
func (t *targets) podsBySelector(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) ([]corev1.Pod, bool, error) {
	if ref.Kind == "Deployment" || ref.Kind == "StatefulSet" {
		return nil, false, nil
	}
	sel, err := t.PodSelector(ctx, ns, ref)
	if err != nil {
		return nil, false, err
	}
	list, err := t.c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		t.refused.note(err)
		return nil, false, err
	}
	return list.Items, true, nil
}

// targetPod is what doctor keeps of a Running pod of a scale target: what
// the HPA controller reads of it for custom and resource metrics.
type targetPod struct {
	name    string
	phase   corev1.PodPhase
	deleted *metav1.Time
	ready   bool
	// started is status.startTime, readySince the Ready condition's last
	// transition (zero without one).
	started, readySince metav1.Time
	// containers are its containers' names and cpu and memory requests.
	containers []corev1.Container
}

func newTargetPod(p *corev1.Pod) targetPod {
	tp := targetPod{name: p.Name, phase: p.Status.Phase, deleted: p.DeletionTimestamp, ready: podReady(*p)}
	if p.Status.StartTime != nil {
		tp.started = *p.Status.StartTime
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			tp.readySince = c.LastTransitionTime
		}
	}
	for _, c := range p.Spec.Containers {
		req := corev1.ResourceList{}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Requests[r]; ok {
				req[r] = q
			}
		}
		tp.containers = append(tp.containers, corev1.Container{Name: c.Name, Resources: corev1.ResourceRequirements{Requests: req}})
	}
	return tp
}

// running: the walk reads the Running pods that are not being deleted.
func (p targetPod) running() bool { return p.deleted == nil && p.phase == corev1.PodRunning }

// pod gives the walk the pod as it reads it: name, phase, deletion, start
// time, Ready condition, containers' requests.
func (p targetPod) pod(ns string) corev1.Pod {
	ready := corev1.ConditionFalse
	if p.ready {
		ready = corev1.ConditionTrue
	}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns, DeletionTimestamp: p.deleted}, Spec: corev1.PodSpec{Containers: p.containers},
		Status: corev1.PodStatus{Phase: p.phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready, LastTransitionTime: p.readySince}}}}
	if !p.started.IsZero() {
		pod.Status.StartTime = &p.started
	}
	return pod
}

// ObjectExists checks a described object, of any kind the API server
// knows (a kind it does not know has no objects).
func (t *targets) ObjectExists(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (bool, error) {
	gr, err := kube.ResourceFor(t.mapper, ref.APIVersion, ref.Kind)
	if err != nil {
		return false, nil
	}
	return t.Exists(ctx, gr, ns, ref.Name)
}

// Exists reads an object's metadata once; a resource the API server does
// not serve has no objects.
func (t *targets) Exists(ctx context.Context, gr schema.GroupResource, ns, name string) (bool, error) {
	key := gr.String() + "/" + ns + "/" + name
	if v, ok := t.objects[key]; ok {
		return v, nil
	}
	gvk, err := t.mapper.KindFor(gr.WithVersion(""))
	if err != nil {
		t.objects[key] = false
		return false, nil
	}
	m, err := t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.objects[key] = false
		return false, nil
	}
	get := t.meta.Resource(m.Resource).Namespace(ns)
	if m.Scope.Name() == apimeta.RESTScopeNameRoot {
		get = t.meta.Resource(m.Resource)
	}
	_, err = get.Get(ctx, name, metav1.GetOptions{})
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

// newResourceSource is the resource metrics API for the walk, and, when no
// APIService registers it while HPAs in scope need it, metrics-server's
// Service for the fix.
func newResourceSource(ctx context.Context, env Env, ns string, in *Collected) ResourceMetrics {
	svc := in.APIServices[2]
	res := newLiveResourceMetrics(env.Resources, ns, svc)
	res.refused = in.refused
	if !svc.Present && resourceNeeds(in.HPAs) > 0 {
		in.MetricsServer = findMetricsServer(ctx, env.Client)
	}
	return res
}

// findMetricsServer finds a Service named metrics-server, kube-system's
// first; nil when there is none or Services may not be listed.
func findMetricsServer(ctx context.Context, c kubernetes.Interface) *MetricsServer {
	list, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=metrics-server"})
	if err != nil || len(list.Items) == 0 {
		return nil
	}
	sort.SliceStable(list.Items, func(i, j int) bool {
		return list.Items[i].Namespace == "kube-system" && list.Items[j].Namespace != "kube-system"
	})
	s := list.Items[0]
	ms := &MetricsServer{Namespace: s.Namespace, Name: s.Name}
	for _, p := range s.Spec.Ports {
		if ms.Port == 0 || p.Name == "https" {
			ms.Port = p.Port
		}
	}
	return ms
}
