package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"

	"github.com/metricscale/kubectl-metricscale/pkg/hpastatus"
	"github.com/metricscale/kubectl-metricscale/pkg/resourceusage"
)

// ResourceMetrics is the view of the resource metrics API (metrics.k8s.io,
// served by metrics-server) the walk needs for Resource and
// ContainerResource metrics.
type ResourceMetrics interface {
	// Available reports whether the API answers, and why not.
	Available() (bool, string)
	// PodMetrics is the HPA controller's request: the PodMetrics of the
	// pods the selector selects in the namespace.
	PodMetrics(ctx context.Context, namespace string, selector labels.Selector) ([]metricsv1beta1.PodMetrics, error)
}

// liveResourceMetrics lists PodMetrics once per namespace (once for the
// whole cluster with -A) and selects from that list, as the controller's
// selector would.
type liveResourceMetrics struct {
	client    metricsclient.PodMetricsesGetter
	scope     string // "" for all namespaces
	refused   *refusals
	available bool
	why       string

	mu    sync.Mutex
	lists map[string]podMetricsList
}

type podMetricsList struct {
	items []metricsv1beta1.PodMetrics
	err   error
}

func newLiveResourceMetrics(client metricsclient.PodMetricsesGetter, scope string, svc APIService) *liveResourceMetrics {
	r := &liveResourceMetrics{client: client, scope: scope, lists: map[string]podMetricsList{}}
	switch {
	case !svc.Present:
		r.why = "no APIService registers metrics.k8s.io"
	case !svc.Available:
		r.why = fmt.Sprintf("APIService Available=False %s: %s", svc.Reason, svc.Message)
	default:
		r.available = true
	}
	return r
}

func (r *liveResourceMetrics) Available() (bool, string) { return r.available, r.why }

func (r *liveResourceMetrics) PodMetrics(ctx context.Context, ns string, sel labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	listNS := ns
	if r.scope == "" {
		listNS = ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.lists[listNS]
	if !ok {
		list, err := r.client.PodMetricses(listNS).List(ctx, metav1.ListOptions{})
		r.refused.note(err)
		l.err = err
		if err == nil {
			l.items = list.Items
		}
		r.lists[listNS] = l
	}
	if l.err != nil {
		return nil, l.err
	}
	var out []metricsv1beta1.PodMetrics
	for _, pm := range l.items {
		if pm.Namespace == ns && sel.Matches(labels.Set(pm.Labels)) {
			out = append(out, pm)
		}
	}
	return out, nil
}

// resourceChain is the picture of a resource metric: the resource metrics
// API, then the HPA.
func resourceChain(api, hpa LinkStatus) []Link {
	return []Link{{LinkAPI, api}, {LinkHPA, hpa}}
}

// walkResource diagnoses a Resource or ContainerResource metric of hpa,
// whose scale target's Running pods are pods (found: the target exists): it
// sends the controller's request to the resource metrics API, reproduces
// its arithmetic on the answer and the pods, and names what keeps it from a
// value. Without a resource metrics source it relays the HPA's own word.
func (w *walker) walkResource(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, pods []corev1.Pod, found bool) MetricReport {
	if w.res == nil {
		return otherMetric(hpa, spec)
	}
	t := target{selectorErr: errors.New("the scale target does not exist")}
	if found {
		t.selector, t.selectorErr = w.targets.PodSelector(ctx, hpa.Namespace, hpa.Spec.ScaleTargetRef)
	}
	m, _ := resourceusage.MetricOf(spec)
	obj := hpaObject(hpa)
	mr := MetricReport{Type: string(spec.Type), Name: string(m.Resource), Target: targetString(m.Target), Current: resourceCurrent(hpa, spec)}
	if m.Container != "" {
		mr.Object = "Container/" + m.Container
	}
	hpaLink := hpaLink(hpa)
	if ok, why := w.res.Available(); !ok {
		mr.Chain = resourceChain(LinkBroken, LinkBroken)
		mr.Findings = []Finding{newFinding(CodeMetricAPIUnavailable, obj, m.Resource, "resource", why)}
		return mr
	}
	if t.selector == nil {
		ref := hpa.Spec.ScaleTargetRef
		mr.Chain = resourceChain(LinkUnknown, LinkBroken)
		mr.Findings = []Finding{newFinding(CodeNoPodSelector, obj, m.Resource, ref.Kind, ref.Name, errString(t.selectorErr))}
		return mr
	}
	list, err := w.res.PodMetrics(ctx, hpa.Namespace, t.selector)
	if err != nil {
		mr.Chain = resourceChain(LinkBroken, LinkBroken)
		mr.Findings = []Finding{newFinding(CodeMetricAPIUnavailable, obj, m.Resource, "resource", err.Error())}
		return mr
	}
	r := resourceusage.Analyze(m, pods, list, w.now)
	mr.Findings = w.resourceFindings(hpa, r)
	if v, err := r.Value(); err == nil {
		mr.Request = podMetricsPath(hpa.Namespace, t.selector)
		mr.Now = valueString(m, v, r)
		if mr.Current == "" {
			mr.Current = mr.Now
		}
	}
	api := LinkOK
	if r.Counted == 0 {
		api = LinkBroken
	}
	mr.Chain = resourceChain(api, hpaLink)
	mr.Healthy = hpaLink == LinkOK && !hasErrors(mr.Findings)
	return mr
}

// resourceFindings names what keeps the controller from a value, or from
// some pods' values.
func (w *walker) resourceFindings(hpa *autoscalingv2.HorizontalPodAutoscaler, r resourceusage.Reading) []Finding {
	obj, m, pods := hpaObject(hpa), r.Metric, len(r.Samples)
	ref := hpa.Spec.ScaleTargetRef
	target := ref.Kind + "/" + ref.Name
	var out []Finding
	if len(r.Absent) > 0 {
		out = append(out, newFinding(CodeContainerNotInPods, obj, m.Resource, m.Container, len(r.Absent), pods, target).
			withEvidence("pods without it: "+strings.Join(r.Absent, ", ")).
			withFix(Fix{Description: fmt.Sprintf("name one of the pods' containers in spec.metrics[].containerResource.container (now %q)", m.Container)}))
	}
	unrequested := map[string][]string{} // container → pods
	for _, u := range r.Unrequested {
		unrequested[u.Container] = append(unrequested[u.Container], u.Pod)
	}
	for _, c := range sortedKeys(unrequested) {
		out = append(out, newFinding(CodeNoResourceRequest, obj, target, c, m.Resource, m.Resource, m.Resource, c, unrequested[c][0]).
			withEvidence(fmt.Sprintf("%d of %d pods run container %s without a %s request", len(unrequested[c]), pods, c, m.Resource)).
			withFix(setRequestFix(hpa.Namespace, ref, c, m.Resource, requestFor(m.Resource, r.ContainerUsage[c]))))
	}
	if len(out) > 0 {
		return out
	}
	switch ignored := r.Ignored(); {
	case pods == 0:
	case r.Counted == 0:
		out = append(out, newFinding(CodeResourceNoPodValue, obj, m.Resource, pods, target).withEvidence(ignored...))
	case len(ignored) > 0:
		out = append(out, newFinding(CodeResourceSomePods, obj, m.Resource, len(ignored), pods, target).withEvidence(ignored...))
	}
	return out
}

// setRequestFix is the command that gives a container a request, named on
// the scale target's pod template.
func setRequestFix(ns string, ref autoscalingv2.CrossVersionObjectReference, container string, res corev1.ResourceName, request string) Fix {
	return Fix{Description: fmt.Sprintf("give container %s of %s %s a %s request (%s: about its usage now; a Utilization target is a percentage of it)",
		container, ref.Kind, ref.Name, res, request),
		Command: fmt.Sprintf("kubectl set resources %s/%s -n %s -c %s --requests=%s=%s", strings.ToLower(ref.Kind), ref.Name, ns, container, res, request)}
}

// requestFor proposes a request near the container's usage now (most, in
// milli-units): cpu in tens of millicores, memory in MiB; 100m or 128Mi
// without a value.
func requestFor(res corev1.ResourceName, most int64) string {
	if res == corev1.ResourceMemory {
		const mi = 1 << 20 * 1000 // MiB in milli-bytes
		if most == 0 {
			return "128Mi"
		}
		return fmt.Sprintf("%dMi", (most+mi-1)/mi)
	}
	if most == 0 {
		return "100m"
	}
	return fmt.Sprintf("%dm", max(10, (most+9)/10*10))
}

// resourceCurrent is the value the controller wrote for the metric at its
// last sync: "45%" for a Utilization target, else the average usage.
func resourceCurrent(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec) string {
	cur := hpastatus.Current(hpa, spec)
	switch {
	case cur == nil:
		return ""
	case spec.Resource != nil && spec.Resource.Target.Type == autoscalingv2.UtilizationMetricType && cur.AverageUtilization != nil,
		spec.ContainerResource != nil && spec.ContainerResource.Target.Type == autoscalingv2.UtilizationMetricType && cur.AverageUtilization != nil:
		return fmt.Sprintf("%d%%", *cur.AverageUtilization)
	case cur.AverageValue != nil:
		return cur.AverageValue.String()
	}
	return ""
}

// valueString words the value the controller computes as resourceCurrent
// words the one it wrote: "45%", or the average usage as kubectl top shows
// it (250m, 64Mi).
func valueString(m resourceusage.Metric, v resourceusage.Value, r resourceusage.Reading) string {
	if m.Target.Type == autoscalingv2.UtilizationMetricType {
		return fmt.Sprintf("%d%%", v.Utilization)
	}
	format := resource.DecimalSI
	if m.Resource == corev1.ResourceMemory {
		format = resource.BinarySI
	}
	return resource.NewMilliQuantity(r.UsageTotal/int64(r.Counted), format).String()
}

// podMetricsPath is the controller's request, as evidence.
func podMetricsPath(ns string, sel labels.Selector) string {
	return "/apis/metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods?labelSelector=" + sel.String()
}

func errString(err error) string {
	if err == nil {
		return "unknown"
	}
	return err.Error()
}

// MetricsServer is a Service that looks like metrics-server's, found when
// no APIService registers metrics.k8s.io: the APIService to apply then
// points at it.
type MetricsServer struct {
	Namespace, Name string
	Port            int32
}

// resourceAPICheck is what judging the resource metrics APIService needs.
type resourceAPICheck struct {
	svc APIService
	// needing counts the HPAs in scope with Resource or ContainerResource
	// metrics.
	needing       int
	metricsServer *MetricsServer
	// adapterService is the adapter's Service (namespace/name) and
	// resourceRules whether its config has them.
	adapterService string
	resourceRules  bool
}

// checkResourceAPIService judges v1beta1.metrics.k8s.io for the HPAs that
// read cpu or memory: missing, unavailable, or served by the adapter.
func checkResourceAPIService(c resourceAPICheck) []Finding {
	s := c.svc
	obj := "APIService " + s.Name
	switch {
	case !s.Present && c.needing > 0:
		return []Finding{newFinding(CodeResourceAPIServiceMissing, obj, c.needing).withFix(resourceAPIFix(c.metricsServer))}
	case !s.Present:
		return nil
	case !s.Available:
		return []Finding{unavailableFinding(s, c.needing > 0, "metrics-server")}
	case s.Service == "" || s.Service != c.adapterService:
		return nil
	case !c.resourceRules && c.needing > 0:
		return []Finding{newFinding(CodeResourceRulesMissing, obj, s.Name, s.Service).
			withFix(Fix{Description: "add resourceRules to the adapter's config (the Helm chart: rules.resource), or point the APIService at metrics-server"})}
	}
	return []Finding{newFinding(CodeResourceAPIByAdapter, obj, s.Name, s.Service)}
}

// resourceAPIFix registers metrics-server's APIService when its Service is
// there, else installs metrics-server from its release manifest, which
// registers it.
func resourceAPIFix(ms *MetricsServer) Fix {
	if ms == nil {
		return Fix{Description: "install metrics-server; its release manifest creates the APIService (with Helm: the metrics-server chart of kubernetes-sigs)",
			Command: "kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.8.0/components.yaml"}
	}
	port := ""
	if ms.Port != 443 && ms.Port != 0 {
		port = fmt.Sprintf(", port: %d", ms.Port)
	}
	return Fix{Description: fmt.Sprintf("Service %s/%s is there, but no APIService points at it: register it as metrics-server's release manifest does", ms.Namespace, ms.Name),
		YAML: fmt.Sprintf(`apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: %s
  labels: {k8s-app: metrics-server}
spec:
  group: metrics.k8s.io
  version: v1beta1
  service: {name: %s, namespace: %s%s}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
`, ResourceAPIService, ms.Name, ms.Namespace, port)}
}

// resourceNeeds counts the HPAs that read a Resource or ContainerResource
// metric.
func resourceNeeds(hpas []autoscalingv2.HorizontalPodAutoscaler) int {
	n := 0
	for i := range hpas {
		for _, m := range hpas[i].Spec.Metrics {
			if _, ok := resourceusage.MetricOf(m); ok {
				n++
				break
			}
		}
	}
	return n
}
