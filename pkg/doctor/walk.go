package doctor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/grant"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/hpastatus"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/metricspec"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/quantity"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/similar"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// MetricsAPI is the view of the custom metrics API the walk needs.
type MetricsAPI interface {
	// Available reports whether the API answers, and why not.
	Available() (bool, string)
	// Listed reports whether discovery lists resource/metric; a resource
	// of an API group comes with it (deployments.apps), as the adapter lists it.
	Listed(resource, metric string) bool
	// ListedNames returns the metric names listed for resource.
	ListedNames(resource string) []string
	// Count is how many resource/metric pairs discovery lists.
	Count() int
	// Values sends the HPA controller's request (one request per distinct
	// request, whichever HPAs make it).
	Values(ctx context.Context, req hpareq.Request) (*cmv1beta2.MetricValueList, error)
}

// Prometheus is the view of Prometheus the walk needs.
type Prometheus interface {
	OK() bool
	// SeriesNamed lists the series called name since a time.
	SeriesNamed(ctx context.Context, name string, since time.Time) ([]prom.Series, error)
	// SeriesBetween lists the series of a name with a sample between start
	// and end, uncached.
	SeriesBetween(ctx context.Context, name string, start, end time.Time) ([]prom.Series, error)
	Query(ctx context.Context, q string) (prom.QueryResult, error)
	MetricNames(ctx context.Context) ([]string, error)
	// Targets lists the active scrape targets.
	Targets(ctx context.Context) ([]prometheus.Target, error)
}

// walker holds what every metric walk shares.
type walker struct {
	api  MetricsAPI
	ext  ExternalAPI     // nil: external metrics are only inventoried
	res  ResourceMetrics // nil: Resource metrics are only inventoried
	prom Prometheus
	disc *simulate.Discovery // nil when the config or Prometheus is broken
	// mapper names the resource of an Object metric's described object.
	mapper     apimeta.RESTMapper
	maxAge     time.Duration
	now        time.Time
	adapterRef string // "namespace/name" of the adapter Deployment
	// seriesWindow is how far back doctor looks for series the adapter's
	// own window (maxAge) no longer sees.
	seriesWindow time.Duration
	// seriesCounts caches seriesPerObject by series name and label: every
	// HPA reading the metric asks for the same counts.
	seriesCounts map[string]map[string]int
	// targets looks up the objects series name (nil: not looked up).
	targets Targets
	// inputs reads what the controller reads, for its decision (nil: the
	// decision is left out).
	inputs Inputs
	// configLoaded: the adapter's Ready pods all started after its
	// ConfigMap's last change (configChanged); relist is its interval.
	configLoaded  bool
	configChanged time.Time
	relist        time.Duration
	// adapterSA may not list the resources in adapterDenied: a rule fix
	// that maps one grants it too.
	adapterSA     grant.ServiceAccount
	adapterDenied map[schema.GroupResource]bool
	// keda reads ScaledObjects and runs their triggers' queries (nil: not
	// asked); extBackend is who serves the external metrics APIService
	// (apiservice.KEDA, apiservice.Adapter or Unknown), extService its Service.
	keda       KEDA
	extBackend apiservice.Backend
	extService string
	// adapterService is the adapter's Service (the custom metrics
	// APIService's).
	adapterService string
	// ambiguous names, by namespace/name of an HPA, every HPA on its scale
	// target when there is more than one.
	ambiguous map[string][]string
	// used holds each series name an HPA metric is served from, for the
	// discovery window check.
	used map[string]bool
	// controllerView: a metric the controller failed to read on its last
	// sync is judged from its answer then, not asked again (-A).
	controllerView bool
}

// noteUsed records a series of the rule that serves an HPA's metric.
func (w *walker) noteUsed(ctx context.Context, hm *hpaMetric) {
	if w.disc == nil {
		return
	}
	metric := hm.name
	m := w.disc.Served(hm.req.Resource, metric)
	if m == nil {
		// The simulated relist did not list it now, although the API may
		// (a window shorter than the samples' interval does just that):
		// the series of the metric's own name, if any, over the longer
		// window.
		if _, ok := w.used[metric]; !ok && w.prom.OK() {
			if all, err := w.prom.SeriesNamed(ctx, metric, w.now.Add(-w.seriesWindow)); err == nil {
				w.noteSeries(all)
			}
		}
		return
	}
	if _, ok := w.used[m.SeriesName]; ok {
		return
	}
	_, kept := m.Rule.SeriesNamed(m.SeriesName)
	w.noteSeries(kept)
}

// noteSeries records the name of series (all of one name) for the window
// check.
func (w *walker) noteSeries(series []prom.Series) {
	if len(series) == 0 {
		return
	}
	if w.used == nil {
		w.used = map[string]bool{}
	}
	w.used[series[0].Name] = true
}

// selectingRule is the first custom rule whose seriesQuery selects one of
// series.
func selectingRule(rs []*simulate.Rule, series []prom.Series) *simulate.Rule {
	for _, r := range rs {
		if r.External || r.BuildError != nil {
			continue
		}
		for _, s := range series {
			lbls := make(map[string]string, len(s.Labels))
			for k, v := range s.Labels {
				lbls[string(k)] = string(v)
			}
			if rules.Selects(r.Rule.SeriesQuery, s.Name, lbls) {
				return r
			}
		}
	}
	return nil
}

// exists reports whether an object of a resource exists.
func (w *walker) exists(ctx context.Context, gr schema.GroupResource, ns, name string) (bool, error) {
	if w.targets == nil {
		return false, errors.New("objects are not looked up")
	}
	return w.targets.Exists(ctx, gr, ns, name)
}

// target is the HPA's scale target as the walk needs it.
type target struct {
	pods []corev1.Pod // Ready pods of the scale target
	// running names all its Running pods: the adapter queries every pod
	// the selector matches, Ready or not (nil: the Ready ones).
	running []string
	// selector is its pod selector (the scale subresource's
	// status.selector); selectorErr says why it is unknown.
	selector    labels.Selector
	selectorErr error
}

// hpaMetric is one metric of an HPA as the walk carries it from link to
// link: whose it is, what it is, the HPA controller's request for it and
// the objects it reads.
type hpaMetric struct {
	hpa  *autoscalingv2.HorizontalPodAutoscaler
	spec autoscalingv2.MetricSpec
	// obj names the HPA in findings ("HorizontalPodAutoscaler ns/name").
	obj string
	// name is the metric's name as the HPA spells it (req.Metric once the
	// request is built).
	name string
	// req is the controller's request: its Resource (pods, or the
	// described object's; empty for an External metric) and Namespace are
	// the metric's.
	req hpareq.Request
	// names are the objects whose values the HPA reads: the scale target's
	// Ready pods, or the described object.
	names []string
	// queried are the objects the adapter's query is about: for a Pods
	// metric every Running pod of the scale target, else names.
	queried []string
	// reads says in words what the HPA reads.
	reads string
}

// newHPAMetric is spec, a metric of hpa, before its request is built.
func newHPAMetric(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) hpaMetric {
	return hpaMetric{hpa: hpa, spec: spec, obj: hpaObject(hpa), name: metricHeader(spec).Name}
}

// metricHeader is the report of a Pods, Object or External metric before
// the walk: its type, name, target and, for an Object metric, the
// described object.
func metricHeader(spec autoscalingv2.MetricSpec) MetricReport {
	mr := MetricReport{Type: string(spec.Type)}
	switch spec.Type {
	case autoscalingv2.PodsMetricSourceType:
		mr.Name, mr.Target = spec.Pods.Metric.Name, targetString(spec.Pods.Target)
	case autoscalingv2.ObjectMetricSourceType:
		mr.Name, mr.Target = spec.Object.Metric.Name, targetString(spec.Object.Target)
		mr.Object = spec.Object.DescribedObject.Kind + "/" + spec.Object.DescribedObject.Name
	case autoscalingv2.ExternalMetricSourceType:
		mr.Name, mr.Target = spec.External.Metric.Name, targetString(spec.External.Target)
	}
	return mr
}

func chain(prom, rule, api, hpa LinkStatus) []Link {
	return []Link{{LinkPrometheus, prom}, {LinkRule, rule}, {LinkAPI, api}, {LinkHPA, hpa}}
}

// walkMetric diagnoses one custom (Pods or Object) metric of an HPA: it
// sends the HPA controller's own request (metric selector and pod selector
// included), stops at the first broken link and names its cause. The metric
// is healthy only when that request returned values.
func (w *walker) walkMetric(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, t target) MetricReport {
	mr := metricHeader(spec)
	if spec.Type != autoscalingv2.PodsMetricSourceType && spec.Type != autoscalingv2.ObjectMetricSourceType {
		return mr
	}
	m, ok := w.customMetric(hpa, spec, t, &mr)
	if !ok {
		return mr
	}
	link := hpaLink(hpa)
	w.noteUsed(ctx, &m)

	if ok, why := w.api.Available(); !ok {
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeMetricAPIUnavailable, m.obj, m.name, "custom", why))
		return mr
	}

	// The controller computed replicas from this very metric on its last
	// sync (ScalingActive=True, the value in status.currentMetrics): its own
	// request answered, and repeating it would cost a request per HPA.
	if cur, ok := readByController(hpa, spec); ok && link == LinkOK && w.api.Listed(m.req.Resource.String(), m.name) {
		mr.Chain = chain(LinkOK, LinkOK, LinkOK, LinkOK)
		mr.Findings = append(mr.Findings, w.seriesChecks(ctx, &m)...)
		if strings.HasSuffix(cur, "m") {
			mr.Findings = append(mr.Findings, newFinding(CodeMilliQuantity, m.obj, m.name, cur, decodeString(cur)))
		}
		mr.Current = decodeString(cur)
		mr.Healthy = !hasErrors(mr.Findings)
		return mr
	}
	if w.api.Listed(m.req.Resource.String(), m.name) {
		return w.walkListed(ctx, &m, link, mr)
	}
	return w.walkUnlisted(ctx, &m, mr)
}

// customMetric is a Pods or Object metric of hpa with the HPA
// controller's request for it. ok is false when the walk stops before the
// request: mr's chain and findings say why (hpareq's own errors are
// those causes, already reported).
func (w *walker) customMetric(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, t target, mr *MetricReport) (m hpaMetric, ok bool) {
	m = newHPAMetric(hpa, spec)
	stop := func(f Finding) (hpaMetric, bool) {
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken)
		mr.Findings = append(mr.Findings, f)
		return m, false
	}
	var sel *metav1.LabelSelector
	switch spec.Type {
	case autoscalingv2.PodsMetricSourceType:
		sel = spec.Pods.Metric.Selector
	case autoscalingv2.ObjectMetricSourceType:
		ref := spec.Object.DescribedObject
		if _, err := kube.ResourceFor(w.mapper, ref.APIVersion, ref.Kind); err != nil {
			return stop(describedObjectMissing(hpa, spec))
		}
		sel = spec.Object.Metric.Selector
	}
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return stop(newFinding(CodeInvalidSelector, m.obj, spec.Type, m.name, err))
	}
	if spec.Type == autoscalingv2.PodsMetricSourceType && t.selector == nil {
		why := "unknown"
		if t.selectorErr != nil {
			why = t.selectorErr.Error()
		}
		ref := hpa.Spec.ScaleTargetRef
		return stop(newFinding(CodeNoPodSelector, m.obj, m.name, ref.Kind, ref.Name, why))
	}
	req, err := hpareq.For(hpa, spec, t.selector, w.mapper)
	if err != nil {
		return m, false
	}
	m.req = req
	if spec.Type == autoscalingv2.ObjectMetricSourceType {
		m.names, m.queried = []string{req.Name}, []string{req.Name}
		m.reads = spec.Object.DescribedObject.Kind + "/" + spec.Object.DescribedObject.Name
		return m, true
	}
	for _, p := range t.pods {
		m.names = append(m.names, p.Name)
	}
	m.queried = m.names
	if t.running != nil {
		m.queried = t.running
	}
	m.reads = "the pods of " + hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name
	return m, true
}

// walkListed sends the request of a metric the API lists: healthy when it
// returns values for the objects the HPA reads, else why not.
func (w *walker) walkListed(ctx context.Context, m *hpaMetric, link LinkStatus, mr MetricReport) MetricReport {
	var list *cmv1beta2.MetricValueList
	var err error
	if answer, failed := failedByController(m.hpa, m.spec); failed && w.controllerView {
		// Without the decision (-A), the controller's own failed reading
		// stands for the request, as its value does for a healthy metric:
		// asking again would wait on the adapter's API client (seconds,
		// when busy) for what the controller was told at its last sync.
		err = fmt.Errorf("%s (the HPA controller's answer at its last sync)", answer)
	} else {
		list, err = w.api.Values(ctx, m.req)
	}
	var items []cmv1beta2.MetricValue
	if err == nil {
		items = itemsFor(list, m.names)
	}
	if len(items) > 0 {
		mr.Request = m.req.Path()
		mr.Current = currentValue(m.spec.Type, items)
		mr.Findings = append(mr.Findings, w.valueChecks(m, items)...)
		mr.Chain = chain(LinkOK, LinkOK, LinkOK, link)
		mr.Healthy = link == LinkOK && !hasErrors(mr.Findings)
		return mr
	}
	// Listed, but nothing for the target's objects: find out why from the query.
	mr.Chain = chain(LinkOK, LinkOK, LinkBroken, LinkBroken)
	mr.Findings = append(mr.Findings, w.noValues(ctx, m, list, err)...)
	return mr
}

// walkUnlisted explains a metric the API does not list: the current
// config would serve it (the adapter has not loaded it, or not relisted
// since), or why it would not.
func (w *walker) walkUnlisted(ctx context.Context, m *hpaMetric, mr MetricReport) MetricReport {
	if w.disc != nil {
		if s := w.disc.Served(m.req.Resource, m.name); s != nil {
			mr.Chain = chain(LinkOK, LinkOK, LinkBroken, LinkBroken)
			mr.Findings = append(mr.Findings, w.notLoaded(m, s))
			return mr
		}
	}
	mr.Chain = chain(LinkUnknown, LinkBroken, LinkBroken, LinkBroken)
	mr.Findings = append(mr.Findings, w.notServed(ctx, m, &mr)...)
	return mr
}

// notLoaded is the finding for a metric the current config serves (as s)
// and the API does not list: the adapter has yet to relist, or to load
// its config.
func (w *walker) notLoaded(m *hpaMetric, s *simulate.Metric) Finding {
	if w.configLoaded {
		// Restarting would not load anything new: the relist did not see
		// the series (they came after it, or were older than its window
		// then).
		_, kept := s.Rule.SeriesNamed(s.SeriesName)
		w.noteSeries(kept)
		return newFinding(CodeNotListedYet, m.obj, w.configChanged.UTC().Format(time.RFC3339), m.name, m.req.Resource.Resource, s.Rule.Label(), s.SeriesName).
			withFix(Fix{Description: fmt.Sprintf("wait one relist (--metrics-relist-interval %s); if the metric stays unlisted or comes and goes, its series are older than the adapter's window (%s) at its relists: see MS216, or raise --metrics-max-age", w.relist, w.maxAge)})
	}
	return newFinding(CodeConfigNotLoaded, m.obj, m.name, m.req.Resource.Resource, s.Rule.Label(), s.SeriesName).
		withFix(w.restartAdapterFix())
}

// restartAdapterFix restarts the adapter so it loads its config.
func (w *walker) restartAdapterFix() Fix {
	return Fix{Description: "restart the adapter so it reads its ConfigMap again (it reads it only at start-up), then wait one relist interval",
		Command: fmt.Sprintf("kubectl rollout restart deployment/%s -n %s", refName(w.adapterRef), refNamespace(w.adapterRef))}
}

// hpaLink is the HPA link from the controller's own conditions.
func hpaLink(hpa *autoscalingv2.HorizontalPodAutoscaler) LinkStatus {
	for _, c := range hpa.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason != "ScalingDisabled" {
			return LinkBroken
		}
	}
	return LinkOK
}

// notServed explains why the API does not list the metric for its
// resource, and sets mr's Prometheus link (and its whole chain when the
// cause is the HPA's).
func (w *walker) notServed(ctx context.Context, m *hpaMetric, mr *MetricReport) []Finding {
	gr := m.req.Resource
	listed := w.api.ListedNames(gr.String())
	apiMissing := newFinding(CodeNotServed, m.obj, "custom", m.name, gr.Resource, similarNote(similar.Nearest(m.name, listed, 3)))
	if !w.prom.OK() || w.disc == nil {
		mr.Chain[0].Status = LinkUnknown
		return []Finding{apiMissing.withEvidence(cannotLookFurther)}
	}

	// Does a rule rename a series of this name (http_requests_total → http_requests)?
	for _, s := range w.disc.Metrics {
		if s.SeriesName == m.name && s.Resource == gr && s.Name != m.name {
			mr.Chain = chain(LinkOK, LinkOK, LinkOK, LinkBroken)
			return []Finding{newFinding(CodeSeriesNameInHPA, m.obj, m.name, s.Rule.Label(), s.Name).
				withFix(Fix{Description: fmt.Sprintf("name the API metric in the HPA: spec.metrics[].%s.metric.name: %s", strings.ToLower(mr.Type), s.Name)})}
		}
	}

	all, err := w.prom.SeriesNamed(ctx, m.name, w.now.Add(-w.seriesWindow))
	if err != nil {
		mr.Chain[0].Status = LinkUnknown
		return []Finding{apiMissing.withEvidence("listing series of " + m.name + ": " + err.Error())}
	}
	if len(all) == 0 {
		mr.Chain = chain(LinkBroken, LinkUnknown, LinkBroken, LinkBroken)
		return w.noSeries(ctx, m, listed)
	}
	mr.Chain[0].Status = LinkOK
	var out []Finding
	if exported := exportedLabels(all); len(exported) > 0 {
		out = append(out, exportedFinding(m.obj, m.name, exported, all))
	}
	out = append(out, w.ruleFindings(ctx, m, all)...)
	if len(out) == 0 {
		out = append(out, apiMissing)
	}
	return out
}

// noSeries is CodeNoSeries for a metric Prometheus has no series of, with the
// metrics of similar names it has and the API serves.
func (w *walker) noSeries(ctx context.Context, m *hpaMetric, listed []string) []Finding {
	f := newFinding(CodeNoSeries, m.obj, m.name, w.seriesWindow)
	var look []prom.Series
	if near := w.similarInPrometheus(ctx, m.name); len(near) > 0 {
		f = f.withEvidence("Prometheus has similar metrics: " + strings.Join(near, ", "))
		look, _ = w.prom.SeriesNamed(ctx, near[0], w.now.Add(-w.seriesWindow))
	}
	if near := similar.Nearest(m.name, listed, 3); len(near) > 0 {
		f = f.withFix(Fix{Description: fmt.Sprintf("if the HPA means the served metric %q, name it in spec.metrics", near[0])})
	}
	out := []Finding{f}
	// A rule that would compute the metric from the similar series has to
	// map their labels: say so when those moved to exported_*.
	if exported := exportedLabels(look); len(exported) > 0 {
		out = append(out, exportedFinding(m.obj, look[0].Name, exported, look))
	}
	return out
}

// similarInPrometheus are the metric names of Prometheus nearest to
// metric (none when it cannot list them).
func (w *walker) similarInPrometheus(ctx context.Context, metric string) []string {
	names, err := w.prom.MetricNames(ctx)
	if err != nil {
		return nil
	}
	return similar.Nearest(metric, names, 3)
}

// ruleFindings judges the rules against all, the series of the metric's
// name: none selects them, or each that does misses the metric.
func (w *walker) ruleFindings(ctx context.Context, m *hpaMetric, all []prom.Series) []Finding {
	var selecting []*simulate.Rule
	for _, r := range w.disc.Rules {
		if sel, _ := r.SeriesNamed(m.name); len(sel) > 0 && !r.External {
			selecting = append(selecting, r)
		}
	}
	if len(selecting) == 0 {
		return []Finding{w.noSelectingRule(ctx, m, all)}
	}
	var out []Finding
	var dropping []*simulate.Rule
	for _, r := range selecting {
		if _, kept := r.SeriesNamed(m.name); len(kept) == 0 {
			dropping = append(dropping, r)
			continue
		}
		if f, ok := w.ruleMisses(m, r); ok {
			out = append(out, f)
		}
	}
	if len(dropping) == len(selecting) {
		// Their filters are the only reason: each is a finding.
		for _, r := range dropping {
			out = append(out, newFinding(CodeRuleFiltersSeries, m.obj, r.Label(), m.name).
				withEvidence(filterEvidence(r)...))
		}
		return out
	}
	// A rule that keeps the series says why the metric is missing; broad
	// rules whose filters drop them (the chart's counter rules for a gauge)
	// are doing what they are meant to: one cause, one finding, and they
	// are a note under it.
	if len(out) > 0 {
		out[0] = out[0].withEvidence(droppingNote(dropping)...)
	}
	return out
}

// droppingNote is the evidence line for each rule that selects the series
// and drops them by its filters, beside a rule that keeps them.
func droppingNote(rs []*simulate.Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("not a cause: %s selects them too, and its filters (%s) drop them, as a rule meant for other metrics does",
			r.Label(), strings.Join(filterEvidence(r), ", ")))
	}
	return out
}

// noSelectingRule explains series of the metric's name that no rule's
// relist kept: too old for the adapter's window, or no rule selects them.
func (w *walker) noSelectingRule(ctx context.Context, m *hpaMetric, all []prom.Series) Finding {
	inWindow, err := w.prom.SeriesNamed(ctx, m.name, w.disc.Since)
	// A window shorter than the samples' interval says why the relist
	// saw none of them (or saw them only now).
	w.noteSeries(all)
	tooOld := newFinding(CodeSeriesTooOld, m.obj, m.name, w.maxAge).
		withEvidence(labelSummary(all, 3)...).
		withFix(Fix{Description: "push or scrape the metric more often than the window, or raise --metrics-max-age on the adapter Deployment"})
	if err == nil && len(inWindow) == 0 {
		return tooOld
	}
	// A sample came in after the simulated relist: if a rule selects
	// the series, the relist missed them only because they were older
	// than its window then. No rule is missing.
	if r := selectingRule(w.disc.Rules, inWindow); r != nil {
		return tooOld.withEvidence(fmt.Sprintf("%s selects them, but the simulated relist a moment before saw none in its window of %s", r.Label(), w.maxAge))
	}
	f := newFinding(CodeNoRule, m.obj, len(all), m.name, "rule's seriesQuery").
		withEvidence(labelSummary(all, 3)...)
	return w.withRuleFix(f, m, all)
}

// ruleMisses says how r, a rule that selects and keeps series of the
// metric's name, fails to serve it for the metric's resource (ok is false
// when it does not fail).
func (w *walker) ruleMisses(m *hpaMetric, r *simulate.Rule) (f Finding, ok bool) {
	_, kept := r.SeriesNamed(m.name)
	name, _ := r.Namer.MetricNameForSeries(kept[0])
	resources, _ := r.Namer.ResourcesForSeries(kept[0])
	switch gr := m.req.Resource; {
	case name != m.name:
		return newFinding(CodeSeriesNameInHPA, m.obj, m.name, r.Label(), name).
			withFix(Fix{Description: fmt.Sprintf("name the API metric in the HPA: metric.name: %s", name)}), true
	case len(resources) == 0:
		f := newFinding(CodeLabelsNotMapped, m.obj, r.Label(), m.name, overridesString(r)).
			withEvidence(labelSummary(kept, 3)...)
		return w.withRuleFix(f, m, kept), true
	case !containsResource(resources, gr):
		var rs []string
		for _, x := range resources {
			rs = append(rs, x.String())
		}
		f := newFinding(CodeOtherResource, m.obj, r.Label(), m.name, strings.Join(rs, ", "), gr.Resource).withEvidence(labelSummary(kept, 3)...)
		return w.withRuleFix(f, m, kept), true
	}
	return Finding{}, false
}

// withRuleFix proposes the rule that serves the metric from series (of
// the metric's own name) for its resource.
func (w *walker) withRuleFix(f Finding, m *hpaMetric, series []prom.Series) Finding {
	gr := m.req.Resource
	singular := kube.Singular(w.mapper, gr)
	req := rules.Request{SeriesName: m.name, Resource: gr.Resource, Singular: singular, As: m.name,
		ClusterScoped: kube.ClusterScoped(w.mapper, gr)}
	if p, note, ok := proposeRule(series, req, m.queried, m.req.Namespace); ok {
		return f.withFix(w.granting(gr, Fix{
			Description: fmt.Sprintf("add a rule that maps %s to the namespace and %s to %s%s (add-rule writes it into the adapter ConfigMap and restarts the adapter; or paste the YAML under rules: and restart it)",
				orNone(p.NamespaceLabel), p.ResourceLabel, gr.Resource, note),
			Command: p.Command,
			YAML:    rules.ListItem(p.YAML),
		}))
	}
	if r, ok := rules.ContainingLabel(series, m.queried, singular); ok {
		if p, _, ok := proposeRule(r.Apply(series), req, m.queried, m.req.Namespace); ok {
			return f.withFix(w.granting(gr, Fix{
				Description: fmt.Sprintf("the series hold the %s's name only inside %s: copy it into a label %s with this relabelling (under the scrape job's metric_relabel_configs), then, once new samples carry it, run the command",
					singular, r.Source, r.Target),
				Command: p.Command,
				YAML:    r.YAML(),
			}))
		}
	}
	return f.withFix(Fix{Description: fmt.Sprintf("no label of the series has a value that names the %s (%s; the series carry %s): export one, or relabel in Prometheus",
		singular, strings.Join(m.queried, ", "), strings.Join(rules.LabelNames(series), ", "))})
}

// granting is fix, a rule mapping gr, with the grant the adapter's
// ServiceAccount needs to list gr first, where it may not: without it the
// adapter fails every request of the new rule's metric.
func (w *walker) granting(gr schema.GroupResource, fix Fix) Fix {
	if !w.adapterDenied[gr] {
		return fix
	}
	g := grant.Grant{ServiceAccount: w.adapterSA, Resources: []schema.GroupResource{gr}}
	fix.Description += fmt.Sprintf("; the adapter's ServiceAccount %s may not list %s, so the first commands let it (add-rule --grant does the same)", w.adapterSA, gr)
	fix.Command = g.Commands() + "\n" + fix.Command
	return fix
}

// noValues explains a listed metric whose request returns nothing for the
// objects the HPA reads: list and apiErr are the request's answer.
func (w *walker) noValues(ctx context.Context, m *hpaMetric, list *cmv1beta2.MetricValueList, apiErr error) []Finding {
	f := noValueFinding(m, list, apiErr)
	if len(m.names) == 0 || w.disc == nil || !w.prom.OK() {
		return []Finding{f}
	}
	s := w.disc.Served(m.req.Resource, m.name)
	if s == nil {
		return []Finding{f}
	}
	if fs, ok := w.unlabelledSeries(ctx, m, s, f); ok {
		return fs
	}
	return w.queryFindings(ctx, m, s, f)
}

// noValueFinding is CodeNoValue with the request's answer as evidence.
func noValueFinding(m *hpaMetric, list *cmv1beta2.MetricValueList, apiErr error) Finding {
	objects := strings.Join(m.names, ", ")
	if len(m.names) == 0 {
		objects = "the scale target's pods (it has no Ready pods)"
	}
	f := newFinding(CodeNoValue, m.obj, m.name, m.req.Resource.Resource, objects, m.req.Namespace)
	if apiErr != nil {
		return f.withEvidence(m.req.String() + ": " + apierr.Message(apiErr))
	}
	if list == nil {
		return f
	}
	var got []string
	for _, it := range list.Items {
		got = append(got, it.DescribedObject.Name)
	}
	if len(got) == 0 {
		return f.withEvidence(fmt.Sprintf("%s returned no items", m.req))
	}
	return f.withEvidence(fmt.Sprintf("%s returned %d items: %s", m.req, len(list.Items), strings.Join(got, ", ")))
}

// unlabelledSeries finds the series of s, the metric served, lacking the
// labels its rule maps: no namespace label, or the exporter's labels moved
// to exported_*. ok is false when they carry them; f is CodeNoValue's finding.
func (w *walker) unlabelledSeries(ctx context.Context, m *hpaMetric, s *simulate.Metric, f Finding) ([]Finding, bool) {
	if series, err := w.prom.SeriesNamed(ctx, s.SeriesName, w.disc.Since); err == nil && len(series) > 0 && !hasNamespaceLabel(s.Rule, series[0]) {
		return []Finding{newFinding(CodeNoNamespaceLabel, m.obj, s.SeriesName, m.req.Namespace).
			withEvidence(labelSummary(series, 3)...).
			withFix(Fix{Description: "relabel the series with the namespace (e.g. a relabel_config), or serve it as an external metric (externalRules with resources.namespaced: false)"})}, true
	}
	series, err := w.prom.SeriesNamed(ctx, s.SeriesName, w.disc.Since)
	if err != nil {
		return nil, false
	}
	exported := exportedLabels(series)
	if len(exported) == 0 {
		return nil, false
	}
	ef := exportedFinding(m.obj, s.SeriesName, exported, series)
	if fixed, ok := exportedOverrides(s.Rule, exported); ok {
		ef.Fix = &Fix{Description: fmt.Sprintf("map the exported_* labels in %s's resources.overrides (or set honor_labels: true on the scrape job); the corrected rule:", s.Rule.Label()), YAML: fixed}
	}
	f.Evidence = append(f.Evidence, fmt.Sprintf("%s maps the exporter's own labels, so %s is served for the exporter's objects", s.Rule.Label(), m.name))
	return []Finding{ef, f}, true
}

// queryFindings runs the query the adapter runs for the request (the
// rule's metricsQuery for the request's objects, with the metric
// selector's matchers) and judges its answer; f is CodeNoValue's finding.
func (w *walker) queryFindings(ctx context.Context, m *hpaMetric, s *simulate.Metric, f Finding) []Finding {
	gr := m.req.Resource
	q, err := m.req.Query(s, m.req.Objects(m.queried))
	if err != nil {
		return []Finding{f.withEvidence("rendering " + s.Rule.Label() + "'s metricsQuery: " + err.Error())}
	}
	res, err := w.prom.Query(ctx, string(q))
	if err != nil {
		return []Finding{newFinding(CodeQueryFails, m.obj, s.Rule.Label(), err).
			withEvidence("query: " + string(q))}
	}
	label, _ := s.Rule.Namer.LabelForResource(gr)
	vec := forObjects(vectorOf(res), label, m.names)
	f = f.withEvidence("query: "+string(q), fmt.Sprintf("result: %d series", len(vec)))
	missing := 0
	for _, v := range vec {
		if _, ok := v.Metric[label]; !ok {
			missing++
		}
	}
	if missing > 0 {
		return []Finding{newFinding(CodeQueryDropsLabels, m.obj, s.Rule.Label(), label, gr.Resource).
			withEvidence("query: "+string(q), "metricsQuery: "+s.Rule.Rule.MetricsQuery, "result: "+vectorString(vec, 3)).
			withFix(Fix{Description: "keep the resource labels in the query, e.g. metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"})}
	}
	if len(vec) == 0 {
		if ef, ok := w.emptiedBy(ctx, m, s, string(q), label); ok {
			return []Finding{ef}
		}
	}
	return []Finding{w.seriesNaming(ctx, m, s, label, f)}
}

// seriesNaming adds to f, CodeNoValue's finding, which objects the series of s name: pods
// that are gone, objects in another namespace or of another workload tell
// where the data went; the series the metric selector drops, too.
func (w *walker) seriesNaming(ctx context.Context, m *hpaMetric, s *simulate.Metric, label pmodel.LabelName, f Finding) Finding {
	series, err := w.prom.SeriesNamed(ctx, s.SeriesName, w.disc.Since)
	if err != nil || len(series) == 0 {
		return f
	}
	if sel := m.req.MetricSelector; !sel.Empty() {
		matching := selected(series, sel)
		if len(matching) < len(series) {
			f = f.withEvidence(fmt.Sprintf("the HPA's metric selector %s matches %d of the %d series of %s", sel, len(matching), len(series), s.SeriesName))
		}
		if len(matching) == 0 {
			f.Fix = &Fix{Description: fmt.Sprintf("fix the metric's selector in the HPA (spec.metrics[].%s.metric.selector): no series of %s carries the labels it requires", strings.ToLower(string(m.req.Type)), s.SeriesName)}
			return f
		}
		series = matching
	}
	objs := classifySeries(ctx, w.exists, m, s, series, m.queried)
	objs.singular = kube.Singular(w.mapper, m.req.Resource)
	fix, more, ok := whereFix(ctx, w.prom, objs, m.names)
	// Where the data went comes first: the request and query follow.
	f.Evidence = append(append(objs.evidence(), more...), f.Evidence...)
	if ok {
		f.Fix = fix
		return f
	}
	f.Fix = &Fix{Description: fmt.Sprintf("make the %s of the scale target export %s (labelled %s=<name>), or fix the HPA's target so it selects the objects that do", m.req.Resource.Resource, s.SeriesName, label)}
	return f
}

// valueChecks looks at served values: duplicates, missing pods, milli-quantities.
func (w *walker) valueChecks(m *hpaMetric, items []cmv1beta2.MetricValue) []Finding {
	var out []Finding
	if m.spec.Type == autoscalingv2.PodsMetricSourceType && len(items) < len(m.names) {
		have := map[string]bool{}
		for _, it := range items {
			have[it.DescribedObject.Name] = true
		}
		var missing []string
		for _, n := range m.names {
			if !have[n] {
				missing = append(missing, n)
			}
		}
		out = append(out, newFinding(CodeSomePodsMissing, m.obj, m.name, "values", len(items), len(m.names)).
			withEvidence("no value for: "+strings.Join(missing, ", ")))
	}
	for _, it := range items {
		if s := it.Value.String(); strings.HasSuffix(s, "m") {
			out = append(out, newFinding(CodeMilliQuantity, m.obj, m.name, s, decode(it.Value)))
			break
		}
	}
	return append(out, w.duplicates(m)...)
}

// seriesChecks judges a metric the controller reads from the series alone:
// target pods without series (and where the metric's series went), and
// several series per object.
func (w *walker) seriesChecks(ctx context.Context, m *hpaMetric) []Finding {
	var out []Finding
	if m.spec.Type == autoscalingv2.PodsMetricSourceType {
		if count, label, ok := w.seriesPerObject(m); ok {
			var missing []string
			for _, n := range m.names {
				if count[n] == 0 {
					missing = append(missing, n)
				}
			}
			if len(missing) > 0 {
				f := newFinding(CodeSomePodsMissing, m.obj, m.name, "series", len(m.names)-len(missing), len(m.names)).
					withEvidence(fmt.Sprintf("no series with label %s for: %s", label, strings.Join(missing, ", ")))
				out = append(out, w.whereWent(ctx, f, m, missing))
			}
		}
	}
	return append(out, w.duplicates(m)...)
}

// whereWent adds to f, a finding about target pods without series
// (missing), the objects the metric's series do name and the fix of their
// class (a stale Pushgateway group, pods of another namespace or
// workload).
func (w *walker) whereWent(ctx context.Context, f Finding, m *hpaMetric, missing []string) Finding {
	s := w.disc.Served(m.req.Resource, m.name)
	if s == nil {
		return f
	}
	if _, err := s.Rule.Namer.LabelForResource(m.req.Resource); err != nil {
		return f
	}
	_, kept := s.Rule.SeriesNamed(s.SeriesName)
	objs := classifySeries(ctx, w.exists, m, s, kept, m.names)
	objs.singular = kube.Singular(w.mapper, m.req.Resource)
	fix, more, ok := whereFix(ctx, w.prom, objs, missing)
	if !ok {
		return f
	}
	f.Evidence = append(append(f.Evidence, objs.evidence()...), more...)
	f.Fix = fix
	return f
}

// seriesPerObject counts the series of the metric's rule per object name,
// once per series name and label (callers only read the counts).
func (w *walker) seriesPerObject(m *hpaMetric) (map[string]int, string, bool) {
	if w.disc == nil || !w.prom.OK() {
		return nil, "", false
	}
	s := w.disc.Served(m.req.Resource, m.name)
	if s == nil {
		return nil, "", false
	}
	label, err := s.Rule.Namer.LabelForResource(m.req.Resource)
	if err != nil {
		return nil, "", false
	}
	key := s.SeriesName + "\x00" + string(label)
	if count, ok := w.seriesCounts[key]; ok {
		return count, string(label), true
	}
	// The series the simulated relist kept for the rule: what the adapter
	// serves, without listing them again.
	_, series := s.Rule.SeriesNamed(s.SeriesName)
	count := map[string]int{}
	for _, x := range series {
		count[string(x.Labels[label])]++
	}
	if w.seriesCounts == nil {
		w.seriesCounts = map[string]map[string]int{}
	}
	w.seriesCounts[key] = count
	return count, string(label), true
}

// duplicates is CodeSeriesSummed for the objects the HPA reads that several series
// name: the adapter sums them.
func (w *walker) duplicates(m *hpaMetric) []Finding {
	count, label, ok := w.seriesPerObject(m)
	if !ok {
		return nil
	}
	var dups []string
	for _, n := range m.names {
		if count[n] > 1 {
			dups = append(dups, fmt.Sprintf("%s (%d series)", n, count[n]))
		}
	}
	if len(dups) == 0 {
		return nil
	}
	return []Finding{newFinding(CodeSeriesSummed, m.obj, m.name, label).
		withEvidence(dups...).
		withFix(Fix{Description: "scrape each target once (check for overlapping jobs or ServiceMonitors), or select one job in the rule's seriesQuery"})}
}

func decodeString(s string) string { return quantity.DecodeString(s) }

func itemsFor(list *cmv1beta2.MetricValueList, names []string) []cmv1beta2.MetricValue {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []cmv1beta2.MetricValue
	if list == nil {
		return nil
	}
	for _, it := range list.Items {
		if want[it.DescribedObject.Name] {
			out = append(out, it)
		}
	}
	return out
}

func currentValue(typ autoscalingv2.MetricSourceType, items []cmv1beta2.MetricValue) string {
	if typ == autoscalingv2.PodsMetricSourceType && len(items) > 1 {
		sum := 0.0
		for _, it := range items {
			sum += it.Value.AsApproximateFloat64()
		}
		return quantity.Format(sum/float64(len(items))) + " (average)"
	}
	return decode(items[0].Value)
}

// decode renders a quantity as a plain number: 102312m → 102.312.
func decode(q resource.Quantity) string { return quantity.Decode(q) }

func targetString(t autoscalingv2.MetricTarget) string {
	switch t.Type {
	case autoscalingv2.AverageValueMetricType:
		if t.AverageValue != nil {
			return decode(*t.AverageValue) + " (AverageValue)"
		}
	case autoscalingv2.ValueMetricType:
		if t.Value != nil {
			return decode(*t.Value) + " (Value)"
		}
	case autoscalingv2.UtilizationMetricType:
		if t.AverageUtilization != nil {
			return fmt.Sprintf("%d%% (Utilization)", *t.AverageUtilization)
		}
	}
	return string(t.Type)
}

// selected keeps the series whose labels the selector matches.
func selected(series []prom.Series, sel labels.Selector) []prom.Series {
	var out []prom.Series
	for _, s := range series {
		set := labels.Set{}
		for k, v := range s.Labels {
			set[string(k)] = string(v)
		}
		if sel.Matches(set) {
			out = append(out, s)
		}
	}
	return out
}

func exportedLabels(series []prom.Series) []string {
	seen := map[string]bool{}
	for _, s := range series {
		for l := range s.Labels {
			if strings.HasPrefix(string(l), "exported_") {
				seen[string(l)] = true
			}
		}
	}
	var out []string
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func exportedFinding(obj, metric string, exported []string, series []prom.Series) Finding {
	return newFinding(CodeExportedLabels, obj, metric, strings.Join(exported, ", ")).
		withEvidence(labelSummary(series, 2)...).
		withFix(Fix{Description: "set honor_labels: true on the scrape job (ServiceMonitor: honorLabels: true), or map the exported_* labels in the rule's resources.overrides"})
}

func filterEvidence(r *simulate.Rule) []string {
	var out []string
	for _, f := range r.Rule.SeriesFilters {
		if f.Is != "" {
			out = append(out, "seriesFilters: is: "+f.Is)
		}
		if f.IsNot != "" {
			out = append(out, "seriesFilters: isNot: "+f.IsNot)
		}
	}
	if r.Rule.Name.Matches != "" {
		out = append(out, "name.matches: "+r.Rule.Name.Matches)
	}
	return out
}

func overridesString(r *simulate.Rule) string {
	var parts []string
	for l, gr := range r.Rule.Resources.Overrides {
		parts = append(parts, l+"→"+gr.Resource)
	}
	sort.Strings(parts)
	if r.Rule.Resources.Template != "" {
		parts = append(parts, "template "+r.Rule.Resources.Template)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func containsResource(rs []schema.GroupResource, gr schema.GroupResource) bool {
	for _, r := range rs {
		if r == gr {
			return true
		}
	}
	return false
}

func hasNamespaceLabel(r *simulate.Rule, s prom.Series) bool {
	resources, _ := r.Namer.ResourcesForSeries(s)
	for _, x := range resources {
		if x.Resource == "namespaces" {
			return true
		}
	}
	return false
}

func vectorOf(res prom.QueryResult) pmodel.Vector {
	if res.Vector != nil {
		return *res.Vector
	}
	return nil
}

func vectorString(v pmodel.Vector, max int) string {
	var parts []string
	for i, s := range v {
		if i == max {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, s.Metric.String()+" "+s.Value.String())
	}
	return strings.Join(parts, "; ")
}

// cannotLookFurther is the evidence of MS404 when Prometheus or the adapter's
// config is unreadable.
const cannotLookFurther = "Prometheus or the adapter config could not be read; see the findings above"

// similarNote ends MS404's message with the served metrics of similar names.
func similarNote(near []string) string {
	if len(near) == 0 {
		return ""
	}
	return fmt.Sprintf("; it serves %s (did you mean %q?)", strings.Join(quoteAll(near), ", "), near[0])
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(no label)"
	}
	return s
}

func hasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

func refName(ref string) string      { _, n, _ := strings.Cut(ref, "/"); return n }
func refNamespace(ref string) string { ns, _, _ := strings.Cut(ref, "/"); return ns }

// exportedOverrides rewrites a rule so its overrides map the exported_*
// labels instead of the plain ones they shadow; ok is false when the rule
// maps none of the plain labels.
func exportedOverrides(r *simulate.Rule, exported []string) (string, bool) {
	rule := r.Rule
	has := map[string]bool{}
	for _, e := range exported {
		has[e] = true
	}
	changed := false
	overrides := map[string]config.GroupResource{}
	for label, gr := range rule.Resources.Overrides {
		if has["exported_"+label] {
			overrides["exported_"+label] = gr
			changed = true
			continue
		}
		overrides[label] = gr
	}
	if !changed {
		return "", false
	}
	rule.Resources.Overrides = overrides
	b, err := yaml.Marshal([]config.DiscoveryRule{rule})
	if err != nil {
		return "", false
	}
	return string(b), true
}

// forObjects keeps the samples of the named objects and those without the
// object's label (which a query that aggregates the label away returns).
func forObjects(v pmodel.Vector, label pmodel.LabelName, names []string) pmodel.Vector {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out pmodel.Vector
	for _, s := range v {
		if val, ok := s.Metric[label]; !ok || want[string(val)] {
			out = append(out, s)
		}
	}
	return out
}

// readByController is the metric's value as the HPA controller read it on
// its last sync, when that sync computed replicas (ScalingActive=True): the
// entry of status.currentMetrics for the same metric, selector and object.
func readByController(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) (string, bool) {
	if !hpastatus.ScalingActive(hpa) {
		return "", false
	}
	switch cur := hpastatus.Current(hpa, spec); {
	case cur == nil:
	case cur.AverageValue != nil:
		return cur.AverageValue.String(), true
	case cur.Value != nil:
		return cur.Value.String(), true
	}
	return "", false
}

// failedByController is what the metrics API answered the controller for
// this metric on its last sync, when that made ScalingActive False: the
// condition's message after "unable to get metric NAME: ".
func failedByController(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) (answer string, ok bool) {
	c := hpastatus.Condition(hpa, autoscalingv2.ScalingActive)
	if c == nil || c.Status != corev1.ConditionFalse || (c.Reason != "FailedGetPodsMetric" && c.Reason != "FailedGetObjectMetric") {
		return "", false
	}
	_, answer, ok = strings.Cut(c.Message, "unable to get metric "+metricspec.Name(spec)+": ")
	return answer, ok && answer != ""
}
