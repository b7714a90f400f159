package hpareq

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	cmv1beta1 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta1"
	custommetrics "k8s.io/metrics/pkg/client/custom_metrics"
	externalmetrics "k8s.io/metrics/pkg/client/external_metrics"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/yaml"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate/simulatetest"
)

const rules = `
rules:
- seriesQuery: '{__name__="MessageMetrics",namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__="requests",namespace!="",service!=""}'
  resources: {overrides: {namespace: {resource: namespace}, service: {resource: service}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{__name__="backlog",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: '{__name__="queue_depth",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func discovery(t *testing.T) *simulate.Discovery {
	t.Helper()
	var cfg config.MetricsDiscoveryConfig
	if err := yaml.UnmarshalStrict([]byte(rules), &cfg); err != nil {
		t.Fatal(err)
	}
	src := simulatetest.Source{
		simulatetest.Series("MessageMetrics{job=interlok,namespace=default,pod=app-1}"),
		simulatetest.Series("requests{namespace=default,service=web}"),
		simulatetest.Series("backlog{namespace=default}"),
		simulatetest.Series("queue_depth{namespace=default,queue=orders}"),
	}
	return simulate.Run(context.Background(), src, &cfg, kubetest.DiscoveryMapper(), 10*time.Minute, time.Now(), simulate.KeepAll)
}

func hpaWith(spec autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "app"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "app"},
			Metrics: []autoscalingv2.MetricSpec{spec}}}
}

func ident(name string, sel *metav1.LabelSelector) autoscalingv2.MetricIdentifier {
	return autoscalingv2.MetricIdentifier{Name: name, Selector: sel}
}

var jobInterlok = &metav1.LabelSelector{MatchLabels: map[string]string{"job": "interlok"}}

func pods(sel *metav1.LabelSelector) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: ident("MessageMetrics", sel)}}
}

func object(apiVersion, kind, name, metric string, sel *metav1.LabelSelector) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Metric: ident(metric, sel),
		DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: name}}}
}

func external(sel *metav1.LabelSelector) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: ident("queue_depth", sel)}}
}

// recorder is a metrics API server that records the request URIs and
// answers each with one value.
type recorder struct {
	mu   sync.Mutex
	uris []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	// The path decoded (the client escapes * as %2A), the query as sent.
	uri := r.URL.Path
	if r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	rec.uris = append(rec.uris, uri)
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if strings.HasPrefix(r.URL.Path, "/apis/external.metrics.k8s.io/") {
		_, _ = w.Write([]byte(`{"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","items":[{"metricName":"queue_depth","timestamp":null,"value":"3"}]}`))
		return
	}
	list := cmv1beta1.MetricValueList{TypeMeta: metav1.TypeMeta{Kind: "MetricValueList", APIVersion: "custom.metrics.k8s.io/v1beta1"},
		Items: []cmv1beta1.MetricValue{{MetricName: "m"}}}
	_ = json.NewEncoder(w).Encode(list)
}

func (rec *recorder) last() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.uris) == 0 {
		return ""
	}
	return rec.uris[len(rec.uris)-1]
}

func TestRequest(t *testing.T) {
	mapper := kubetest.DiscoveryMapper()
	disc := discovery(t)
	podSel := labels.SelectorFromSet(labels.Set{"app": "interlok"})
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	cm, err := custommetrics.NewForVersionForConfig(cfg, mapper, cmv1beta1.SchemeGroupVersion)
	if err != nil {
		t.Fatal(err)
	}
	em, err := externalmetrics.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		spec      autoscalingv2.MetricSpec
		resource  schema.GroupResource
		path      string
		objects   []string // the adapter's objects for Query
		query     string
		wantError string
	}{
		{name: "Pods without selector", spec: pods(nil), resource: schema.GroupResource{Resource: "pods"},
			path:    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dinterlok",
			objects: []string{"app-1", "app-2"},
			query:   `sum(MessageMetrics{namespace="default",pod=~"app-1|app-2"}) by (pod)`},
		{name: "Pods with selector", spec: pods(jobInterlok), resource: schema.GroupResource{Resource: "pods"},
			path:    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dinterlok&metricLabelSelector=job%3Dinterlok",
			objects: []string{"app-1"},
			query:   `sum(MessageMetrics{job="interlok",namespace="default",pod="app-1"}) by (pod)`},
		{name: "Object without selector", spec: object("v1", "Service", "web", "requests", nil), resource: schema.GroupResource{Resource: "services"},
			path:  "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/services/web/requests",
			query: `sum(requests{namespace="default",service="web"}) by (service)`},
		{name: "Object with selector", spec: object("v1", "Service", "web", "requests", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "code", Operator: metav1.LabelSelectorOpIn, Values: []string{"200", "201"}}}}),
			resource: schema.GroupResource{Resource: "services"},
			path:     "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/services/web/requests?metricLabelSelector=code+in+%28200%2C201%29",
			query:    `sum(requests{code=~"200|201",namespace="default",service="web"}) by (service)`},
		{name: "Object in a group", spec: object("networking.k8s.io/v1", "Ingress", "main", "requests", jobInterlok), resource: schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"},
			path: "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/ingresses.networking.k8s.io/main/requests?metricLabelSelector=job%3Dinterlok"},
		{name: "Namespace: root-scoped, the HPA's own namespace", spec: object("v1", "Namespace", "elsewhere", "backlog", jobInterlok), resource: schema.GroupResource{Resource: "namespaces"},
			path:  "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/metrics/backlog?metricLabelSelector=job%3Dinterlok",
			query: `sum(backlog{job="interlok",namespace="default"}) by (namespace)`},
		{name: "External without selector", spec: external(nil),
			path:  "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth",
			query: `sum(queue_depth{namespace="default"}) by ()`},
		{name: "External with selector", spec: external(&metav1.LabelSelector{MatchLabels: map[string]string{"queue": "orders"}}),
			path:  "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Dorders",
			query: `sum(queue_depth{queue="orders",namespace="default"}) by ()`},
		{name: "invalid selector", spec: pods(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "job", Operator: "Near"}}}), wantError: "invalid selector"},
		{name: "unknown kind", spec: object("v1", "Gadget", "g", "requests", nil), wantError: "Gadget"},
		{name: "Resource metric", spec: autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType}, wantError: "not read from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hpaWith(c.spec)
			r, err := For(h, c.spec, podSel, mapper)
			if c.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantError) {
					t.Fatalf("error %v, want one naming %q", err, c.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Resource != c.resource {
				t.Errorf("resource %v, want %v", r.Resource, c.resource)
			}
			if got := r.Path(); got != c.path {
				t.Errorf("path\n got %s\nwant %s", got, c.path)
			}
			// The client sends exactly the path.
			if r.Type == autoscalingv2.ExternalMetricSourceType {
				_, err = r.External(em)
			} else {
				_, err = r.Custom(cm)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.last(); got != c.path {
				t.Errorf("the client requested\n%s\nnot the path\n%s", got, c.path)
			}
			if c.query == "" {
				return
			}
			var m *simulate.Metric
			if r.Type == autoscalingv2.ExternalMetricSourceType {
				m = disc.Served(schema.GroupResource{}, r.Metric)
			} else {
				m = disc.Served(r.Resource, r.Metric)
			}
			q, err := r.Query(m, r.Objects(c.objects))
			if err != nil {
				t.Fatal(err)
			}
			if string(q) != c.query {
				t.Errorf("query\n got %s\nwant %s", q, c.query)
			}
		})
	}
}

func TestPodsNeedASelector(t *testing.T) {
	spec := pods(nil)
	if _, err := For(hpaWith(spec), spec, nil, kubetest.DiscoveryMapper()); err == nil {
		t.Fatal("a Pods request without the scale target's selector is not the controller's")
	}
}

func TestQueryWithoutObjects(t *testing.T) {
	spec := pods(nil)
	r, err := For(hpaWith(spec), spec, labels.Everything(), kubetest.DiscoveryMapper())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Query(discovery(t).Served(r.Resource, r.Metric), nil); err == nil {
		t.Fatal("the adapter makes no query without objects")
	}
}
