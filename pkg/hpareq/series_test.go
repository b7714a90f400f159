package hpareq

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
)

// The series an HPA metric needs: pinned to the HPA's namespace, the
// described object and the metric selector, never to pods.
func TestSeries(t *testing.T) {
	cases := []struct {
		name string
		spec autoscalingv2.MetricSpec
		want string
	}{
		{"pods", pods(nil), `MessageMetrics{namespace="default"}`},
		{"pods with a selector", pods(jobInterlok), `MessageMetrics{namespace="default",job="interlok"}`},
		{"pods with set-based selectors", pods(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "job", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}, {Key: "shard", Operator: metav1.LabelSelectorOpDoesNotExist}}}),
			`MessageMetrics{namespace="default",job=~"a|b",shard=""}`},
		{"object", object("v1", "Service", "web", "requests", nil), `requests{namespace="default",service="web"}`},
		{"namespace object", object("v1", "Namespace", "default", "backlog", nil), `backlog{namespace="default"}`},
		{"external", external(nil), `sum(queue_depth{namespace="default"}) by ()`},
	}
	disc := discovery(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := For(hpaWith(tc.spec), tc.spec, labels.Everything(), kubetest.DiscoveryMapper())
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Series(disc.Served(r.Resource, r.Metric))
			if err != nil || string(got) != tc.want {
				t.Fatalf("%q, %v; want %q", got, err, tc.want)
			}
		})
	}
	r, _ := For(hpaWith(pods(nil)), pods(nil), labels.Everything(), kubetest.DiscoveryMapper())
	if _, err := r.Series(nil); err == nil {
		t.Error("a metric no rule serves has a series")
	}
}
