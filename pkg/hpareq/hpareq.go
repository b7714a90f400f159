// Package hpareq builds the request the HPA controller makes to the metrics
// APIs for one metric of an HPA (k8s.io/kubernetes
// pkg/controller/podautoscaler/metrics), sends it with client-go's metrics
// clients exactly as the controller does, and renders the Prometheus query
// prometheus-adapter runs for it. doctor, watch and add-rule's --hpa ask
// only this: what they see is what the controller sees, metric selector and
// pod selector included.
//
// For builds the Request (type, namespace, metric, resource and kind, the
// described object, the scale target's pod selector, the metric selector);
// Path is its URL, used as evidence and as a cache key; Custom and External
// send it with client-go's metrics clients, the controller's own calls; Query
// renders the Prometheus query the adapter runs for it, with the rule's
// MetricNamer.
package hpareq

import (
	"fmt"
	"net/url"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"
	externalmetrics "k8s.io/metrics/pkg/client/external_metrics"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Request is one metric request of the HPA controller.
type Request struct {
	Type      autoscalingv2.MetricSourceType
	Namespace string
	Metric    string
	// Resource and Kind name the objects the metric describes: pods for a
	// Pods metric, the described object's for an Object metric; empty for
	// an External metric.
	Resource schema.GroupResource
	Kind     schema.GroupKind
	// Name is the described object of an Object metric (for a Namespace,
	// the HPA's own namespace, as the controller asks).
	Name string
	// PodSelector is the scale target's selector (Pods metrics only).
	PodSelector labels.Selector
	// MetricSelector is the metric's selector; Everything when it has none.
	MetricSelector labels.Selector
}

// For builds the request the controller makes for spec, a metric of hpa.
// podSelector is the scale target's selector as its scale subresource
// states it (status.selector); only Pods metrics read it. Resource and
// ContainerResource metrics are not requests of the custom or external
// metrics APIs: For returns an error for them.
func For(hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, podSelector labels.Selector, mapper apimeta.RESTMapper) (Request, error) {
	r := Request{Type: spec.Type, Namespace: hpa.Namespace}
	var sel *metav1.LabelSelector
	switch spec.Type {
	case autoscalingv2.PodsMetricSourceType:
		if spec.Pods == nil {
			return r, fmt.Errorf("metric of type Pods without pods")
		}
		r.Metric, sel = spec.Pods.Metric.Name, spec.Pods.Metric.Selector
		r.Resource, r.Kind = schema.GroupResource{Resource: "pods"}, schema.GroupKind{Kind: "Pod"}
		if podSelector == nil {
			return r, fmt.Errorf("no pod selector for the scale target %s/%s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
		}
		r.PodSelector = podSelector
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object == nil {
			return r, fmt.Errorf("metric of type Object without object")
		}
		ref := spec.Object.DescribedObject
		r.Metric, sel = spec.Object.Metric.Name, spec.Object.Metric.Selector
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			return r, err
		}
		r.Kind, r.Name = schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, ref.Name
		if r.namespaceMetric() {
			// The controller asks for the HPA's own namespace, whatever the
			// reference names.
			r.Name = hpa.Namespace
		}
		if r.Resource, err = kube.ResourceFor(mapper, ref.APIVersion, ref.Kind); err != nil {
			return r, err
		}
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External == nil {
			return r, fmt.Errorf("metric of type External without external")
		}
		r.Metric, sel = spec.External.Metric.Name, spec.External.Metric.Selector
	default:
		return r, fmt.Errorf("a %s metric is not read from the custom or external metrics API", spec.Type)
	}
	r.MetricSelector = labels.Everything()
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return r, fmt.Errorf("metric %s: invalid selector: %w", r.Metric, err)
		}
		r.MetricSelector = s
	}
	return r, nil
}

// namespaceMetric is an Object metric describing a Namespace: the
// controller asks the root-scoped client, which has its own path.
func (r Request) namespaceMetric() bool {
	return r.Type == autoscalingv2.ObjectMetricSourceType && r.Kind == schema.GroupKind{Kind: "Namespace"}
}

// Path is the URL of the request (API group version v1beta1; the
// parameters are the same in every version), as evidence. It identifies
// the request: two HPAs whose metrics have the same path make the same
// request.
func (r Request) Path() string {
	q := url.Values{}
	var p string
	switch r.Type {
	case autoscalingv2.ExternalMetricSourceType:
		p = fmt.Sprintf("/apis/external.metrics.k8s.io/v1beta1/namespaces/%s/%s", r.Namespace, r.Metric)
		setNonEmpty(q, "labelSelector", r.MetricSelector.String())
		return withQuery(p, q)
	case autoscalingv2.PodsMetricSourceType:
		p = fmt.Sprintf("/apis/custom.metrics.k8s.io/v1beta1/namespaces/%s/%s/*/%s", r.Namespace, r.Resource.String(), r.Metric)
		setNonEmpty(q, "labelSelector", r.PodSelector.String())
	default:
		if r.namespaceMetric() {
			p = fmt.Sprintf("/apis/custom.metrics.k8s.io/v1beta1/namespaces/%s/metrics/%s", r.Name, r.Metric)
		} else {
			p = fmt.Sprintf("/apis/custom.metrics.k8s.io/v1beta1/namespaces/%s/%s/%s/%s", r.Namespace, r.Resource.String(), r.Name, r.Metric)
		}
	}
	setNonEmpty(q, "metricLabelSelector", r.MetricSelector.String())
	return withQuery(p, q)
}

// String is the request as evidence: "GET <path>".
func (r Request) String() string { return "GET " + r.Path() }

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func withQuery(p string, q url.Values) string {
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// Custom sends a Pods or Object request with the custom metrics client, with
// the calls the controller makes: GetForObjects for a Pods metric, the
// root-scoped GetForObject for a Namespace, the namespaced GetForObject for
// any other object. An Object metric's single value comes back as a list
// of one.
func (r Request) Custom(c custommetrics.CustomMetricsClient) (*cmv1beta2.MetricValueList, error) {
	switch {
	case r.Type == autoscalingv2.PodsMetricSourceType:
		return c.NamespacedMetrics(r.Namespace).GetForObjects(r.Kind, r.PodSelector, r.Metric, r.MetricSelector)
	case r.Type == autoscalingv2.ObjectMetricSourceType:
		var v *cmv1beta2.MetricValue
		var err error
		if r.namespaceMetric() {
			v, err = c.RootScopedMetrics().GetForObject(r.Kind, r.Name, r.Metric, r.MetricSelector)
		} else {
			v, err = c.NamespacedMetrics(r.Namespace).GetForObject(r.Kind, r.Name, r.Metric, r.MetricSelector)
		}
		if err != nil {
			return nil, err
		}
		return &cmv1beta2.MetricValueList{Items: []cmv1beta2.MetricValue{*v}}, nil
	}
	return nil, fmt.Errorf("a %s metric is not served by the custom metrics API", r.Type)
}

// External sends an External request with the external metrics client, as
// the controller does.
func (r Request) External(c externalmetrics.ExternalMetricsClient) (*emv1beta1.ExternalMetricValueList, error) {
	if r.Type != autoscalingv2.ExternalMetricSourceType {
		return nil, fmt.Errorf("a %s metric is not served by the external metrics API", r.Type)
	}
	return c.NamespacedMetrics(r.Namespace).List(r.Metric, r.MetricSelector)
}

// Query renders the Prometheus query prometheus-adapter runs to answer the
// request, with the rule that serves the metric: for custom metrics the
// objects are the names the adapter asks about (the pods the pod selector
// matches, or the described object), and the metric selector's matchers
// are added to the rule's label matchers.
func (r Request) Query(m *simulate.Metric, objects []string) (prom.Selector, error) {
	if m == nil || m.Rule == nil || m.Rule.Namer == nil {
		return "", fmt.Errorf("no rule serves %s", r.Metric)
	}
	if r.Type == autoscalingv2.ExternalMetricSourceType {
		return m.Rule.Namer.QueryForExternalSeries(m.SeriesName, r.Namespace, r.MetricSelector)
	}
	if len(objects) == 0 {
		// The adapter answers "not found" without a query.
		return "", fmt.Errorf("no objects to query %s for", r.Metric)
	}
	ns := r.Namespace
	if r.namespaceMetric() {
		// A namespace is asked for by name, outside any namespace.
		ns = ""
	}
	return m.Rule.Namer.QueryForSeries(m.SeriesName, r.Resource, ns, r.MetricSelector, objects...)
}

// Objects are the names the adapter queries for: the described object of
// an Object metric; for a Pods metric, the given pods (those the pod
// selector matches); nothing for an External metric.
func (r Request) Objects(pods []string) []string {
	switch r.Type {
	case autoscalingv2.PodsMetricSourceType:
		return pods
	case autoscalingv2.ObjectMetricSourceType:
		return []string{r.Name}
	}
	return nil
}
