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
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/scale"
	cmv1beta1 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta1"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
)

// liveAPI reads the custom metrics API: discovery once, then each distinct
// request of the HPA controller once (HPAs that make the same request share
// it).
type liveAPI struct {
	client    custommetrics.CustomMetricsClient
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

func newLiveAPI(ctx context.Context, rc rest.Interface, cfg *rest.Config, mapper apimeta.RESTMapper, svc APIService) *liveAPI {
	a := &liveAPI{listed: map[string]bool{}, values: map[string]*valuesResult{}}
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
	// The client takes no context: a request timeout bounds each call.
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 30 * time.Second
	if a.client, err = custommetrics.NewForVersionForConfig(cfg, mapper, cmv1beta1.SchemeGroupVersion); err != nil {
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
	})
	return res.list, res.err
}

// prefetch sends the controller's request of every listed Pods and Object
// metric of the HPAs, a few at a time, so the walk finds them cached.
func (a *liveAPI) prefetch(ctx context.Context, hpas []autoscalingv2.HorizontalPodAutoscaler, tg Targets, mapper apimeta.RESTMapper, workers int) {
	seen := map[string]bool{}
	var reqs []hpareq.Request
	for i := range hpas {
		h := &hpas[i]
		for _, m := range h.Spec.Metrics {
			if m.Type != autoscalingv2.PodsMetricSourceType && m.Type != autoscalingv2.ObjectMetricSourceType {
				continue
			}
			if _, read := readByController(h, m); read {
				continue // the walk takes the controller's own reading
			}
			var podSel labels.Selector
			if m.Type == autoscalingv2.PodsMetricSourceType {
				sel, err := tg.PodSelector(ctx, h.Namespace, h.Spec.ScaleTargetRef)
				if err != nil {
					continue // the walk reports it
				}
				podSel = sel
			}
			req, err := hpareq.For(h, m, podSel, mapper)
			if err != nil {
				continue // the walk reports it
			}
			if a.Listed(req.Resource.Resource, req.Metric) && !seen[req.Path()] {
				seen[req.Path()] = true
				reqs = append(reqs, req)
			}
		}
	}
	work := make(chan hpareq.Request)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				_, _ = a.Values(ctx, r)
			}
		}()
	}
	for _, r := range reqs {
		work <- r
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
	scales    scale.ScalesGetter
}

func newTargets(c kubernetes.Interface, meta metadata.Interface, mapper apimeta.RESTMapper, scope string, hpas []autoscalingv2.HorizontalPodAutoscaler) *targets {
	t := &targets{c: c, meta: meta, mapper: mapper, scope: scope, wanted: map[string]bool{}, found: map[string]bool{}, pods: map[string][]targetPod{},
		loaded: map[string]bool{}, objects: map[string]bool{}, selectors: map[string]labels.Selector{}}
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
			t.selectors[key] = s
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
		out = append(out, p.pod(ns))
	}
	return out, t.found[key], nil
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
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, err
	}
	m, err := t.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		return nil, err
	}
	sc, err := t.scales.Scales(ns).Get(ctx, m.Resource.GroupResource(), ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the scale of %s %s: %w", ref.Kind, ref.Name, err)
	}
	s, err := labels.Parse(sc.Status.Selector)
	if err != nil {
		return nil, fmt.Errorf("the scale of %s %s: selector %q: %w", ref.Kind, ref.Name, sc.Status.Selector, err)
	}
	t.selectors[key] = s
	return s, nil
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

// ObjectExists checks a described object, of any kind the API server
// knows (a kind it does not know has no objects).
func (t *targets) ObjectExists(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (bool, error) {
	key := ns + "/" + ref.APIVersion + "/" + ref.Kind + "/" + ref.Name
	if v, ok := t.objects[key]; ok {
		return v, nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return false, nil
	}
	m, err := t.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
	if err != nil {
		t.objects[key] = false
		return false, nil
	}
	get := t.meta.Resource(m.Resource).Namespace(ns)
	if m.Scope.Name() == apimeta.RESTScopeNameRoot {
		get = t.meta.Resource(m.Resource)
	}
	_, err = get.Get(ctx, ref.Name, metav1.GetOptions{})
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
