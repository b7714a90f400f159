package keda

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

func readFull(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/scaledobject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// Every field of a full ScaledObject survives the mirror: its JSON names
// are KEDA's.
func TestRoundTripKeepsEveryField(t *testing.T) {
	want := readFull(t)
	so, err := FromUnstructured(&unstructured.Unstructured{Object: want})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ToUnstructured(so)
	if err != nil {
		t.Fatal(err)
	}
	got := u.Object
	// The converter writes an empty creationTimestamp; the API server fills it.
	unstructured.RemoveNestedField(got, "metadata", "creationTimestamp")
	// Compare as JSON values: integers come back typed int64 from the mirror.
	normalise := func(m map[string]any) map[string]any {
		b, _ := yaml.Marshal(m)
		var out map[string]any
		_ = yaml.Unmarshal(b, &out)
		return out
	}
	if g, w := normalise(got), normalise(want); !reflect.DeepEqual(g, w) {
		gb, _ := yaml.Marshal(g)
		wb, _ := yaml.Marshal(w)
		t.Fatalf("round trip differs\n--- got\n%s\n--- want\n%s", gb, wb)
	}
	if so.Spec.Triggers[0].Metadata["query"] != `sum(MessageMetrics{k8s_namespace="default"})` || so.Spec.Triggers[0].AuthenticationRef.Name != "prometheus-auth" ||
		string(so.Spec.Triggers[0].MetricType) != "AverageValue" {
		t.Fatalf("trigger not read: %+v", so.Spec.Triggers[0])
	}
	if *so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior.ScaleDown.StabilizationWindowSeconds != 300 {
		t.Fatal("behavior not read")
	}
}

func TestHPAName(t *testing.T) {
	tests := []struct {
		name string
		so   ScaledObject
		want string
	}{
		{"KEDA's default name", ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "worker"}}, "keda-hpa-worker"},
		{"advanced without a name", ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "worker"},
			Spec: ScaledObjectSpec{Advanced: &AdvancedConfig{HorizontalPodAutoscalerConfig: &HorizontalPodAutoscalerConfig{}}}}, "keda-hpa-worker"},
		{"an adopted HPA", ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "worker"},
			Spec: ScaledObjectSpec{Advanced: &AdvancedConfig{HorizontalPodAutoscalerConfig: &HorizontalPodAutoscalerConfig{Name: "worker-hpa"}}}}, "worker-hpa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.so.HPAName(); got != tt.want {
				t.Fatalf("HPAName() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	so, err := FromUnstructured(&unstructured.Unstructured{Object: readFull(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cond    ConditionType
		present bool
		isTrue  bool
	}{
		{ConditionReady, true, true},
		{ConditionActive, true, true},
		{ConditionFallback, true, false},
		{ConditionPaused, true, false},
		{"HPAActive", false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.cond), func(t *testing.T) {
			if got := so.Condition(tt.cond) != nil; got != tt.present {
				t.Fatalf("Condition(%s) present = %t, want %t", tt.cond, got, tt.present)
			}
			if got := so.IsTrue(tt.cond); got != tt.isTrue {
				t.Fatalf("IsTrue(%s) = %t, want %t", tt.cond, got, tt.isTrue)
			}
		})
	}
}

func TestMetricNameAndSelector(t *testing.T) {
	if got := ExternalMetricName(0, "prometheus"); got != "s0-prometheus" {
		t.Fatalf("ExternalMetricName = %q", got)
	}
	so := ScaledObject{ObjectMeta: metav1.ObjectMeta{Name: "worker"}}
	sel, err := metav1.LabelSelectorAsSelector(so.MetricSelector())
	if err != nil {
		t.Fatal(err)
	}
	if got := sel.String(); got != "scaledobject.keda.sh/name=worker" {
		t.Fatalf("MetricSelector = %q", got)
	}
}

func TestClient(t *testing.T) {
	ctx := context.Background()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ScaledObjects: "ScaledObjectList"})
	c := NewClient(dyn)
	full, err := FromUnstructured(&unstructured.Unstructured{Object: readFull(t)})
	if err != nil {
		t.Fatal(err)
	}
	created, err := c.Create(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if created.APIVersion != "keda.sh/v1alpha1" || created.Kind != "ScaledObject" {
		t.Fatalf("created without its type: %s %s", created.APIVersion, created.Kind)
	}
	got, err := c.Get(ctx, "default", "interlok")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Spec, full.Spec) {
		t.Fatalf("Get returned another spec:\n%+v\nwant\n%+v", got.Spec, full.Spec)
	}
	for _, ns := range []string{"default", ""} {
		l, err := c.List(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != 1 || l[0].Name != "interlok" {
			t.Fatalf("List(%q) = %d objects", ns, len(l))
		}
	}
	if l, err := c.List(ctx, "other"); err != nil || len(l) != 0 {
		t.Fatalf("List(other) = %d, %v", len(l), err)
	}
	labelled := *full // a shallow copy: only its name and labels change
	labelled.Name, labelled.Labels = "labelled", map[string]string{"app.kubernetes.io/managed-by": "kubectl-metricscale"}
	if _, err := c.Create(ctx, &labelled); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]int{"": 2, "app.kubernetes.io/managed-by=kubectl-metricscale": 1, "app.kubernetes.io/managed-by=other": 0} {
		if l, err := c.ListSelected(ctx, "default", sel); err != nil || len(l) != want {
			t.Fatalf("ListSelected(%q) = %d objects, %v; want %d", sel, len(l), err, want)
		}
	}
	if err := c.Delete(ctx, "default", "interlok"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "default", "interlok"); err == nil {
		t.Fatal("Get after Delete: no error")
	}
}

// TestDeleteOrphan: the request the API server receives carries
// propagationPolicy Orphan (the fake dynamic client drops delete options).
func TestDeleteOrphan(t *testing.T) {
	var got metav1.DeleteOptions
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.Method + " " + r.URL.Path
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Success"}`)
	}))
	defer srv.Close()
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := NewClient(dyn).DeleteOrphan(context.Background(), "default", "interlok"); err != nil {
		t.Fatal(err)
	}
	if path != "DELETE /apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/interlok" {
		t.Fatalf("request %s", path)
	}
	if got.PropagationPolicy == nil || *got.PropagationPolicy != metav1.DeletePropagationOrphan {
		t.Fatalf("delete options %+v, want propagationPolicy Orphan", got)
	}
}
