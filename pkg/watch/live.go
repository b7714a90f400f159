package watch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/quantity"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Env holds the clients watch uses.
type Env = kube.Clients

// Options says what to watch.
type Options struct {
	Namespace     string // "" with AllNamespaces
	AllNamespaces bool
	HPANames      []string
	Selector      string // a label selector on the HPAs, without HPANames
	// Chain locates the adapter whose rules render the Prometheus queries,
	// and Prometheus.
	Chain chain.Options
	// History is how many values a row's sparkline keeps.
	History int
}

// byHPA indexes events by the namespace/name of their HPA.
const byHPA = "hpa"

// Live follows HPAs and their events with informers and polls metric
// values; Rows returns the current view.
type Live struct {
	env     Env
	o       Options
	ns      string
	hpas    cache.SharedIndexInformer
	events  cache.SharedIndexInformer
	pods    cache.GenericLister
	changed chan struct{}
	// startFactories runs the informer factories until stop closes.
	startFactories func(stop <-chan struct{})
	podsSynced     cache.InformerSynced

	mu        sync.Mutex
	values    map[string]rowValues // by Row.Key
	history   map[string][]float64
	selectors map[string]selectorEntry // by namespace/hpa
	apiStatus string
	pollErr   string
	prom      *promState
}

type rowValues struct {
	api, prom, problem string
}

type selectorEntry struct {
	generation int64
	selector   labels.Selector
	err        error
}

// NewLive builds the informers; Start runs them.
func NewLive(env Env, o Options) (*Live, error) {
	if o.History <= 0 {
		o.History = 30
	}
	l := &Live{env: env, o: o, changed: make(chan struct{}, 1), values: map[string]rowValues{}, history: map[string][]float64{}, selectors: map[string]selectorEntry{}}
	if !o.AllNamespaces {
		l.ns = o.Namespace
	}
	f := informers.NewSharedInformerFactoryWithOptions(env.Client, 0, informers.WithNamespace(l.ns),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = o.Selector }))
	l.hpas = f.Autoscaling().V2().HorizontalPodAutoscalers().Informer()
	ef := informers.NewSharedInformerFactoryWithOptions(env.Client, 0, informers.WithNamespace(l.ns),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = "involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale"
		}))
	l.events = ef.Core().V1().Events().Informer()
	// Events by the HPA they are about: each row finds its own in O(1).
	if err := l.events.AddIndexers(cache.Indexers{byHPA: func(obj any) ([]string, error) {
		e := obj.(*corev1.Event)
		return []string{e.Namespace + "/" + e.InvolvedObject.Name}, nil
	}}); err != nil {
		return nil, err
	}
	mf := metadatainformer.NewFilteredSharedInformerFactory(env.Metadata, 0, l.ns, nil)
	podInformer := mf.ForResource(corev1.SchemeGroupVersion.WithResource("pods"))
	l.pods = podInformer.Lister()
	l.podsSynced = podInformer.Informer().HasSynced
	for _, inf := range []cache.SharedIndexInformer{l.hpas, l.events, podInformer.Informer()} {
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			l.setAPIStatus("API server: " + apierr.Message(err) + "; reconnecting")
		})
	}
	// HPA and event changes redraw at once; pod changes only matter to the
	// next poll's values.
	for _, inf := range []cache.SharedIndexInformer{l.hpas, l.events} {
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { l.kick() },
			UpdateFunc: func(any, any) { l.kick() },
			DeleteFunc: func(any) { l.kick() },
		})
	}
	l.startFactories = func(stop <-chan struct{}) {
		f.Start(stop)
		ef.Start(stop)
		mf.Start(stop)
	}
	return l, nil
}

// Changed signals that a watched object changed.
func (l *Live) Changed() <-chan struct{} { return l.changed }

func (l *Live) kick() {
	l.setAPIStatus("")
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *Live) setAPIStatus(s string) {
	l.mu.Lock()
	l.apiStatus = s
	l.mu.Unlock()
}

// Start runs the informers and waits for their first lists.
func (l *Live) Start(ctx context.Context) error {
	l.startFactories(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), l.hpas.HasSynced, l.events.HasSynced, l.podsSynced) {
		l.mu.Lock()
		st := l.apiStatus
		l.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return l.env.Unreachable(errors.New(st))
	}
	return nil
}

// Status is the line that tells what is failing, "" when all is well.
func (l *Live) Status() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, s := range []string{l.apiStatus, l.pollErr} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// Rows is the current view, sorted by namespace, HPA and metric.
func (l *Live) Rows() []Row {
	var rows []Row
	for _, obj := range l.hpas.GetStore().List() {
		h := obj.(*autoscalingv2.HorizontalPodAutoscaler)
		if !l.wanted(h) {
			continue
		}
		last, lastTime := l.lastScale(h)
		for _, r := range RowsFor(h) {
			r.LastScale, r.LastScaleTime = last, lastTime
			l.mu.Lock()
			v := l.values[r.Key()]
			r.API, r.Prometheus = v.api, v.prom
			if r.Problem == "" { // a problem of the spec itself comes first
				r.Problem = v.problem
			}
			r.History = append([]float64(nil), l.history[r.Key()]...)
			l.mu.Unlock()
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Key() < rows[j].Key() })
	return rows
}

func (l *Live) wanted(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	if len(l.o.HPANames) == 0 {
		return true
	}
	for _, n := range l.o.HPANames {
		if n == h.Name {
			return true
		}
	}
	return false
}

func (l *Live) lastScale(h *autoscalingv2.HorizontalPodAutoscaler) (string, *time.Time) {
	var best *corev1.Event
	var bestT time.Time
	evs, _ := l.events.GetIndexer().ByIndex(byHPA, h.Namespace+"/"+h.Name)
	for _, obj := range evs {
		e := obj.(*corev1.Event)
		if e.InvolvedObject.UID != "" && e.InvolvedObject.UID != h.UID {
			// Events of an earlier HPA of the same name are not this one's.
			continue
		}
		t := kube.EventTime(e)
		if best == nil || t.After(bestT) {
			best, bestT = e, t
		}
	}
	if best == nil {
		return "", nil
	}
	return best.Message, &bestT
}

// Poll fetches every row's values: each row's metrics API request is the
// HPA controller's (pod selector and metric selector included), and its
// Prometheus query the one the adapter renders for that request; rows that
// make the same request share it.
func (l *Live) Poll(ctx context.Context) error {
	rows := l.Rows()
	l.ensurePrometheus(ctx)
	fetches := map[string]*fetched{} // by request path
	var tally pollTally
	values := map[string]rowValues{}
	for _, r := range rows {
		values[r.Key()] = l.pollRow(ctx, r, fetches, &tally)
	}
	return l.store(values, &tally)
}

// fetched is one metrics API request's values and its Prometheus query's,
// shared by the rows that make that request.
type fetched struct {
	api, prom       map[string]float64
	apiErr, promErr error
}

// pollTally counts a poll's requests by source and outcome, and keeps
// their errors.
type pollTally struct {
	apiFailed, apiOK, promFailed, promOK int
	errs                                 []string
}

func (t *pollTally) add(f *fetched) {
	if f.apiErr != nil {
		t.apiFailed++
		t.errs = append(t.errs, "metrics API: "+apierr.Message(f.apiErr))
	} else {
		t.apiOK++
	}
	if f.promErr != nil {
		t.promFailed++
		t.errs = append(t.errs, "Prometheus: "+f.promErr.Error())
	} else {
		t.promOK++
	}
}

// pollRow is one row's values, its request fetched once per poll.
func (l *Live) pollRow(ctx context.Context, r Row, fetches map[string]*fetched, tally *pollTally) rowValues {
	if !l.polled(r) {
		return rowValues{problem: "shown by the HPA only (not a custom or external metric)"}
	}
	req, names, err := l.request(ctx, r)
	if err != nil {
		return rowValues{problem: err.Error()}
	}
	objects := req.Objects(names) // the objects the values are about
	f, done := fetches[req.Path()]
	if !done {
		f = &fetched{}
		f.api, f.apiErr = l.fetchAPI(req)
		f.prom, f.promErr = l.fetchPrometheus(ctx, req, objects)
		fetches[req.Path()] = f
		tally.add(f)
	}
	keys := objects
	if req.Type == autoscalingv2.ExternalMetricSourceType {
		keys = []string{""}
	}
	return f.rowValues(keys, r.Type)
}

// rowValues are a row's values from its request's, for the objects keys.
func (f *fetched) rowValues(keys []string, typ string) rowValues {
	var v rowValues
	if f.apiErr != nil {
		v.problem = "metrics API: " + apierr.Message(f.apiErr)
	} else if x, ok := combine(f.api, keys, typ); ok {
		v.api = quantity.Format(x)
	} else {
		v.problem = "the metrics API returns no value for the target"
	}
	if f.promErr != nil {
		if v.problem == "" {
			v.problem = "Prometheus: " + f.promErr.Error()
		}
	} else if x, ok := combine(f.prom, keys, typ); ok {
		v.prom = quantity.Format(x)
	}
	return v
}

// store keeps a poll's values and each row's history. A metric that is
// merely missing for one row is the row's problem; only a source that
// failed every request is an error, retried sooner.
func (l *Live) store(values map[string]rowValues, tally *pollTally) error {
	sort.Strings(tally.errs)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.values = values
	for k, v := range values {
		if f, err := strconv.ParseFloat(v.api, 64); err == nil {
			h := append(l.history[k], f)
			if len(h) > l.o.History {
				h = h[len(h)-l.o.History:]
			}
			l.history[k] = h
		}
	}
	l.pollErr = ""
	if len(tally.errs) == 0 {
		return nil
	}
	l.pollErr = dedupJoin(tally.errs)
	if (tally.apiFailed > 0 && tally.apiOK == 0) || (tally.promFailed > 0 && tally.promOK == 0) {
		return errors.New(l.pollErr)
	}
	return nil
}

func dedupJoin(ss []string) string {
	var out []string
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	if len(out) > 3 {
		out = append(out[:3], fmt.Sprintf("and %d more", len(out)-3))
	}
	return strings.Join(out, "; ")
}

// polled says whether the row's value comes from the custom or external
// metrics API (Resource metrics are metrics-server's).
func (l *Live) polled(r Row) bool {
	switch r.spec.Type {
	case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
		return true
	}
	return false
}

// request is the HPA controller's request for the row's metric, and for a
// Pods metric the pods its scale target's selector matches.
func (l *Live) request(ctx context.Context, r Row) (hpareq.Request, []string, error) {
	h := l.hpa(r)
	if h == nil {
		return hpareq.Request{}, nil, fmt.Errorf("HPA %s/%s is gone", r.Namespace, r.HPA)
	}
	var sel labels.Selector
	var names []string
	if r.spec.Type == autoscalingv2.PodsMetricSourceType {
		var err error
		if sel, err = l.selector(ctx, r); err != nil {
			return hpareq.Request{}, nil, err
		}
		if names, err = l.podsMatching(r.Namespace, sel); err != nil {
			return hpareq.Request{}, nil, err
		}
	}
	req, err := hpareq.For(h, r.spec, sel, l.env.Mapper)
	if err != nil {
		return req, nil, err
	}
	return req, names, nil
}

func (l *Live) hpa(r Row) *autoscalingv2.HorizontalPodAutoscaler {
	obj, ok, err := l.hpas.GetStore().GetByKey(r.Namespace + "/" + r.HPA)
	if err != nil || !ok {
		return nil
	}
	return obj.(*autoscalingv2.HorizontalPodAutoscaler)
}

// fetchAPI sends the controller's request and returns the values by object
// name ("" for an external metric: the sum of its values).
func (l *Live) fetchAPI(req hpareq.Request) (map[string]float64, error) {
	out := map[string]float64{}
	if req.Type == autoscalingv2.ExternalMetricSourceType {
		list, err := req.External(l.env.External)
		if err != nil {
			return nil, err
		}
		sum := 0.0
		for _, it := range list.Items {
			sum += it.Value.AsApproximateFloat64()
		}
		if len(list.Items) > 0 {
			out[""] = sum
		}
		return out, nil
	}
	list, err := req.Custom(l.env.Custom)
	if err != nil {
		return nil, err
	}
	for _, it := range list.Items {
		out[it.DescribedObject.Name] = it.Value.AsApproximateFloat64()
	}
	return out, nil
}

// podsMatching names the pods of the namespace the selector matches, from
// the pod informer, as the adapter lists them for the request.
func (l *Live) podsMatching(ns string, sel labels.Selector) ([]string, error) {
	objs, err := l.pods.ByNamespace(ns).List(sel)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, o := range objs {
		if m, err := apimeta.Accessor(o); err == nil && m.GetDeletionTimestamp() == nil {
			names = append(names, m.GetName())
		}
	}
	sort.Strings(names)
	return names, nil
}

// selector is the scale target's pod selector, read from its scale
// subresource (as the HPA controller does) once per HPA generation.
func (l *Live) selector(ctx context.Context, r Row) (labels.Selector, error) {
	h := l.hpa(r)
	if h == nil {
		return nil, fmt.Errorf("HPA %s/%s is gone", r.Namespace, r.HPA)
	}
	key := h.Namespace + "/" + h.Name
	l.mu.Lock()
	e, ok := l.selectors[key]
	l.mu.Unlock()
	if ok && e.generation == h.Generation && e.err == nil {
		return e.selector, nil
	}
	e = selectorEntry{generation: h.Generation}
	if e.selector, e.err = kube.ScaleSelector(ctx, l.env.Scales, l.env.Mapper, h.Namespace, h.Spec.ScaleTargetRef); e.err != nil {
		e.err = fmt.Errorf("scale target %s: %s", r.ScaleTarget, apierr.Message(e.err))
	}
	l.mu.Lock()
	l.selectors[key] = e
	l.mu.Unlock()
	return e.selector, e.err
}

// combine reduces per-object values to the row's value: the average over
// the target's pods (as the HPA does for a Pods metric), else the object's.
func combine(vals map[string]float64, names []string, typ string) (float64, bool) {
	sum, n := 0.0, 0
	for _, name := range names {
		if v, ok := vals[name]; ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	if typ == string(autoscalingv2.PodsMetricSourceType) {
		return sum / float64(n), true
	}
	return sum, true
}

// promState is the adapter's discovery, used to render each metric's
// query as the adapter would.
type promState struct {
	conn    *prometheus.Connection
	disc    *simulate.Discovery
	adapter *adapter.Adapter
	at      time.Time
	err     error
	// missing holds the metrics rows asked for that the discovery does not
	// serve; knownMissing those that were missing before it ran.
	missing, knownMissing map[string]bool
}

func (ps *promState) newlyMissing() bool {
	for m := range ps.missing {
		if !ps.knownMissing[m] {
			return true
		}
	}
	return false
}

func (ps *promState) allMissing() map[string]bool {
	out := map[string]bool{}
	for m := range ps.knownMissing {
		out[m] = true
	}
	for m := range ps.missing {
		out[m] = true
	}
	return out
}

// ensurePrometheus (re)runs the adapter's discovery at most once per
// relist interval.
func (l *Live) ensurePrometheus(ctx context.Context) {
	l.mu.Lock()
	ps := l.prom
	var newly bool
	var knownMissing map[string]bool
	if ps != nil {
		newly, knownMissing = ps.newlyMissing(), ps.allMissing()
	}
	l.mu.Unlock()
	every := time.Minute
	if ps != nil && ps.adapter != nil {
		every = max(ps.adapter.RelistInterval, 10*time.Second)
	}
	// A metric the last discovery did not know (a rule added since) brings
	// the next one sooner, once: a metric that stays missing waits for the
	// relist interval.
	early := newly && time.Since(ps.at) >= 5*time.Second
	if ps != nil && ps.err == nil && time.Since(ps.at) < every && !early {
		return
	}
	co := l.o.Chain
	if ps != nil && ps.adapter != nil && co.AdapterName == "" {
		// Found once: read that Deployment again rather than look for it
		// each relist interval.
		co.AdapterNamespace, co.AdapterName = ps.adapter.Namespace, ps.adapter.Name
	}
	ch := chain.Load(ctx, &l.env, co, chain.StageDiscovery, time.Now())
	ps = &promState{at: time.Now(), knownMissing: knownMissing, adapter: ch.Adapter, conn: ch.Prometheus, disc: ch.Discovery}
	if err := ch.Err(chain.StagePrometheus); err != nil {
		// The status line has one line: what failed, not the advice.
		first, _, _ := strings.Cut(err.Error(), "\n")
		ps.err = errors.New(first)
	}
	l.mu.Lock()
	l.prom = ps
	l.mu.Unlock()
}

// fetchPrometheus runs the query the adapter renders for the request (the
// rule's metricsQuery for the request's objects, with the metric
// selector's matchers) and returns the values by object ("" for an
// external metric).
func (l *Live) fetchPrometheus(ctx context.Context, req hpareq.Request, objects []string) (map[string]float64, error) {
	l.mu.Lock()
	ps := l.prom
	l.mu.Unlock()
	if ps == nil || ps.err != nil {
		if ps != nil {
			return nil, ps.err
		}
		return nil, errors.New("not reached yet")
	}
	out := map[string]float64{}
	m := ps.disc.Served(req.Resource, req.Metric)
	if m == nil {
		missing := req.Resource.String() + "/" + req.Metric
		if req.Type == autoscalingv2.ExternalMetricSourceType {
			missing = "external/" + req.Metric
		}
		l.markMissing(ps, missing)
		return out, nil
	}
	if req.Type != autoscalingv2.ExternalMetricSourceType && len(objects) == 0 {
		return out, nil // the adapter makes no query without objects
	}
	q, err := req.Query(m, objects)
	if err != nil {
		return nil, err
	}
	result, err := ps.conn.Query(ctx, string(q))
	if err != nil {
		return nil, err
	}
	if req.Type == autoscalingv2.ExternalMetricSourceType {
		sum, n := 0.0, 0
		for _, s := range prometheus.Vector(result) {
			sum += float64(s.Value)
			n++
		}
		if n > 0 {
			out[""] = sum
		}
		return out, nil
	}
	label, err := m.Rule.Namer.LabelForResource(req.Resource)
	if err != nil {
		return nil, err
	}
	for _, s := range prometheus.Vector(result) {
		out[string(s.Metric[label])] = float64(s.Value)
	}
	return out, nil
}

func (l *Live) markMissing(ps *promState, metric string) {
	l.mu.Lock()
	if ps.missing == nil {
		ps.missing = map[string]bool{}
	}
	ps.missing[metric] = true
	l.mu.Unlock()
}
