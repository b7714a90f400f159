package doctor

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/quantity"
)

// KEDA is what doctor reads of KEDA, lazily: the ScaledObjects that own
// HPAs, and the Prometheus servers their triggers query.
type KEDA interface {
	// ScaledObject returns namespace/name, or nil when there is none (a
	// cluster without KEDA's CRD has none).
	ScaledObject(ctx context.Context, namespace, name string) (*keda.ScaledObject, error)
	// Query runs a trigger's query at its serverAddress as KEDA's
	// prometheus scaler does: one instant query, now. unreachable says why
	// serverAddress does not answer Prometheus's API ("" when it does).
	Query(ctx context.Context, serverAddress, query string) (res prom.QueryResult, unreachable string, err error)
}

// liveKEDA lists the ScaledObjects of a namespace once, and connects to each
// serverAddress once (directly, or through the API server's service proxy
// for an in-cluster Service, since doctor runs outside the cluster).
type liveKEDA struct {
	client  *keda.Client
	env     *kube.Clients
	refused *refusals

	mu      sync.Mutex
	objects map[string]map[string]*keda.ScaledObject // namespace → name →
	conns   map[string]*prometheus.Connection
	queries map[string]queryResult
}

func newLiveKEDA(env *kube.Clients) *liveKEDA {
	return &liveKEDA{client: env.KEDA, env: env, objects: map[string]map[string]*keda.ScaledObject{},
		conns: map[string]*prometheus.Connection{}, queries: map[string]queryResult{}}
}

func (k *liveKEDA) ScaledObject(ctx context.Context, namespace, name string) (*keda.ScaledObject, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	byName, ok := k.objects[namespace]
	if !ok {
		list, err := k.client.List(ctx, namespace)
		// No CRD: the resource is not found, and there are no ScaledObjects.
		if err != nil && !apierrors.IsNotFound(err) {
			k.refused.note(err)
			return nil, fmt.Errorf("listing ScaledObjects in namespace %s: %w", namespace, err)
		}
		byName = map[string]*keda.ScaledObject{}
		for i := range list {
			byName[list[i].Name] = &list[i]
		}
		k.objects[namespace] = byName
	}
	return byName[name], nil
}

func (k *liveKEDA) Query(ctx context.Context, serverAddress, query string) (prom.QueryResult, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	conn, ok := k.conns[serverAddress]
	if !ok {
		conn = prometheus.Connect(ctx, k.env, serverAddress)
		k.conns[serverAddress] = conn
	}
	if !conn.OK() {
		return prom.QueryResult{}, conn.Error, nil
	}
	key := serverAddress + "\x00" + query
	if r, ok := k.queries[key]; ok {
		return r.res, "", r.err
	}
	res, err := conn.Query(ctx, query)
	k.queries[key] = queryResult{res, err}
	return res, "", err
}

// backendService is what the APIService should point at for backend.
func backendService(backend apiservice.Backend, adapterService string) string {
	if backend == apiservice.KEDA {
		return apiservice.KEDAReleaseService + " (KEDA's metrics server)"
	}
	return orUnset(adapterService) + " (prometheus-adapter)"
}

var kedaMetricName = regexp.MustCompile(`^s(\d+)-`)

// scaledObjectFindings judges the ScaledObject as a whole: Ready, Fallback,
// paused.
func scaledObjectFindings(so *keda.ScaledObject) []Finding {
	obj := "ScaledObject " + so.Namespace + "/" + so.Name
	var out []Finding
	if c := so.Condition(keda.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
		out = append(out, newFinding(CodeScaledObjectNotReady, obj, c.Reason, c.Message).
			withFix(Fix{Description: "read KEDA's events on the ScaledObject and the operator's log for the trigger that fails",
				Command: fmt.Sprintf("kubectl describe scaledobject %s -n %s", so.Name, so.Namespace)}))
	}
	if c := so.Condition(keda.ConditionFallback); c != nil && c.Status == metav1.ConditionTrue {
		replicas := int32(0)
		if so.Spec.Fallback != nil {
			replicas = so.Spec.Fallback.Replicas
		}
		f := newFinding(CodeScaledObjectFallback, obj, replicas, c.Message)
		for _, name := range sortedKeys(so.Status.Health) {
			h := so.Status.Health[name]
			if h.NumberOfFailures != nil {
				f = f.withEvidence(fmt.Sprintf("trigger %s: %s, %d consecutive failures", name, h.Status, *h.NumberOfFailures))
			}
		}
		out = append(out, f)
	}
	paused, how := pausedBy(so)
	if paused {
		out = append(out, newFinding(CodeScaledObjectPaused, obj, how).
			withFix(Fix{Description: "remove the annotation to resume autoscaling",
				Command: fmt.Sprintf("kubectl annotate scaledobject %s -n %s %s- %s-", so.Name, so.Namespace, keda.PausedAnnotation, keda.PausedReplicasAnnotation)}))
	}
	return out
}

// pausedBy says whether KEDA pauses the ScaledObject, and how.
func pausedBy(so *keda.ScaledObject) (bool, string) {
	if v, ok := so.Annotations[keda.PausedReplicasAnnotation]; ok {
		return true, fmt.Sprintf("annotation %s=%q: KEDA holds the workload at %s replicas", keda.PausedReplicasAnnotation, v, v)
	}
	if v, ok := so.Annotations[keda.PausedAnnotation]; ok && v != "false" {
		return true, fmt.Sprintf("annotation %s=%q: KEDA removed its HPA's scaling and keeps the current replicas", keda.PausedAnnotation, v)
	}
	if c := so.Condition(keda.ConditionPaused); c != nil && c.Status == metav1.ConditionTrue {
		return true, "condition Paused=True: " + c.Message
	}
	return false, ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// walkKEDA diagnoses an External metric of an HPA that a ScaledObject owns:
// its trigger (s<index>-…), the trigger's query run at its serverAddress as
// KEDA runs it, then the HPA controller's request to the external metrics
// API, which KEDA's metrics server must serve.
func (w *walker) walkKEDA(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, so *keda.ScaledObject) MetricReport {
	m := newHPAMetric(hpa, spec)
	soName := so.Namespace + "/" + so.Name
	mr := metricHeader(spec)
	mr.Object = "ScaledObject/" + so.Name
	link := hpaLink(hpa)

	promLink, triggerLink, fs := w.kedaTrigger(ctx, &m, so)
	mr.Findings = append(mr.Findings, fs...)
	if promLink == LinkBroken || triggerLink == LinkBroken {
		mr.Chain = chain(promLink, triggerLink, LinkUnknown, link)
		return mr
	}

	// The external metrics API, which KEDA's metrics server must serve.
	if w.extBackend == apiservice.Adapter {
		mr.Chain = chain(promLink, triggerLink, LinkBroken, link)
		mr.Findings = append(mr.Findings, newFinding(CodeExternalAPIWrongBackend, m.obj, apiservice.KEDA, w.extService, backendService(apiservice.KEDA, "")).
			withEvidence(fmt.Sprintf("the HPA is owned by ScaledObject %s and reads %s from KEDA's metrics server", soName, m.name)).
			withFix(externalAPIServiceFix(apiservice.KEDA, "")))
		return mr
	}
	var err error
	if m.req, err = hpareq.For(hpa, spec, nil, w.mapper); err != nil || w.ext == nil {
		mr.Chain = chain(promLink, triggerLink, LinkUnknown, link)
		return mr
	}
	if ok, why := w.ext.Available(); !ok {
		mr.Chain = chain(promLink, triggerLink, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeMetricAPIUnavailable, m.obj, m.name, "external", why))
		return mr
	}
	list, err := w.ext.Values(ctx, m.req)
	if err != nil || len(list.Items) == 0 {
		why := "no items"
		if err != nil {
			why = apierr.Message(err)
		}
		mr.Chain = chain(promLink, triggerLink, LinkBroken, LinkBroken)
		mr.Findings = append(mr.Findings, newFinding(CodeNotServed, m.obj, "external", m.name, "namespace "+m.req.Namespace+" (ScaledObject "+soName+")", "").
			withEvidence(m.req.String()+": "+why).
			withFix(Fix{Description: "KEDA's metrics server answers for the ScaledObject only while the operator runs its triggers: read the operator's log for this ScaledObject",
				Command: "kubectl logs -n keda deployment/keda-operator"}))
		return mr
	}
	mr.Current = externalSum(list)
	mr.Request = m.req.Path()
	mr.Chain = chain(promLink, triggerLink, LinkOK, link)
	// A value KEDA serves while not Ready or falling back is not the
	// trigger's.
	mr.Healthy = link == LinkOK && !hasErrors(mr.Findings) && !hasErrors(scaledObjectFindings(so))
	return mr
}

// kedaTrigger judges the trigger of so that serves the metric (s<index>-…):
// a prometheus trigger's query is run as KEDA runs it; another scaler's
// source (a broker, a cloud API) is not doctor's to reach, and the finding
// says so. The links are unknown when no trigger is run.
func (w *walker) kedaTrigger(ctx context.Context, m *hpaMetric, so *keda.ScaledObject) (promLink, triggerLink LinkStatus, out []Finding) {
	soName := so.Namespace + "/" + so.Name
	match := kedaMetricName.FindStringSubmatch(m.name)
	if match == nil {
		return LinkUnknown, LinkUnknown, nil
	}
	i, _ := strconv.Atoi(match[1])
	switch {
	case i < len(so.Spec.Triggers) && so.Spec.Triggers[i].Type == "prometheus":
		return w.runTrigger(ctx, soName, i, so.Spec.Triggers[i])
	case i < len(so.Spec.Triggers):
		t := so.Spec.Triggers[i]
		return LinkUnknown, LinkUnknown, []Finding{newFinding(CodeTriggerNotRun, "ScaledObject "+soName, soName, i, t.Type, m.name).
			withEvidence(fmt.Sprintf("triggers[%d]: type %s, metricType %s, metadata keys %s", i, t.Type, orUnset(string(t.MetricType)), strings.Join(sortedKeys(t.Metadata), ", ")))}
	}
	return LinkUnknown, LinkUnknown, nil
}

// runTrigger runs a prometheus trigger's query at its serverAddress, as
// KEDA's scaler does (one instant query; KEDA refuses a result of more
// than one series), and judges the answer.
func (w *walker) runTrigger(ctx context.Context, soName string, index int, t keda.ScaleTrigger) (promLink, triggerLink LinkStatus, out []Finding) {
	obj := "ScaledObject " + soName
	addr, query := t.Metadata["serverAddress"], t.Metadata["query"]
	evidence := []string{fmt.Sprintf("triggers[%d]: serverAddress %s, query %s, threshold %s, activationThreshold %s, metricType %s",
		index, addr, query, orUnset(t.Metadata["threshold"]), orUnset(t.Metadata["activationThreshold"]), orUnset(string(t.MetricType)))}
	if t.AuthenticationRef != nil {
		kind := t.AuthenticationRef.Kind
		if kind == "" {
			kind = "TriggerAuthentication"
		}
		evidence = append(evidence, fmt.Sprintf("authenticationRef %s %s: doctor does not read its secrets and queries without them",
			kind, t.AuthenticationRef.Name))
	}
	if w.keda == nil {
		return LinkUnknown, LinkUnknown, nil
	}
	res, unreachable, err := w.keda.Query(ctx, addr, query)
	switch {
	case unreachable != "":
		return LinkBroken, LinkUnknown, []Finding{newFinding(CodeTriggerServerUnreachable, obj, soName, index, addr, unreachable).withEvidence(evidence...).
			withFix(Fix{Description: "set the trigger's serverAddress to a Prometheus URL KEDA's operator can reach (in the cluster: http://SERVICE.NAMESPACE.svc:PORT, with Prometheus's path prefix if it has one)"})}
	case err != nil:
		return LinkOK, LinkBroken, []Finding{newFinding(CodeTriggerQueryFails, obj, soName, index, query, addr, err).withEvidence(evidence...).
			withFix(Fix{Description: "fix the trigger's query: run it in Prometheus's UI at serverAddress until it returns one series"})}
	}
	vec := prometheus.Vector(res)
	switch {
	case len(vec) == 0:
		ignore := t.Metadata["ignoreNullValues"]
		return LinkOK, LinkBroken, []Finding{newFinding(CodeTriggerNoData, obj, soName, index, query, addr, emptyResultEffect(ignore)).withEvidence(evidence...).
			withFix(noDataFix(soName, index, ignore))}
	case len(vec) > 1:
		f := newFinding(CodeTriggerManySeries, obj, soName, index, query, len(vec)).withEvidence(evidence...)
		for i, s := range vec {
			if i == 3 {
				f = f.withEvidence(fmt.Sprintf("... %d more", len(vec)-3))
				break
			}
			f = f.withEvidence(fmt.Sprintf("series %s = %s", s.Metric, s.Value))
		}
		return LinkOK, LinkBroken, []Finding{f.withFix(Fix{Description: "aggregate the query to one series: sum(...) (or max/avg by nothing) around it"})}
	}
	value := float64(vec[0].Value)
	activation, aerr := strconv.ParseFloat(t.Metadata["activationThreshold"], 64)
	if aerr == nil && activation > 0 && value <= activation {
		out = append(out, newFinding(CodeTriggerBelowActivation, obj, soName, index, quantity.Format(value), t.Metadata["activationThreshold"]).withEvidence(evidence...))
	}
	return LinkOK, LinkOK, out
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// emptyResultEffect is what KEDA makes of an empty result, by the
// trigger's ignoreNullValues ("" when unset).
func emptyResultEffect(ignoreNullValues string) string {
	switch ignoreNullValues {
	case "false":
		return "with ignoreNullValues: false KEDA fails the trigger, and the HPA cannot read its metric"
	case "":
		return "KEDA reads it as 0 (ignoreNullValues defaults to true), so the HPA scales the workload down on it without any error"
	}
	return "KEDA reads it as 0 (ignoreNullValues: " + ignoreNullValues + "), so the HPA scales the workload down on it without any error"
}

// noDataFix mends the query; with ignoreNullValues true (KEDA's default)
// it first stops KEDA reading no data as 0 (kedacore/keda#3065): the
// trigger then fails, and the HPA holds its replicas (or KEDA's fallback
// applies) until the query returns data again.
func noDataFix(soName string, index int, ignoreNullValues string) Fix {
	check := "check that the series the query selects exist at serverAddress (names and label values), or wrap it in sum(...) or vector(0) if no data is a real zero"
	if ignoreNullValues == "false" {
		return Fix{Description: check}
	}
	return Fix{Description: `set the trigger's ignoreNullValues to "false", so that no data fails the trigger instead of scaling the workload down; then ` + check,
		Command: fmt.Sprintf(`kubectl patch scaledobject %s -n %s --type=json -p '[{"op":"add","path":"/spec/triggers/%d/metadata/ignoreNullValues","value":"false"}]'`,
			refName(soName), refNamespace(soName), index)}
}

func externalSum(list *emv1beta1.ExternalMetricValueList) string {
	sum := 0.0
	for _, it := range list.Items {
		sum += it.Value.AsApproximateFloat64()
	}
	return quantity.Format(sum)
}

// externalAPIServiceFix says where external.metrics.k8s.io must point for
// backend.
func externalAPIServiceFix(backend apiservice.Backend, adapterService string) Fix {
	return Fix{Description: fmt.Sprintf("point APIService %s at %s: one backend serves all external metrics, so HPAs of the other one fail until they are migrated (see who it points at with the command)",
		ExternalAPIService, backendService(backend, adapterService)),
		Command: "kubectl get apiservice " + ExternalAPIService + " -o yaml"}
}

// ambiguousTargets names, for each HPA in scope, the other HPAs (in scope
// or not) that scale the same target: the HPA controller marks them all
// AmbiguousSelector and scales none.
func ambiguousTargets(inScope, others []autoscalingv2.HorizontalPodAutoscaler) map[string][]string {
	byTarget := map[string][]string{}
	seen := map[string]bool{}
	for _, list := range [][]autoscalingv2.HorizontalPodAutoscaler{inScope, others} {
		for _, h := range list {
			if seen[h.Namespace+"/"+h.Name] {
				continue
			}
			seen[h.Namespace+"/"+h.Name] = true
			ref := h.Spec.ScaleTargetRef
			key := h.Namespace + "/" + ref.Kind + "/" + ref.Name
			byTarget[key] = append(byTarget[key], h.Name)
		}
	}
	out := map[string][]string{}
	for _, h := range inScope {
		ref := h.Spec.ScaleTargetRef
		if names := byTarget[h.Namespace+"/"+ref.Kind+"/"+ref.Name]; len(names) > 1 {
			sorted := append([]string{}, names...)
			sort.Strings(sorted)
			out[h.Namespace+"/"+h.Name] = sorted
		}
	}
	return out
}

// ambiguousFinding names the HPAs on one scale target and how to keep one.
func ambiguousFinding(h *autoscalingv2.HorizontalPodAutoscaler, names []string, owner string) Finding {
	ref := h.Spec.ScaleTargetRef
	obj := hpaObject(h)
	desc := fmt.Sprintf("keep one HPA per target: delete all but one (kubectl delete hpa NAME -n %s), or, when a ScaledObject should take over an existing HPA, "+
		"annotate the ScaledObject %s: \"true\" and set its spec.advanced.horizontalPodAutoscalerConfig.name to the existing HPA's name, so KEDA adopts that HPA instead of creating a second one",
		h.Namespace, keda.TransferHPAOwnershipAnnotation)
	f := newFinding(CodeSharedScaleTarget, obj, len(names), ref.Kind, ref.Name, strings.Join(names, ", "))
	if owner != "" {
		f = f.withEvidence("this HPA is KEDA's, for ScaledObject " + owner)
	}
	return f.withFix(Fix{Description: desc})
}
