package doctor

import (
	"slices"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// customMetric carries what the walk reads of a metric: the controller's
// request, the objects the HPA reads and those the adapter's query is
// about, and what the HPA reads in words.
func TestCustomMetricCarries(t *testing.T) {
	ready := runningPods("app-1", "app-2")
	podsH, podsSpec := podsHPA("MessageMetrics")
	objH, objSpec := objectHPA("prom_fake_value", "Service", "prom-fake")
	cases := []struct {
		name                 string
		hpa                  *autoscalingv2.HorizontalPodAutoscaler
		spec                 autoscalingv2.MetricSpec
		t                    target
		resource             schema.GroupResource
		names, queried       []string
		reads, requestedPath string
	}{
		{"pods, every Running pod queried", podsH, podsSpec,
			target{pods: ready, running: []string{"app-1", "app-2", "app-3"}, selector: labels.SelectorFromSet(labels.Set{"app": "app"})},
			schema.GroupResource{Resource: "pods"}, []string{"app-1", "app-2"}, []string{"app-1", "app-2", "app-3"},
			"the pods of Deployment/app", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dapp"},
		{"pods, the Ready ones queried when Running is unknown", podsH, podsSpec,
			target{pods: ready, selector: labels.Everything()},
			schema.GroupResource{Resource: "pods"}, []string{"app-1", "app-2"}, []string{"app-1", "app-2"},
			"the pods of Deployment/app", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics"},
		{"object", objH, objSpec, target{pods: ready},
			schema.GroupResource{Resource: "services"}, []string{"prom-fake"}, []string{"prom-fake"},
			"Service/prom-fake", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/services/prom-fake/prom_fake_value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWalker(t, &fakeProm{ok: true}, &fakeAPI{}, "")
			mr := metricHeader(c.spec)
			m, ok := w.customMetric(c.hpa, c.spec, c.t, &mr)
			if !ok || mr.Chain != nil || len(mr.Findings) > 0 {
				t.Fatalf("stopped: ok %v, chain %v, findings %s", ok, mr.Chain, codes(mr.Findings))
			}
			if m.obj != "HorizontalPodAutoscaler default/app" || m.name != m.req.Metric || m.req.Namespace != "default" || m.req.Resource != c.resource {
				t.Errorf("obj %q, name %q, request %+v", m.obj, m.name, m.req)
			}
			if !slices.Equal(m.names, c.names) || !slices.Equal(m.queried, c.queried) || m.reads != c.reads {
				t.Errorf("names %v, queried %v, reads %q", m.names, m.queried, m.reads)
			}
			if got := m.req.Path(); got != c.requestedPath {
				t.Errorf("request %s, want %s", got, c.requestedPath)
			}
		})
	}
}

// customMetric stops before the request, with the finding that says why,
// when the HPA's spec cannot make one.
func TestCustomMetricStops(t *testing.T) {
	podsH, podsSpec := podsHPA("MessageMetrics")
	badSel := podsSpec
	badSel.Pods = podsSpec.Pods.DeepCopy()
	badSel.Pods.Metric.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a b": "c"}}
	objH, objSpec := objectHPA("prom_fake_value", "NoSuchKind", "x")
	cases := []struct {
		name string
		hpa  *autoscalingv2.HorizontalPodAutoscaler
		spec autoscalingv2.MetricSpec
		t    target
		code Code
	}{
		{"no pod selector", podsH, podsSpec, target{}, CodeNoPodSelector},
		{"invalid metric selector", podsH, badSel, target{selector: labels.Everything()}, CodeInvalidSelector},
		{"described object of no known kind", objH, objSpec, target{}, CodeDescribedObjectMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWalker(t, &fakeProm{ok: true}, &fakeAPI{}, "")
			mr := metricHeader(c.spec)
			if _, ok := w.customMetric(c.hpa, c.spec, c.t, &mr); ok {
				t.Fatal("went on to the request")
			}
			if codes(mr.Findings) != string(c.code) || len(mr.Chain) != 4 || mr.Chain[3].Status != LinkBroken {
				t.Errorf("findings %s, chain %v", codes(mr.Findings), mr.Chain)
			}
		})
	}
}
