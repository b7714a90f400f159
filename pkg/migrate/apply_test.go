package migrate

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// original is the adapter-fed HPA before the migration.
func original() *autoscalingv2.HorizontalPodAutoscaler {
	h := hpa(podsMetric("MessageMetrics", averageValue("100")))
	h.UID = "uid-1"
	h.Labels = map[string]string{"app": "interlok"}
	h.Annotations = map[string]string{"team": "messaging"}
	return h
}

// planned is the ScaledObject PlanHPA writes for original.
func planned(t *testing.T) *keda.ScaledObject {
	t.Helper()
	p := PlanHPA(original(), []Metric{{Spec: original().Spec.Metrics[0], AdapterQuery: `sum(MessageMetrics{k8s_pod_name="interlok-1"})`}}, Options{ServerAddress: server})
	if p.ScaledObject == nil {
		t.Fatalf("not migratable: %+v", p.Metrics)
	}
	return p.ScaledObject
}

// adopted is original as KEDA rewrites it: its external metric, KEDA's
// labels and the ScaledObject's annotations, controlled by the
// ScaledObject; status as the HPA controller reports it.
func adopted(so *keda.ScaledObject) *autoscalingv2.HorizontalPodAutoscaler {
	h := original()
	h.Spec.Metrics = []autoscalingv2.MetricSpec{externalMetric("s0-prometheus", averageValue("100"))}
	h.Labels = map[string]string{"app.kubernetes.io/managed-by": "kubectl-metricscale", "scaledobject.keda.sh/name": so.Name}
	h.Annotations = so.Annotations
	h.OwnerReferences = []metav1.OwnerReference{
		{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: so.Name, UID: "so-uid", Controller: ptr.To(true)},
		{APIVersion: "v1", Kind: "ConfigMap", Name: "other-owner", UID: "cm-uid"},
	}
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue}}
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "s0-prometheus"}, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("100"))}}}}
	return h
}

func TestBackupRoundTrip(t *testing.T) {
	so := planned(t)
	marked, err := WithBackup(so, original())
	if err != nil {
		t.Fatal(err)
	}
	if marked.Labels[ManagedByLabel] != ManagedBy || marked.Annotations[keda.TransferHPAOwnershipAnnotation] != "true" {
		t.Fatalf("marked labels %v annotations %v", marked.Labels, marked.Annotations)
	}
	if _, ok := so.Annotations[BackupAnnotation]; ok || so.Labels != nil {
		t.Fatal("WithBackup changed the planned ScaledObject")
	}
	b, err := ReadBackup(marked)
	if err != nil {
		t.Fatal(err)
	}
	o := original()
	want := &Backup{UID: o.UID, Labels: o.Labels, Annotations: o.Annotations, Spec: o.Spec}
	if d := cmp.Diff(want, b); d != "" {
		t.Fatalf("backup read back (-want +got):\n%s", d)
	}

	restored := Restore(adopted(marked), marked, b)
	if d := cmp.Diff(o.Spec, restored.Spec); d != "" {
		t.Fatalf("restored spec (-want +got):\n%s", d)
	}
	if restored.UID != o.UID || !cmp.Equal(restored.Labels, o.Labels) || !cmp.Equal(restored.Annotations, o.Annotations) {
		t.Fatalf("restored meta %+v", restored.ObjectMeta)
	}
	if len(restored.OwnerReferences) != 1 || restored.OwnerReferences[0].Kind != "ConfigMap" {
		t.Fatalf("ownerReferences %+v: want only the ConfigMap's", restored.OwnerReferences)
	}
}

func TestReadBackupErrors(t *testing.T) {
	for name, c := range map[string]struct {
		annotations map[string]string
		want        string
	}{
		"none":      {nil, "has no annotation metricscale.io/original-hpa"},
		"not JSON":  {map[string]string{BackupAnnotation: "{"}, "is not an HPA backup"},
		"no metric": {map[string]string{BackupAnnotation: `{"spec":{"maxReplicas":3}}`}, "holds no HPA spec"},
	} {
		t.Run(name, func(t *testing.T) {
			so := planned(t)
			so.Annotations = c.annotations
			_, err := ReadBackup(so)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "kubectl edit hpa interlok-autoscaler") {
				t.Fatalf("err %v, want %q and the way out", err, c.want)
			}
		})
	}
}

func TestKEDAServes(t *testing.T) {
	ready := func() *keda.ScaledObject {
		so := planned(t)
		so.Status.Conditions = []keda.Condition{{Type: keda.ConditionReady, Status: metav1.ConditionTrue}}
		so.Status.ExternalMetricNames = []string{"s0-prometheus"}
		return so
	}
	for name, c := range map[string]struct {
		so   func() *keda.ScaledObject
		hpa  func(*keda.ScaledObject) *autoscalingv2.HorizontalPodAutoscaler
		want string
	}{
		"serving": {ready, adopted, ""},
		"not ready": {func() *keda.ScaledObject {
			so := ready()
			so.Status.Conditions[0] = keda.Condition{Type: keda.ConditionReady, Status: metav1.ConditionFalse, Reason: "ScaledObjectCheckFailed", Message: "no scale target"}
			return so
		}, adopted, "not Ready (Ready False ScaledObjectCheckFailed: no scale target)"},
		"no condition": {func() *keda.ScaledObject { so := ready(); so.Status.Conditions = nil; return so }, adopted, "no Ready condition yet"},
		"no HPA":       {ready, func(*keda.ScaledObject) *autoscalingv2.HorizontalPodAutoscaler { return nil }, "no HPA interlok-autoscaler"},
		"not adopted": {ready, func(so *keda.ScaledObject) *autoscalingv2.HorizontalPodAutoscaler {
			h := adopted(so)
			h.OwnerReferences = nil
			return h
		}, "not yet adopted"},
		"no value from KEDA": {ready, func(so *keda.ScaledObject) *autoscalingv2.HorizontalPodAutoscaler {
			h := adopted(so)
			h.Status.CurrentMetrics = nil
			h.Status.Conditions[0] = autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetExternalMetric", Message: "no metrics"}
			return h
		}, "no current value from KEDA for s0-prometheus (ScalingActive False FailedGetExternalMetric: no metrics)"},
		"not active": {ready, func(so *keda.ScaledObject) *autoscalingv2.HorizontalPodAutoscaler {
			h := adopted(so)
			h.Status.Conditions = nil
			return h
		}, "not ScalingActive"},
	} {
		t.Run(name, func(t *testing.T) {
			so := c.so()
			got := KEDAServes(so, c.hpa(so))
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Fatalf("KEDAServes = %q, want %q", got, c.want)
			}
		})
	}
}

// adoptedWithCPU is an HPA of cpu and a Pods metric as KEDA rewrites it
// (KEDA sorts the metrics by type), status as the HPA controller reports
// it; the ScaledObject with its triggers.
func adoptedWithCPU(t *testing.T, cpuValue *int32) (*keda.ScaledObject, *autoscalingv2.HorizontalPodAutoscaler) {
	h := hpa(cpuMetric(), podsMetric("MessageMetrics", averageValue("100")))
	p := PlanHPA(h, []Metric{{Spec: h.Spec.Metrics[0]}, {Spec: h.Spec.Metrics[1], AdapterQuery: `sum(MessageMetrics{k8s_pod_name="interlok-1"})`}}, Options{ServerAddress: server})
	so := p.ScaledObject
	so.Status.Conditions = []keda.Condition{{Type: keda.ConditionReady, Status: metav1.ConditionTrue}}
	so.Status.ExternalMetricNames = []string{"s1-prometheus"}
	so.Status.ResourceMetricNames = []string{"cpu"}
	a := adopted(so)
	a.Spec.Metrics = []autoscalingv2.MetricSpec{externalMetric("s1-prometheus", averageValue("100")), cpuMetric()}
	a.Status.CurrentMetrics[0].External.Metric.Name = "s1-prometheus"
	if cpuValue != nil {
		a.Status.CurrentMetrics = append(a.Status.CurrentMetrics, autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: cpuValue, AverageValue: ptr.To(resource.MustParse("40m"))}}})
	}
	return so, a
}

func TestKEDAServesResourceMetrics(t *testing.T) {
	so, h := adoptedWithCPU(t, ptr.To[int32](40))
	if got := KEDAServes(so, h); got != "" {
		t.Fatalf("KEDAServes = %q, want served", got)
	}
	if got, want := readsNow(so, h), "s1-prometheus = 100 from KEDA; cpu = 40 from the resource metrics API"; got != want {
		t.Errorf("readsNow = %q, want %q", got, want)
	}
	so, h = adoptedWithCPU(t, nil)
	if got, want := KEDAServes(so, h), "HPA interlok-autoscaler has no current value from the resource metrics API for cpu"; !strings.Contains(got, want) {
		t.Fatalf("KEDAServes = %q, want %q", got, want)
	}

	// cpu alone: KEDA serves no external metric, and none is waited for.
	cpuOnly := PlanHPA(hpa(cpuMetric()), []Metric{{Spec: cpuMetric()}}, Options{}).ScaledObject
	cpuOnly.Status.Conditions = so.Status.Conditions
	cpuOnly.Status.ResourceMetricNames = []string{"cpu"}
	_, h = adoptedWithCPU(t, ptr.To[int32](40))
	h.Spec.Metrics = h.Spec.Metrics[1:]
	h.Status.CurrentMetrics = h.Status.CurrentMetrics[1:]
	if got := KEDAServes(cpuOnly, h); got != "" {
		t.Fatalf("KEDAServes for cpu alone = %q, want served", got)
	}
	if got, want := readsNow(cpuOnly, h), "cpu = 40 from the resource metrics API"; got != want {
		t.Errorf("readsNow = %q, want %q", got, want)
	}
}

func TestAdapterServes(t *testing.T) {
	podsStatus := autoscalingv2.MetricStatus{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "MessageMetrics"}, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("150"))}}}
	active := []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue}}
	for name, c := range map[string]struct {
		current    []autoscalingv2.MetricStatus
		conditions []autoscalingv2.HorizontalPodAutoscalerCondition
		want       string
	}{
		"serving": {[]autoscalingv2.MetricStatus{podsStatus}, active, ""},
		// The status of the last sync before the restore: KEDA's metric.
		"still KEDA's status": {adopted(planned(t)).Status.CurrentMetrics, active, "no current value for Pods MessageMetrics"},
		"not active":          {[]autoscalingv2.MetricStatus{podsStatus}, nil, "not ScalingActive"},
	} {
		t.Run(name, func(t *testing.T) {
			h := original()
			h.Status.CurrentMetrics, h.Status.Conditions = c.current, c.conditions
			got := AdapterServes(h)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Fatalf("AdapterServes = %q, want %q", got, c.want)
			}
		})
	}
}

func fakeWriter(objs ...runtime.Object) (*Writer, *fake.Clientset, *keda.Client, *bytes.Buffer) {
	client := fake.NewSimpleClientset(objs...)
	kc := keda.NewClient(dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{keda.ScaledObjects: "ScaledObjectList"}))
	var log bytes.Buffer
	return &Writer{Client: client, KEDA: kc, Timeout: 50 * time.Millisecond, Interval: 10 * time.Millisecond, Out: &log, Progress: &log}, client, kc, &log
}

// TestApply: the ScaledObject is created with the HPA's backup; KEDA does
// not run here, so the wait fails naming what is missing; a second apply
// finds the ScaledObject and says how to undo it.
func TestApply(t *testing.T) {
	ctx := context.Background()
	w, _, kc, log := fakeWriter(original())
	latest, err := w.Apply(ctx, []*keda.ScaledObject{planned(t)})
	if err == nil || !strings.Contains(err.Error(), "ScaledObject default/interlok-autoscaler: ScaledObject interlok-autoscaler not Ready (no Ready condition yet)") {
		t.Fatalf("err %v\n%s", err, log)
	}
	if len(latest) != 1 || latest[0].Name != "interlok-autoscaler" || latest[0].Annotations[BackupAnnotation] == "" {
		t.Fatalf("returned %+v, want the ScaledObject as read back", latest)
	}
	so, err := kc.Get(ctx, "default", "interlok-autoscaler")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadBackup(so)
	if err != nil || so.Labels[ManagedByLabel] != ManagedBy || b.UID != "uid-1" {
		t.Fatalf("created %+v, backup %+v, %v", so.ObjectMeta, b, err)
	}
	if latest, err = w.Apply(ctx, []*keda.ScaledObject{planned(t)}); latest != nil || err == nil || !strings.Contains(err.Error(), "already exists: roll it back first (migrate keda --rollback interlok-autoscaler -n default)") {
		t.Fatalf("second apply: %v", err)
	}
}

// TestRollback: the ScaledObject is deleted (the fake has no garbage
// collector), the same HPA object gets its original spec, labels and
// annotations back without the ScaledObject's ownerReference, and the
// wait reads the restored HPA's status.
func TestRollback(t *testing.T) {
	ctx := context.Background()
	marked, err := WithBackup(planned(t), original())
	if err != nil {
		t.Fatal(err)
	}
	h := adopted(marked)
	// The status the HPA controller reports once it reads the adapter.
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: "MessageMetrics"}, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("150"))}}}}
	w, client, kc, log := fakeWriter(h)
	if _, err := kc.Create(ctx, marked); err != nil {
		t.Fatal(err)
	}
	unmarked := planned(t)
	unmarked.Name = "by-hand"
	if _, err := kc.Create(ctx, unmarked); err != nil {
		t.Fatal(err)
	}

	if _, err := w.Rollback(ctx, "default", []string{"nope"}); err == nil || !strings.Contains(err.Error(), "adopts HPA nope") {
		t.Fatalf("unknown HPA: %v", err)
	}
	restored, err := w.Rollback(ctx, "default", []string{"interlok-autoscaler"})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if len(restored) != 1 || restored[0].Name != "interlok-autoscaler" {
		t.Fatalf("returned %+v, want the restored HPA", restored)
	}
	got, err := client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := original()
	if d := cmp.Diff(o.Spec, got.Spec); d != "" || got.UID != o.UID || !cmp.Equal(got.Labels, o.Labels) || !cmp.Equal(got.Annotations, o.Annotations) || len(got.OwnerReferences) != 1 {
		t.Fatalf("restored HPA %+v (spec -want +got):\n%s", got.ObjectMeta, d)
	}
	if _, err := kc.Get(ctx, "default", "interlok-autoscaler"); err == nil {
		t.Fatal("the ScaledObject is still there")
	}
	if _, err := kc.Get(ctx, "default", "by-hand"); err != nil {
		t.Fatalf("a ScaledObject migrate did not create was touched: %v", err)
	}
	if _, err := w.Rollback(ctx, "default", nil); err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Fatalf("second rollback: %v", err)
	}
}
