package doctor

import (
	"context"
	"errors"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

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
	r.Causes = causes(r.HPAs)
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

// neededResources are the resources whose metrics the HPAs in scope read.
func neededResources(hpas []autoscalingv2.HorizontalPodAutoscaler, mapper apimeta.RESTMapper) map[schema.GroupResource]bool {
	out := map[schema.GroupResource]bool{}
	for _, h := range hpas {
		for _, m := range h.Spec.Metrics {
			switch m.Type {
			case autoscalingv2.PodsMetricSourceType:
				out[schema.GroupResource{Resource: "pods"}] = true
			case autoscalingv2.ObjectMetricSourceType:
				if gr, err := kube.ResourceFor(mapper, m.Object.DescribedObject.APIVersion, m.Object.DescribedObject.Kind); err == nil {
					out[gr] = true
				}
			}
		}
	}
	return out
}

// Diagnose judges what Collect read: the plumbing checks, then for every
// metric of every HPA the walk prometheus → rule → api → hpa up to the first
// broken link. It reads nothing but what in holds and its sources.
func Diagnose(ctx context.Context, in *Collected) (*Report, error) {
	r := &Report{APIVersion: "metricscale.io/v1alpha1", Kind: "DoctorReport", Namespace: in.Namespace, Findings: []Finding{}, HPAs: []HPAReport{}}
	r.Inventory.APIServices = in.APIServices
	ch := in.Chain
	a, cfg := ch.Adapter, ch.Config
	adapterRef := ch.AdapterRef()
	if a != nil {
		r.Inventory.Adapter = &AdapterInfo{Namespace: a.Namespace, Name: a.Name, Image: a.Image, PrometheusURL: a.PrometheusURL,
			Config: a.ConfigPath, ConfigMap: a.Namespace + "/" + a.ConfigMap + ":" + a.ConfigKey,
			RelistInterval: a.RelistInterval.String(), MaxAge: a.MaxAge.String(), ReadyPods: a.ReadyPods(), Pods: len(a.Pods)}
		if cfg != nil && cfg.Parsed != nil {
			r.Inventory.Adapter.Rules, r.Inventory.Adapter.ExternalRules = len(cfg.Parsed.Rules), len(cfg.Parsed.ExternalRules)
		}
	}
	needCustom, needExternal := false, cfg != nil && cfg.Parsed != nil && len(cfg.Parsed.ExternalRules) > 0
	for _, h := range in.HPAs {
		for _, m := range h.Spec.Metrics {
			needCustom = needCustom || m.Type == autoscalingv2.PodsMetricSourceType || m.Type == autoscalingv2.ObjectMetricSourceType
			needExternal = needExternal || m.Type == autoscalingv2.ExternalMetricSourceType
		}
	}
	r.Findings = append(r.Findings, checkAPIServices(in.APIServices, adapterRef, needCustom || len(in.HPAs) == 0, needExternal)...)
	r.Findings = append(r.Findings, checkResourceAPIService(resourceAPICheck{svc: in.APIServices[2], needing: resourceNeeds(in.HPAs),
		metricsServer: in.MetricsServer, adapterService: in.APIServices[0].Service, resourceRules: cfg != nil && cfg.Parsed != nil && cfg.Parsed.ResourceRules != nil})...)
	r.Findings = append(r.Findings, checkAdapter(a, ch.AdapterErr, cfg, ch.ConfigErr)...)
	if in.ServerMinor >= 0 {
		r.Findings = append(r.Findings, checkAdapterVersion(a, in.ServerMinor)...)
	}
	if conn := ch.Prometheus; conn != nil {
		r.Inventory.Prometheus = &PromInfo{URL: ch.PrometheusURL, Source: ch.PrometheusSource, Via: conn.Via, Reachable: conn.OK(), Error: conn.Error}
		r.Findings = append(r.Findings, checkPrometheus(conn, ch.PrometheusSource, in.PrometheusCandidates, a)...)
	}
	if ch.Discovery != nil {
		r.Inventory.DiscoveredMetrics = len(ch.Discovery.Metrics)
		r.Findings = append(r.Findings, checkDiscovery(ch.Discovery, a)...)
		r.Findings = append(r.Findings, checkAdapterRBAC(in.AdapterServiceAccount, in.Denied, ch.Discovery.Resources(), neededResources(in.HPAs, in.Mapper))...)
	}
	r.Inventory.ServedMetrics = in.API.Count()

	w := walkerFor(in)
	for i := range in.HPAs {
		hr, err := w.walkHPA(ctx, &in.HPAs[i], in.Events)
		if err != nil {
			return nil, apierr.Denied(err, apierr.ReadOnlyRole)
		}
		r.HPAs = append(r.HPAs, hr)
	}
	if err := in.refused.err(); err != nil {
		return nil, err
	}
	if a != nil && ch.Discovery != nil {
		r.Findings = append(r.Findings, checkWindow(ctx, in.Prometheus, windowCheck{window: ch.Window, relist: a.RelistInterval, adapterRef: adapterRef,
			setMaxAge: func(v string) string { return a.SetFlagCommand("metrics-max-age", v) }}, w.used)...)
	}
	r.summarize()
	return r, nil
}

// walkerFor is the walker of what Collect read.
func walkerFor(in *Collected) *walker {
	ch := in.Chain
	a, cfg, adapterRef := ch.Adapter, ch.Config, ch.AdapterRef()
	w := &walker{api: in.API, ext: in.External, res: in.Resources, prom: in.Prometheus, disc: ch.Discovery, mapper: in.Mapper, maxAge: ch.Window, now: in.Now,
		adapterRef: adapterRef, seriesWindow: in.SeriesWindow, targets: in.Targets, keda: in.KEDA, inputs: in.Inputs, controllerView: in.ControllerView,
		ambiguous: ambiguousTargets(in.HPAs, in.OtherHPAs), adapterSA: in.AdapterServiceAccount, adapterDenied: map[schema.GroupResource]bool{}}
	for _, gr := range in.Denied {
		w.adapterDenied[gr] = true
	}
	if len(in.APIServices) > 1 {
		w.extService, w.adapterService = in.APIServices[1].Service, in.APIServices[0].Service
		if custom, ext := in.APIServices[0], in.APIServices[1]; ext.Present {
			owners := apiservice.Owners{Adapter: adapterRef}
			if custom.Present {
				owners.AdapterService = custom.Service
			}
			w.extBackend = owners.Of(ext.Service)
		}
	}
	if a != nil && cfg != nil {
		w.configLoaded, w.configChanged = a.ConfigLoaded(cfg.ConfigMap)
		w.relist = a.RelistInterval
	}
	return w
}

// walkHPA diagnoses one HPA: its own state, then each of its metrics.
func (w *walker) walkHPA(ctx context.Context, h *autoscalingv2.HorizontalPodAutoscaler, events map[string][]corev1.Event) (HPAReport, error) {
	hr := newHPAReport(h)
	pods, found, err := w.targets.PodsOf(ctx, h.Namespace, h.Spec.ScaleTargetRef)
	if err != nil {
		return hr, err
	}
	ready := 0
	for _, p := range pods {
		if podReady(p) {
			ready++
		}
	}
	hr.Findings = append(hr.Findings, hpaFindings(h, found, ready, len(pods), events[h.Namespace+"/"+h.Name]...)...)
	owner := keda.Owner(h)
	var so *keda.ScaledObject
	if owner != "" && w.keda != nil {
		if so, err = w.keda.ScaledObject(ctx, h.Namespace, owner); err != nil {
			return hr, err
		}
		if so != nil {
			hr.Findings = append(hr.Findings, scaledObjectFindings(so)...)
		}
	}
	if names := w.ambiguous[h.Namespace+"/"+h.Name]; len(names) > 1 {
		// MS414 names the HPAs behind the controller's AmbiguousSelector.
		kept := hr.Findings[:0]
		for _, f := range hr.Findings {
			if f.Code != string(CodeCannotCompute) || !strings.Contains(f.Message, "AmbiguousSelector") {
				kept = append(kept, f)
			}
		}
		hr.Findings = append(kept, ambiguousFinding(h, names, owner))
	}
	for _, spec := range h.Spec.Metrics {
		var mr MetricReport
		switch spec.Type {
		case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
			mr = w.walkCustom(ctx, h, spec, pods, found)
		case autoscalingv2.ExternalMetricSourceType:
			if so != nil {
				mr = w.walkKEDA(ctx, h, spec, so)
				break
			}
			mr = w.walkExternal(ctx, h, spec)
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			mr = w.walkResource(ctx, h, spec, pods, found)
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
	hr.Decision = w.decide(ctx, h)
	return hr, nil
}

// newHPAReport is the report of h before its findings and metrics.
func newHPAReport(h *autoscalingv2.HorizontalPodAutoscaler) HPAReport {
	hr := HPAReport{Namespace: h.Namespace, Name: h.Name, ScaleTarget: h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		MaxReplicas: h.Spec.MaxReplicas, CurrentReplicas: h.Status.CurrentReplicas, DesiredReplicas: h.Status.DesiredReplicas,
		Metrics: []MetricReport{}, Findings: []Finding{}, MinReplicas: 1}
	if h.Spec.MinReplicas != nil {
		hr.MinReplicas = *h.Spec.MinReplicas
	}
	return hr
}

// walkCustom diagnoses a Pods or Object metric of h, whose scale target's
// Running pods are pods (found: the scale target exists).
func (w *walker) walkCustom(ctx context.Context, h *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, pods []corev1.Pod, found bool) MetricReport {
	if spec.Type == autoscalingv2.ObjectMetricSourceType {
		exists, err := w.targets.ObjectExists(ctx, h.Namespace, spec.Object.DescribedObject)
		if err == nil && !exists {
			mr := metricHeader(spec)
			mr.Chain = chain(LinkUnknown, LinkUnknown, LinkUnknown, LinkBroken)
			mr.Findings = []Finding{describedObjectMissing(h, spec)}
			return mr
		}
	}
	t := target{pods: readyOnly(pods), running: []string{}}
	for _, p := range pods {
		t.running = append(t.running, p.Name)
	}
	switch {
	case spec.Type != autoscalingv2.PodsMetricSourceType:
	case found:
		t.selector, t.selectorErr = w.targets.PodSelector(ctx, h.Namespace, h.Spec.ScaleTargetRef)
	default:
		t.selectorErr = errors.New("the scale target does not exist")
	}
	return w.walkMetric(ctx, h, spec, t)
}
