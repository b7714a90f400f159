package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	externalmetrics "k8s.io/metrics/pkg/client/external_metrics"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// ExternalAPI is the view of external.metrics.k8s.io the walk needs.
type ExternalAPI interface {
	// Available reports whether the API answers, and why not.
	Available() (bool, string)
	// Values sends the HPA controller's request for an External metric.
	Values(ctx context.Context, req hpareq.Request) (*emv1beta1.ExternalMetricValueList, error)
}

// liveExternalAPI asks the API server, once per (namespace, metric,
// selector): HPAs that share an external metric share the request.
type liveExternalAPI struct {
	client    externalmetrics.ExternalMetricsClient
	refused   *refusals
	available bool
	why       string
	cache     map[string]externalResult
}

type externalResult struct {
	list *emv1beta1.ExternalMetricValueList
	err  error
}

func newLiveExternalAPI(client externalmetrics.ExternalMetricsClient, svc APIService) *liveExternalAPI {
	a := &liveExternalAPI{cache: map[string]externalResult{}}
	switch {
	case !svc.Present:
		a.why = "no APIService " + ExternalAPIService
		return a
	case !svc.Available:
		a.why = fmt.Sprintf("APIService Available=False %s: %s", svc.Reason, svc.Message)
		return a
	}
	a.client, a.available = client, true
	return a
}

func (a *liveExternalAPI) Available() (bool, string) { return a.available, a.why }

func (a *liveExternalAPI) Values(_ context.Context, req hpareq.Request) (*emv1beta1.ExternalMetricValueList, error) {
	key := req.Path()
	if r, ok := a.cache[key]; ok {
		return r.list, r.err
	}
	if a.client == nil {
		return nil, errors.New(a.why)
	}
	list, err := req.External(a.client)
	a.refused.note(err)
	a.cache[key] = externalResult{list, err}
	return list, err
}

// walkExternal diagnoses an External metric of an HPA: the HPA controller's
// request to the external metrics API (healthy only when it returns
// values), the externalRules entry that should serve the metric, the series
// in Prometheus.
func (w *walker) walkExternal(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) MetricReport {
	m := newHPAMetric(hpa, spec)
	mr := metricHeader(spec)
	if _, err := metav1.LabelSelectorAsSelector(spec.External.Metric.Selector); err != nil {
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeInvalidSelector, m.obj, spec.Type, m.name, err))
		return mr
	}
	if w.extBackend == apiservice.KEDA {
		// No ScaledObject owns this HPA: its metric is the adapter's.
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeExternalAPIWrongBackend, m.obj, apiservice.Adapter, w.extService, backendService(apiservice.Adapter, w.adapterService)).
			withEvidence("the HPA is owned by no ScaledObject, so KEDA's metrics server has no value for "+m.name).
			withFix(externalAPIServiceFix(apiservice.Adapter, w.adapterService)))
		return mr
	}
	var err error
	if m.req, err = hpareq.For(hpa, spec, nil, w.mapper); err != nil {
		return mr
	}
	link := hpaLink(hpa)
	w.noteUsed(ctx, &m)
	if w.ext == nil {
		// Not asked: the HPA's own word, never "healthy".
		mr.Chain = []Link{{LinkHPA, link}}
		return mr
	}
	if cur, ok := readByController(hpa, spec); ok && link == LinkOK {
		// The controller computed replicas from it on its last sync.
		mr.Current = decodeString(cur)
		mr.Chain = chain(LinkOK, LinkOK, LinkOK, LinkOK)
		mr.Healthy = true
		return mr
	}
	if ok, why := w.ext.Available(); !ok && (w.disc == nil || hasExternalRules(w.disc) || !w.prom.OK()) {
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeMetricAPIUnavailable, m.obj, m.name, "external", why))
		return mr
	}
	list, apiEvidence, err := w.externalAnswer(ctx, &m)
	if err == nil && len(list.Items) > 0 {
		mr.Current = externalSum(list)
		mr.Request = m.req.Path()
		mr.Chain = chain(LinkOK, LinkOK, LinkOK, link)
		mr.Healthy = link == LinkOK
		return mr
	}
	return w.externalUnserved(ctx, &m, err, apiEvidence, mr)
}

// externalAnswer sends the controller's request for an External metric,
// and says what came back as evidence. When the API is unavailable, that
// is the error: prometheus-adapter serves the external metrics API only
// when its config has externalRules, so the missing rule is the cause.
func (w *walker) externalAnswer(ctx context.Context, m *hpaMetric) (*emv1beta1.ExternalMetricValueList, string, error) {
	if ok, why := w.ext.Available(); !ok {
		return nil, "the external metrics API is unavailable (" + why + "): prometheus-adapter serves it only when its config has externalRules, and it has none",
			errors.New(why)
	}
	list, err := w.ext.Values(ctx, m.req)
	if err != nil {
		return list, m.req.String() + ": " + apierr.Message(err), err
	}
	return list, m.req.String() + ": no items", nil
}

// externalUnserved explains an External metric the API returns no value
// of (apiErr, apiEvidence: its answer): the rule that serves it, or why
// none does.
func (w *walker) externalUnserved(ctx context.Context, m *hpaMetric, apiErr error, apiEvidence string, mr MetricReport) MetricReport {
	if w.disc != nil {
		if s := w.disc.Served(schema.GroupResource{}, m.name); s != nil {
			mr.Chain = chain(LinkOK, LinkOK, LinkBroken, LinkBroken)
			if apiErr == nil {
				// Served, but nothing for this namespace and selector.
				mr.Findings = append(mr.Findings, newFinding(CodeExternalNoValue, m.obj, m.name, s.Rule.Label(), s.SeriesName, m.req.Namespace, m.req.MetricSelector.String()).withEvidence(apiEvidence).
					withFix(Fix{Description: "check that the series carry the namespace label the rule maps (or serve the metric with resources.namespaced: false) and labels matching the HPA's metric.selector"}))
				return mr
			}
			mr.Findings = append(mr.Findings, newFinding(CodeConfigNotLoaded, m.obj, m.name, "external metrics", s.Rule.Label(), s.SeriesName).
				withEvidence(apiEvidence).
				withFix(w.restartAdapterFix()))
			return mr
		}
	}
	if !w.prom.OK() || w.disc == nil {
		// Without Prometheus or a readable adapter config there is no
		// telling which link is missing: the plumbing findings say why.
		mr.Chain = chain(LinkUnknown, LinkUnknown, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeNotServed, m.obj, "external", m.name, "namespace "+m.req.Namespace, "").withEvidence(cannotLookFurther, apiEvidence))
		return mr
	}
	series, serr := w.prom.SeriesNamed(ctx, m.name, w.now.Add(-w.seriesWindow))
	if serr == nil && len(series) == 0 {
		mr.Chain = chain(LinkBroken, LinkUnknown, LinkBroken, LinkBroken)
		f := newFinding(CodeNoSeries, m.obj, m.name, w.seriesWindow).withEvidence(apiEvidence)
		if near := w.similarInPrometheus(ctx, m.name); len(near) > 0 {
			f = f.withEvidence("Prometheus has similar metrics: " + strings.Join(near, ", "))
		}
		mr.Findings = append(mr.Findings, f)
		return mr
	}
	mr.Chain = chain(LinkOK, LinkBroken, LinkBroken, LinkBroken)
	f := newFinding(CodeNoRule, m.obj, len(series), m.name, "externalRules entry").
		withEvidence(labelSummary(series, 3)...).withEvidence(apiEvidence)
	mr.Findings = append(mr.Findings, withExternalRuleFix(f, series, m.name))
	return mr
}

func hasExternalRules(d *simulate.Discovery) bool {
	for _, r := range d.Rules {
		if r.External {
			return true
		}
	}
	return false
}

// withExternalRuleFix proposes the externalRules entry: namespaced by the
// series' namespace label when they carry one, cluster-wide otherwise.
func withExternalRuleFix(f Finding, series []prom.Series, metric string) Finding {
	p, err := rules.Propose(series, rules.Request{SeriesName: metric, External: true})
	if err != nil {
		p, err = rules.Propose(series, rules.Request{SeriesName: metric, External: true, NotNamespaced: true})
	}
	if err != nil {
		return f
	}
	scope := "cluster-wide (resources.namespaced: false: the series carry no namespace label)"
	if p.NamespaceLabel != "" {
		scope = "namespaced by label " + p.NamespaceLabel
	}
	return f.withFix(Fix{
		Description: "add an externalRules entry for it, " + scope + " (add-rule writes it into the adapter ConfigMap and restarts the adapter; or paste the YAML under externalRules: and restart it)",
		Command:     p.Command,
		YAML:        rules.ListItem(p.YAML),
	})
}
