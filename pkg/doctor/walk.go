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
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/hpastatus"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
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
	// configLoaded: the adapter's Ready pods all started after its
	// ConfigMap's last change (configChanged); relist is its interval.
	configLoaded  bool
	configChanged time.Time
	relist        time.Duration
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
}

// noteUsed records a series of the rule that serves an HPA's metric.
func (w *walker) noteUsed(ctx context.Context, gr schema.GroupResource, metric string) {
	if w.disc == nil {
		return
	}
	m := w.disc.Served(gr, metric)
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

func chain(prom, rule, api, hpa LinkStatus) []Link {
	return []Link{{LinkPrometheus, prom}, {LinkRule, rule}, {LinkAPI, api}, {LinkHPA, hpa}}
}

// walkMetric diagnoses one custom (Pods or Object) metric of an HPA: it
// sends the HPA controller's own request (metric selector and pod selector
// included), stops at the first broken link and names its cause. The metric
// is healthy only when that request returned values.
func (w *walker) walkMetric(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, t target) MetricReport {
	obj := "HorizontalPodAutoscaler " + hpa.Namespace + "/" + hpa.Name
	mr := MetricReport{Type: string(spec.Type)}
	var names []string // the objects whose values the HPA reads
	var sel *metav1.LabelSelector
	switch spec.Type {
	case autoscalingv2.PodsMetricSourceType:
		mr.Name = spec.Pods.Metric.Name
		mr.Target = targetString(spec.Pods.Target)
		sel = spec.Pods.Metric.Selector
		for _, p := range t.pods {
			names = append(names, p.Name)
		}
	case autoscalingv2.ObjectMetricSourceType:
		mr.Name = spec.Object.Metric.Name
		mr.Target = targetString(spec.Object.Target)
		mr.Object = spec.Object.DescribedObject.Kind + "/" + spec.Object.DescribedObject.Name
		sel = spec.Object.Metric.Selector
		ref := spec.Object.DescribedObject
		if _, err := kube.ResourceFor(w.mapper, ref.APIVersion, ref.Kind); err != nil {
			mr.Chain = chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken)
			mr.Findings = []Finding{describedObjectMissing(hpa, spec)}
			return mr
		}
	default:
		return mr
	}
	metric := mr.Name
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeInvalidSelector, obj, spec.Type, metric, err))
		return mr
	}
	if spec.Type == autoscalingv2.PodsMetricSourceType && t.selector == nil {
		why := "unknown"
		if t.selectorErr != nil {
			why = t.selectorErr.Error()
		}
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken)
		ref := hpa.Spec.ScaleTargetRef
		mr.Findings = append(mr.Findings, newFinding(CodeNoPodSelector, obj, metric, ref.Kind, ref.Name, why))
		return mr
	}
	req, err := hpareq.For(hpa, spec, t.selector, w.mapper)
	if err != nil {
		return mr // every cause is reported above
	}
	if spec.Type == autoscalingv2.ObjectMetricSourceType {
		names = []string{req.Name}
	}
	gr := req.Resource
	ns := hpa.Namespace
	hpaLink := hpaLink(hpa)
	w.noteUsed(ctx, gr, metric)

	if ok, why := w.api.Available(); !ok {
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeMetricAPIUnavailable, obj, metric, "custom", why))
		return mr
	}

	// The controller computed replicas from this very metric on its last
	// sync (ScalingActive=True, the value in status.currentMetrics): its own
	// request answered, and repeating it would cost a request per HPA.
	if cur, ok := readByController(hpa, spec); ok && hpaLink == LinkOK && w.api.Listed(gr.String(), metric) {
		mr.Chain = chain(LinkOK, LinkOK, LinkOK, LinkOK)
		mr.Findings = append(mr.Findings, w.seriesChecks(ctx, obj, hpa, spec.Type, gr, metric, names)...)
		if strings.HasSuffix(cur, "m") {
			mr.Findings = append(mr.Findings, newFinding(CodeMilliQuantity, obj, metric, cur, decodeString(cur)))
		}
		mr.Current = decodeString(cur)
		mr.Healthy = !hasErrors(mr.Findings)
		return mr
	}

	if w.api.Listed(gr.String(), metric) {
		list, err := w.api.Values(ctx, req)
		var items []cmv1beta2.MetricValue
		if err == nil {
			items = itemsFor(list, names)
		}
		if len(items) > 0 {
			mr.Request = req.Path()
			mr.Current = currentValue(spec.Type, items)
			mr.Findings = append(mr.Findings, w.valueChecks(ctx, obj, spec.Type, gr, ns, metric, names, items)...)
			mr.Chain = chain(LinkOK, LinkOK, LinkOK, hpaLink)
			mr.Healthy = hpaLink == LinkOK && !hasErrors(mr.Findings)
			return mr
		}
		// Listed, but nothing for the target's objects: find out why from the query.
		mr.Chain = chain(LinkOK, LinkOK, LinkBroken, LinkBroken)
		queried := names
		if spec.Type == autoscalingv2.PodsMetricSourceType && t.running != nil {
			queried = t.running
		}
		reads := "the pods of " + hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name
		if spec.Type == autoscalingv2.ObjectMetricSourceType {
			reads = spec.Object.DescribedObject.Kind + "/" + spec.Object.DescribedObject.Name
		}
		mr.Findings = append(mr.Findings, w.noValues(ctx, obj, reads, req, names, queried, list, err)...)
		return mr
	}

	// Not listed. Would the current config serve it?
	if w.disc != nil {
		if m := w.disc.Served(gr, metric); m != nil {
			mr.Chain = chain(LinkOK, LinkOK, LinkBroken, LinkBroken)
			if w.configLoaded {
				// Restarting would not load anything new: the relist did
				// not see the series (they came after it, or were older
				// than its window then).
				_, kept := m.Rule.SeriesNamed(m.SeriesName)
				w.noteSeries(kept)
				mr.Findings = append(mr.Findings, newFinding(CodeNotListedYet, obj, w.configChanged.UTC().Format(time.RFC3339), metric, gr.Resource, m.Rule.Label(), m.SeriesName).
					withFix(Fix{Description: fmt.Sprintf("wait one relist (--metrics-relist-interval %s); if the metric stays unlisted or comes and goes, its series are older than the adapter's window (%s) at its relists: see MS216, or raise --metrics-max-age", w.relist, w.maxAge)}))
				return mr
			}
			mr.Findings = append(mr.Findings, newFinding(CodeConfigNotLoaded, obj, metric, gr.Resource, m.Rule.Label(), m.SeriesName).
				withFix(Fix{Description: "restart the adapter so it reads its ConfigMap again (it reads it only at start-up), then wait one relist interval",
					Command: fmt.Sprintf("kubectl rollout restart deployment/%s -n %s", refName(w.adapterRef), refNamespace(w.adapterRef))}))
			return mr
		}
	}
	mr.Chain = chain(LinkUnknown, LinkBroken, LinkBroken, LinkBroken)
	mr.Findings = append(mr.Findings, w.notServed(ctx, obj, gr, ns, metric, &mr)...)
	return mr
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

// notServed explains why the API does not list the metric for the resource.
func (w *walker) notServed(ctx context.Context, obj string, gr schema.GroupResource, ns, metric string, mr *MetricReport) []Finding {
	var out []Finding
	listed := w.api.ListedNames(gr.String())
	apiMissing := newFinding(CodeNotServed, obj, "custom", metric, gr.Resource, similarNote(similar.Nearest(metric, listed, 3)))
	if !w.prom.OK() || w.disc == nil {
		mr.Chain[0].Status = LinkUnknown
		return append(out, apiMissing.withEvidence(cannotLookFurther))
	}

	// Does a rule rename a series of this name (http_requests_total → http_requests)?
	for _, m := range w.disc.Metrics {
		if m.SeriesName == metric && m.Resource == gr && m.Name != metric {
			mr.Chain = chain(LinkOK, LinkOK, LinkOK, LinkBroken)
			return append(out, newFinding(CodeSeriesNameInHPA, obj, metric, m.Rule.Label(), m.Name).
				withFix(Fix{Description: fmt.Sprintf("name the API metric in the HPA: spec.metrics[].%s.metric.name: %s", strings.ToLower(mr.Type), m.Name)}))
		}
	}

	all, err := w.prom.SeriesNamed(ctx, metric, w.now.Add(-w.seriesWindow))
	if err != nil {
		mr.Chain[0].Status = LinkUnknown
		return append(out, apiMissing.withEvidence("listing series of "+metric+": "+err.Error()))
	}
	if len(all) == 0 {
		mr.Chain = chain(LinkBroken, LinkUnknown, LinkBroken, LinkBroken)
		f := newFinding(CodeNoSeries, obj, metric, w.seriesWindow)
		var look []prom.Series
		if names, err := w.prom.MetricNames(ctx); err == nil {
			if near := similar.Nearest(metric, names, 3); len(near) > 0 {
				f = f.withEvidence("Prometheus has similar metrics: " + strings.Join(near, ", "))
				look, _ = w.prom.SeriesNamed(ctx, near[0], w.now.Add(-w.seriesWindow))
			}
		}
		if near := similar.Nearest(metric, listed, 3); len(near) > 0 {
			f = f.withFix(Fix{Description: fmt.Sprintf("if the HPA means the served metric %q, name it in spec.metrics", near[0])})
		}
		out = append(out, f)
		// A rule that would compute the metric from the similar series has to
		// map their labels: say so when those moved to exported_*.
		if exported := exportedLabels(look); len(exported) > 0 {
			out = append(out, exportedFinding(obj, look[0].Name, exported, look))
		}
		return out
	}
	mr.Chain[0].Status = LinkOK
	if exported := exportedLabels(all); len(exported) > 0 {
		out = append(out, exportedFinding(obj, metric, exported, all))
	}
	var selecting []*simulate.Rule
	for _, r := range w.disc.Rules {
		if sel, _ := r.SeriesNamed(metric); len(sel) > 0 && !r.External {
			selecting = append(selecting, r)
		}
	}
	if len(selecting) == 0 {
		inWindow, err := w.prom.SeriesNamed(ctx, metric, w.disc.Since)
		// A window shorter than the samples' interval says why the relist
		// saw none of them (or saw them only now).
		w.noteSeries(all)
		tooOld := newFinding(CodeSeriesTooOld, obj, metric, w.maxAge).
			withEvidence(labelSummary(all, 3)...).
			withFix(Fix{Description: "push or scrape the metric more often than the window, or raise --metrics-max-age on the adapter Deployment"})
		if err == nil && len(inWindow) == 0 {
			return append(out, tooOld)
		}
		// A sample came in after the simulated relist: if a rule selects
		// the series, the relist missed them only because they were older
		// than its window then. No rule is missing.
		if r := selectingRule(w.disc.Rules, inWindow); r != nil {
			return append(out, tooOld.withEvidence(fmt.Sprintf("%s selects them, but the simulated relist a moment before saw none in its window of %s", r.Label(), w.maxAge)))
		}
		f := newFinding(CodeNoRule, obj, len(all), metric, "rule's seriesQuery").
			withEvidence(labelSummary(all, 3)...)
		return append(out, w.withRuleFix(f, all, metric, gr, metric))
	}
	for _, r := range selecting {
		_, kept := r.SeriesNamed(metric)
		if len(kept) == 0 {
			out = append(out, newFinding(CodeRuleFiltersSeries, obj, r.Label(), metric).
				withEvidence(filterEvidence(r)...))
			continue
		}
		name, _ := r.Namer.MetricNameForSeries(kept[0])
		resources, _ := r.Namer.ResourcesForSeries(kept[0])
		if name != metric {
			out = append(out, newFinding(CodeSeriesNameInHPA, obj, metric, r.Label(), name).
				withFix(Fix{Description: fmt.Sprintf("name the API metric in the HPA: metric.name: %s", name)}))
			continue
		}
		if len(resources) == 0 {
			f := newFinding(CodeLabelsNotMapped, obj, r.Label(), metric, overridesString(r)).
				withEvidence(labelSummary(kept, 3)...)
			out = append(out, w.withRuleFix(f, kept, metric, gr, metric))
			continue
		}
		if !containsResource(resources, gr) {
			var rs []string
			for _, x := range resources {
				rs = append(rs, x.String())
			}
			f := newFinding(CodeOtherResource, obj, r.Label(), metric, strings.Join(rs, ", "), gr.Resource).withEvidence(labelSummary(kept, 3)...)
			out = append(out, w.withRuleFix(f, kept, metric, gr, metric))
			continue
		}
	}
	if len(out) == 0 {
		out = append(out, apiMissing)
	}
	return out
}

func (w *walker) withRuleFix(f Finding, series []prom.Series, seriesName string, gr schema.GroupResource, apiName string) Finding {
	if p, note, ok := proposeRule(series, seriesName, gr.Resource, kube.Singular(w.mapper, gr), apiName); ok {
		return f.withFix(Fix{
			Description: fmt.Sprintf("add a rule that maps %s to the namespace and %s to %s%s (add-rule writes it into the adapter ConfigMap and restarts the adapter; or paste the YAML under rules: and restart it)",
				orNone(p.NamespaceLabel), p.ResourceLabel, gr.Resource, note),
			Command: p.Command,
			YAML:    rules.ListItem(p.YAML),
		})
	}
	return f.withFix(Fix{Description: fmt.Sprintf("the series carry no label that names a %s (looked for %s): export one, or relabel in Prometheus", strings.TrimSuffix(gr.Resource, "s"), strings.Join(rules.ResourceLabels[gr.Resource], ", "))})
}

// noValues explains a listed metric whose request returns nothing for the
// target's objects (names); queried are the objects the adapter's query is
// about, reads says in words what the HPA reads.
func (w *walker) noValues(ctx context.Context, obj, reads string, req hpareq.Request, names, queried []string, list *cmv1beta2.MetricValueList, apiErr error) []Finding {
	gr, ns, metric := req.Resource, req.Namespace, req.Metric
	objects := strings.Join(names, ", ")
	if len(names) == 0 {
		objects = "the scale target's pods (it has no Ready pods)"
	}
	f := newFinding(CodeNoValue, obj, metric, gr.Resource, objects, ns)
	if apiErr != nil {
		f = f.withEvidence(req.String() + ": " + apierr.Message(apiErr))
	} else if list != nil {
		var got []string
		for _, it := range list.Items {
			got = append(got, it.DescribedObject.Name)
		}
		if len(got) == 0 {
			f = f.withEvidence(fmt.Sprintf("%s returned no items", req))
		} else {
			f = f.withEvidence(fmt.Sprintf("%s returned %d items: %s", req, len(list.Items), strings.Join(got, ", ")))
		}
	}
	if len(names) == 0 {
		return []Finding{f}
	}
	if w.disc == nil || !w.prom.OK() {
		return []Finding{f}
	}
	m := w.disc.Served(gr, metric)
	if m == nil {
		return []Finding{f}
	}
	if series, err := w.prom.SeriesNamed(ctx, m.SeriesName, w.disc.Since); err == nil && len(series) > 0 && !hasNamespaceLabel(m.Rule, series[0]) {
		return []Finding{newFinding(CodeNoNamespaceLabel, obj, m.SeriesName, ns).
			withEvidence(labelSummary(series, 3)...).
			withFix(Fix{Description: "relabel the series with the namespace (e.g. a relabel_config), or serve it as an external metric (externalRules with resources.namespaced: false)"})}
	}
	if series, err := w.prom.SeriesNamed(ctx, m.SeriesName, w.disc.Since); err == nil {
		if exported := exportedLabels(series); len(exported) > 0 {
			ef := exportedFinding(obj, m.SeriesName, exported, series)
			if fixed, ok := exportedOverrides(m.Rule, exported); ok {
				ef.Fix = &Fix{Description: fmt.Sprintf("map the exported_* labels in %s's resources.overrides (or set honor_labels: true on the scrape job); the corrected rule:", m.Rule.Label()), YAML: fixed}
			}
			f.Evidence = append(f.Evidence, fmt.Sprintf("%s maps the exporter's own labels, so %s is served for the exporter's objects", m.Rule.Label(), metric))
			return []Finding{ef, f}
		}
	}
	// The query the adapter runs for this request: the rule's metricsQuery
	// for the request's objects, with the metric selector's matchers.
	q, err := req.Query(m, req.Objects(queried))
	if err != nil {
		return []Finding{f.withEvidence("rendering " + m.Rule.Label() + "'s metricsQuery: " + err.Error())}
	}
	res, err := w.prom.Query(ctx, string(q))
	if err != nil {
		return []Finding{newFinding(CodeQueryFails, obj, m.Rule.Label(), err).
			withEvidence("query: " + string(q))}
	}
	label, _ := m.Rule.Namer.LabelForResource(gr)
	vec := forObjects(vectorOf(res), label, names)
	f = f.withEvidence("query: "+string(q), fmt.Sprintf("result: %d series", len(vec)))
	if len(vec) > 0 {
		missing := 0
		for _, s := range vec {
			if _, ok := s.Metric[label]; !ok {
				missing++
			}
		}
		if missing > 0 {
			return []Finding{newFinding(CodeQueryDropsLabels, obj, m.Rule.Label(), label, gr.Resource).
				withEvidence("query: "+string(q), "metricsQuery: "+m.Rule.Rule.MetricsQuery, "result: "+vectorString(vec, 3)).
				withFix(Fix{Description: "keep the resource labels in the query, e.g. metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"})}
		}
	}
	// Which objects do the series name? Pods that are gone, objects in
	// another namespace or of another workload tell where the data went.
	if series, err := w.prom.SeriesNamed(ctx, m.SeriesName, w.disc.Since); err == nil && len(series) > 0 {
		if !req.MetricSelector.Empty() {
			matching := selected(series, req.MetricSelector)
			if len(matching) < len(series) {
				f = f.withEvidence(fmt.Sprintf("the HPA's metric selector %s matches %d of the %d series of %s", req.MetricSelector, len(matching), len(series), m.SeriesName))
			}
			if len(matching) == 0 {
				f.Fix = &Fix{Description: fmt.Sprintf("fix the metric's selector in the HPA (spec.metrics[].%s.metric.selector): no series of %s carries the labels it requires", strings.ToLower(string(req.Type)), m.SeriesName)}
				return []Finding{f}
			}
			series = matching
		}
		objs := classifySeries(ctx, w.exists, m.Rule, gr, ns, series, queried)
		where := objs.evidence(m.SeriesName, ns, reads)
		fix, more, ok := whereFix(ctx, w.prom, objs, m.SeriesName, ns, reads, label, names)
		// Where the data went comes first: the request and query follow.
		f.Evidence = append(append(where, more...), f.Evidence...)
		if ok {
			f.Fix = fix
			return []Finding{f}
		}
		f.Fix = &Fix{Description: fmt.Sprintf("make the %s of the scale target export %s (labelled %s=<name>), or fix the HPA's target so it selects the objects that do", gr.Resource, m.SeriesName, label)}
	}
	return []Finding{f}
}

// valueChecks looks at served values: duplicates, missing pods, milli-quantities.
func (w *walker) valueChecks(ctx context.Context, obj string, typ autoscalingv2.MetricSourceType, gr schema.GroupResource, ns, metric string, names []string, items []cmv1beta2.MetricValue) []Finding {
	var out []Finding
	if typ == autoscalingv2.PodsMetricSourceType && len(items) < len(names) {
		have := map[string]bool{}
		for _, it := range items {
			have[it.DescribedObject.Name] = true
		}
		var missing []string
		for _, n := range names {
			if !have[n] {
				missing = append(missing, n)
			}
		}
		out = append(out, newFinding(CodeSomePodsMissing, obj, metric, "values", len(items), len(names)).
			withEvidence("no value for: "+strings.Join(missing, ", ")))
	}
	for _, it := range items {
		if s := it.Value.String(); strings.HasSuffix(s, "m") {
			out = append(out, newFinding(CodeMilliQuantity, obj, metric, s, decode(it.Value)))
			break
		}
	}
	return append(out, w.duplicates(ctx, obj, gr, metric, names)...)
}

// seriesChecks judges a metric the controller reads from the series alone:
// target pods without series (and where the metric's series went), and
// several series per object.
func (w *walker) seriesChecks(ctx context.Context, obj string, hpa *autoscalingv2.HorizontalPodAutoscaler, typ autoscalingv2.MetricSourceType, gr schema.GroupResource, metric string, names []string) []Finding {
	var out []Finding
	if typ == autoscalingv2.PodsMetricSourceType {
		if count, label, ok := w.seriesPerObject(gr, metric); ok {
			var missing []string
			for _, n := range names {
				if count[n] == 0 {
					missing = append(missing, n)
				}
			}
			if len(missing) > 0 {
				f := newFinding(CodeSomePodsMissing, obj, metric, "series", len(names)-len(missing), len(names)).
					withEvidence(fmt.Sprintf("no series with label %s for: %s", label, strings.Join(missing, ", ")))
				out = append(out, w.whereWent(ctx, f, hpa, gr, metric, names, missing))
			}
		}
	}
	return append(out, w.duplicates(ctx, obj, gr, metric, names)...)
}

// whereWent adds to f, a finding about target pods without series, the
// objects the metric's series do name and the fix of their class (a stale
// Pushgateway group, pods of another namespace or workload).
func (w *walker) whereWent(ctx context.Context, f Finding, hpa *autoscalingv2.HorizontalPodAutoscaler, gr schema.GroupResource, metric string, names, missing []string) Finding {
	m := w.disc.Served(gr, metric)
	if m == nil {
		return f
	}
	label, err := m.Rule.Namer.LabelForResource(gr)
	if err != nil {
		return f
	}
	_, kept := m.Rule.SeriesNamed(m.SeriesName)
	reads := "the pods of " + hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name
	objs := classifySeries(ctx, w.exists, m.Rule, gr, hpa.Namespace, kept, names)
	fix, more, ok := whereFix(ctx, w.prom, objs, m.SeriesName, hpa.Namespace, reads, label, missing)
	if !ok {
		return f
	}
	f.Evidence = append(append(f.Evidence, objs.evidence(m.SeriesName, hpa.Namespace, reads)...), more...)
	f.Fix = fix
	return f
}

// seriesPerObject counts the series of the metric's rule per object name,
// once per series name and label (callers only read the counts).
func (w *walker) seriesPerObject(gr schema.GroupResource, metric string) (map[string]int, string, bool) {
	if w.disc == nil || !w.prom.OK() {
		return nil, "", false
	}
	m := w.disc.Served(gr, metric)
	if m == nil {
		return nil, "", false
	}
	label, err := m.Rule.Namer.LabelForResource(gr)
	if err != nil {
		return nil, "", false
	}
	key := m.SeriesName + "\x00" + string(label)
	if count, ok := w.seriesCounts[key]; ok {
		return count, string(label), true
	}
	// The series the simulated relist kept for the rule: what the adapter
	// serves, without listing them again.
	_, series := m.Rule.SeriesNamed(m.SeriesName)
	count := map[string]int{}
	for _, s := range series {
		count[string(s.Labels[label])]++
	}
	if w.seriesCounts == nil {
		w.seriesCounts = map[string]map[string]int{}
	}
	w.seriesCounts[key] = count
	return count, string(label), true
}

func (w *walker) duplicates(ctx context.Context, obj string, gr schema.GroupResource, metric string, names []string) []Finding {
	count, label, ok := w.seriesPerObject(gr, metric)
	if !ok {
		return nil
	}
	var dups []string
	for _, n := range names {
		if count[n] > 1 {
			dups = append(dups, fmt.Sprintf("%s (%d series)", n, count[n]))
		}
	}
	if len(dups) == 0 {
		return nil
	}
	return []Finding{newFinding(CodeSeriesSummed, obj, metric, label).
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
