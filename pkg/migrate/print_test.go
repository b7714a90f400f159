package migrate

import (
	"bytes"
	"context"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	aggregatorfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
)

func scaledObject(name string) *keda.ScaledObject {
	return &keda.ScaledObject{TypeMeta: metav1.TypeMeta{APIVersion: keda.GroupVersion.String(), Kind: "ScaledObject"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec:       keda.ScaledObjectSpec{Advanced: &keda.AdvancedConfig{HorizontalPodAutoscalerConfig: &keda.HorizontalPodAutoscalerConfig{Name: name}}}}
}

// results: web migrates and passes its check, queue's check differs, cpu
// has a metric KEDA cannot take.
func results() []Result {
	ok := &Check{Adapter: 100, KEDA: 100, AdapterReplicas: 1, KEDAReplicas: 1}
	differs := &Check{Adapter: 100, KEDA: 150, AdapterReplicas: 1, KEDAReplicas: 2, Diff: 1.0 / 3, Problem: "the values differ by 33.33%"}
	pods := MetricPlan{Name: "MessageMetrics", Type: autoscalingv2.PodsMetricSourceType, MetricType: autoscalingv2.AverageValueMetricType, Threshold: 100}
	noted := pods
	noted.Note = TodaysPodsNote
	return []Result{
		{Plan: Plan{Namespace: "default", HPA: "web", Metrics: []MetricPlan{pods}, ScaledObject: scaledObject("web")}, CurrentReplicas: 1, Checks: []*Check{ok}},
		{Plan: Plan{Namespace: "default", HPA: "queue", Metrics: []MetricPlan{noted}, ScaledObject: scaledObject("queue")}, CurrentReplicas: 1, Checks: []*Check{differs}},
		{Plan: Plan{Namespace: "default", HPA: "cpu", Metrics: []MetricPlan{{Name: "cpu", Type: autoscalingv2.ResourceMetricSourceType, Refused: "a Resource metric: the HPA reads it from metrics-server"}}},
			Checks: []*Check{nil}},
	}
}

func TestSelect(t *testing.T) {
	cases := []struct {
		force bool
		want  []string
	}{
		{false, []string{"web"}},
		// --force: every HPA with a trigger per metric, not the one
		// with a metric left behind.
		{true, []string{"web", "queue"}},
	}
	for _, c := range cases {
		list, problems := Select(results(), c.force)
		var got []string
		for _, so := range list.Items {
			got = append(got, so.Name)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") || list.Kind != "List" || list.APIVersion != "v1" {
			t.Errorf("force %v: %s %v, want a v1 List of %v", c.force, list.Kind, got, c.want)
		}
		want := []string{"HPA default/queue metric MessageMetrics: the values differ by 33.33%",
			"HPA default/cpu metric cpu: a Resource metric: the HPA reads it from metrics-server"}
		if strings.Join(problems, "\n") != strings.Join(want, "\n") {
			t.Errorf("force %v: problems %q, want %q", c.force, problems, want)
		}
	}
	if list, _ := Select(nil, false); list.Items == nil {
		t.Error("no HPA: want an empty list of items, not null")
	}
}

func TestPrintSummary(t *testing.T) {
	var b strings.Builder
	PrintSummary(&b, results())
	want := `HPA            METRIC          TYPE      TARGET            ADAPTER  KEDA QUERY  REPLICAS (NOW → ADAPTER / KEDA)  CHECK
default/web    MessageMetrics  Pods      AverageValue 100  100      100         1 → 1 / 1                        ok (0.00%)
default/queue  MessageMetrics  Pods      AverageValue 100  100      150         1 → 1 / 2                        differs (33.33%)
default/cpu    cpu             Resource  -                 -        -           -                                not migrated: a Resource metric: the HPA reads it from metrics-server
note: HPA default/queue metric MessageMetrics: ` + TodaysPodsNote + "\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestPrintAPIServicePlan(t *testing.T) {
	p := PlanAPIServices(APIServiceState{Name: apiservice.Custom, Present: true, Service: "monitoring/prometheus-adapter", Backend: apiservice.Adapter},
		APIServiceState{Name: apiservice.External, Present: true, Service: "x/y"}, []HPAUse{{Key: "shop/cart", Custom: true}}, nil)
	var b strings.Builder
	PrintAPIServicePlan(&b, p)
	want := "APIService v1beta1.custom.metrics.k8s.io, monitoring/prometheus-adapter (prometheus-adapter): stays: stays with the adapter: 1 HPA(s) not migrated read Pods or Object metrics from it\n" +
		"  held by HPA(s): shop/cart\n" +
		"APIService v1beta1.external.metrics.k8s.io, x/y (another server): stays: points at x/y, neither prometheus-adapter nor KEDA: migrate does not move it, and the migrated HPAs cannot read KEDA's values until it points at KEDA's metrics server\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWritten: what -o prints after --apply or --rollback, as kubectl
// apply -o: one object alone, several as a List, no managedFields; and
// -o name of each.
func TestWritten(t *testing.T) {
	if v := Written([]*keda.ScaledObject{}); v != nil {
		t.Fatalf("nothing written: %v, want nil", v)
	}
	one := Written([]*keda.ScaledObject{scaledObject("web")})
	if so, ok := one.(*keda.ScaledObject); !ok || so.ManagedFields != nil {
		t.Fatalf("one object: %#v, want the ScaledObject without managedFields", one)
	}
	several := Written([]*keda.ScaledObject{scaledObject("web"), scaledObject("queue")})
	if l, ok := several.(List[*keda.ScaledObject]); !ok || l.Kind != "List" || len(l.Items) != 2 || l.Items[1].ManagedFields != nil {
		t.Fatalf("several: %#v, want a List", several)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	restored := Restored([]*autoscalingv2.HorizontalPodAutoscaler{hpa, hpa})
	if hpa.Kind != "" || restored[0].Kind != "HorizontalPodAutoscaler" || restored[0].APIVersion != "autoscaling/v2" {
		t.Fatalf("restored %+v; the HPA read must stay as read", restored[0].TypeMeta)
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{one, "scaledobject.keda.sh/web\n"},
		{several, "scaledobject.keda.sh/web\nscaledobject.keda.sh/queue\n"},
		{Written(restored), "horizontalpodautoscaler.autoscaling/web\nhorizontalpodautoscaler.autoscaling/web\n"},
	} {
		var b bytes.Buffer
		if err := printers.PrintNames(&b, c.v); err != nil || b.String() != c.want {
			t.Errorf("-o name: %q, %v; want %q", b.String(), err, c.want)
		}
	}
}

func TestReadAPIServicePlan(t *testing.T) {
	ctx := context.Background()
	hpa := func(ns, name string, t autoscalingv2.MetricSourceType) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{Metrics: []autoscalingv2.MetricSpec{{Type: t}}}}
	}
	client := fake.NewSimpleClientset(hpa("default", "web", autoscalingv2.ExternalMetricSourceType), hpa("shop", "queue", autoscalingv2.ExternalMetricSourceType))
	agg := aggregatorfake.NewSimpleClientset(adapterExternal())
	plan, server, err := ReadAPIServicePlan(ctx, client, agg, "monitoring/prometheus-adapter", "", []*keda.ScaledObject{scaledObject("web")})
	if err != nil {
		t.Fatal(err)
	}
	if plan.External.Action != APIServiceStays || strings.Join(plan.External.HeldBy, ",") != "shop/queue" {
		t.Fatalf("external %+v: want it held by shop/queue", plan.External)
	}
	if _, err := server(); err == nil {
		t.Fatal("no KEDA in the cluster, but its metrics server was found")
	}
	if _, _, err := ReadAPIServicePlan(ctx, client, nil, "", "", nil); err == nil || err.Error() != "no client for the APIServices" {
		t.Fatalf("no aggregator client: %v", err)
	}
}
