package doctor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/pager"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	adapterchain "github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

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

// Collected is everything doctor reads before it judges: the HPAs in scope,
// the APIServices, the adapter's chain (adapter, config, Prometheus,
// simulated discovery), and the sources the walk reads lazily, behind small
// interfaces, with one request per distinct request of the HPA controller.
type Collected struct {
	Now time.Time
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
	// AdapterServiceAccount may not list the Denied resources its rules map.
	AdapterServiceAccount string
	Denied                []schema.GroupResource
	// Events are the HPAs' warning events by namespace/name.
	Events map[string][]corev1.Event

	// Mapper names the resources of kinds, as the API server does.
	Mapper     apimeta.RESTMapper
	API        MetricsAPI
	External   ExternalAPI
	Prometheus Prometheus
	Targets    Targets
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
}

// Collect reads the cluster for doctor: the HPAs, the APIServices, the
// adapter's chain, and what the findings need as evidence. The metric
// values the walk will read are fetched ahead, a few at a time.
func Collect(ctx context.Context, env Env, o Options) (*Collected, error) {
	in := &Collected{Now: o.Now, SeriesWindow: o.SeriesWindow, ServerMinor: -1}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if in.SeriesWindow == 0 {
		in.SeriesWindow = time.Hour
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
	in.HPAs = hpas
	if in.APIServices, err = apiServices(ctx, env.Aggregator); err != nil {
		return nil, fmt.Errorf("reading APIServices: %w", err)
	}
	customSvc, externalSvc := in.APIServices[0], in.APIServices[1]

	co := o.Chain
	co.ServiceNamespace, co.ServiceName = refNamespace(customSvc.Service), refName(customSvc.Service)
	ch := adapterchain.Load(ctx, &env, co, adapterchain.StageDiscovery, in.Now)
	in.Chain = ch
	if v, err := env.Client.Discovery().ServerVersion(); err == nil {
		in.ServerMinor, _ = strconv.Atoi(strings.TrimRight(v.Minor, "+"))
	}
	if ch.Prometheus != nil && !ch.Prometheus.OK() {
		in.PrometheusCandidates = prometheusServices(ctx, env.Client)
	}
	if ch.Discovery != nil {
		in.AdapterServiceAccount, in.Denied = adapterDenied(ctx, env.Client, ch.Adapter, ch.Discovery)
	}

	meta, err := metadata.NewForConfig(env.Rest)
	if err != nil {
		return nil, err
	}
	tg := newTargets(env.Client, meta, env.Mapper, ns, hpas)
	if tg.scales, err = scale.NewForConfig(env.Rest, env.Mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(env.Discovery)); err != nil {
		return nil, err
	}
	in.Targets = tg
	api := newLiveAPI(ctx, env.Client.Discovery().RESTClient(), env.Rest, env.Mapper, customSvc)
	api.prefetch(ctx, hpas, tg, env.Mapper, 8)
	in.Mapper = env.Mapper
	in.API = api
	in.External = newLiveExternalAPI(env.Rest, externalSvc)
	in.Prometheus = &livePrometheus{conn: ch.Prometheus, series: map[string][]prom.Series{}, queries: map[string]queryResult{}}
	if needEvents(hpas) {
		in.Events = hpaEvents(ctx, env.Client, ns)
	}
	return in, nil
}
