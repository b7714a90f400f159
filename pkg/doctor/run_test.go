package doctor

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
)

func benchHPA(ns, name, kind, target string) autoscalingv2.HorizontalPodAutoscaler {
	return autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: kind, Name: target}}}
}

func workloadPod(ns, name string, labels map[string]string, phase corev1.PodPhase, ready corev1.ConditionStatus) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Status: corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: ready}}}}
}

// targets keeps the Running pods of the HPAs' scale targets, with their
// readiness, and nothing of the pods no HPA scales.
func TestTargetsKeepScaleTargetPods(t *testing.T) {
	sel := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
	}
	deleting := workloadPod("a", "web-3", map[string]string{"app": "web"}, corev1.PodRunning, corev1.ConditionTrue)
	deleting.DeletionTimestamp = &metav1.Time{}
	deleting.Finalizers = []string{"x"}
	c := fake.NewSimpleClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}, Spec: appsv1.DeploymentSpec{Selector: sel("web")}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "other"}, Spec: appsv1.DeploymentSpec{Selector: sel("other")}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "db"}, Spec: appsv1.StatefulSetSpec{Selector: sel("db")}},
		workloadPod("a", "web-1", map[string]string{"app": "web"}, corev1.PodRunning, corev1.ConditionTrue),
		workloadPod("a", "web-2", map[string]string{"app": "web"}, corev1.PodRunning, corev1.ConditionFalse),
		deleting,
		workloadPod("a", "web-4", map[string]string{"app": "web"}, corev1.PodPending, corev1.ConditionFalse),
		workloadPod("a", "other-1", map[string]string{"app": "other"}, corev1.PodRunning, corev1.ConditionTrue),
		// Same labels, other namespace.
		workloadPod("b", "web-1", map[string]string{"app": "web"}, corev1.PodRunning, corev1.ConditionTrue),
		workloadPod("b", "db-0", map[string]string{"app": "db"}, corev1.PodRunning, corev1.ConditionTrue),
	)
	hpas := []autoscalingv2.HorizontalPodAutoscaler{benchHPA("a", "web", "Deployment", "web"), benchHPA("b", "db", "StatefulSet", "db"),
		benchHPA("b", "gone", "Deployment", "gone"), benchHPA("b", "rs", "ReplicaSet", "rs")}
	tg := newTargets(c, nil, nil, nil, "", hpas)
	ctx := context.Background()

	pods, found, err := tg.PodsOf(ctx, "a", hpas[0].Spec.ScaleTargetRef)
	if err != nil || !found {
		t.Fatalf("Deployment a/web: found %v, err %v", found, err)
	}
	if len(pods) != 2 || pods[0].Name != "web-1" || pods[1].Name != "web-2" || !podReady(pods[0]) || podReady(pods[1]) {
		t.Fatalf("pods of a/web: %+v", pods)
	}
	if len(readyOnly(pods)) != 1 {
		t.Fatalf("ready pods of a/web: %+v", readyOnly(pods))
	}
	pods, found, _ = tg.PodsOf(ctx, "b", hpas[1].Spec.ScaleTargetRef)
	if !found || len(pods) != 1 || pods[0].Name != "db-0" || pods[0].Namespace != "b" || pods[0].Status.Phase != corev1.PodRunning {
		t.Fatalf("StatefulSet b/db: found %v, pods %+v", found, pods)
	}
	if pods, found, _ := tg.PodsOf(ctx, "b", hpas[2].Spec.ScaleTargetRef); found || len(pods) != 0 {
		t.Fatalf("missing Deployment b/gone: found %v, pods %+v", found, pods)
	}
	if _, found, _ := tg.PodsOf(ctx, "b", hpas[3].Spec.ScaleTargetRef); !found {
		t.Fatal("a kind doctor does not resolve counts as found")
	}
	kept := 0
	for _, ps := range tg.pods {
		kept += len(ps)
	}
	if kept != 5 {
		t.Fatalf("kept %d pods, want the 5 pods of the HPAs' targets: %+v", kept, tg.pods)
	}
	// The controller's decision reads every phase, and a deletion.
	all, known, _ := tg.ControllerPods(ctx, "a", hpas[0].Spec.ScaleTargetRef)
	if !known || len(all) != 4 || all[2].DeletionTimestamp == nil || all[3].Status.Phase != corev1.PodPending {
		t.Fatalf("the controller's pods of a/web: known %v, %+v", known, all)
	}
	if s, err := tg.ScaleOf(ctx, "a", hpas[0].Spec.ScaleTargetRef); err != nil || s.SpecReplicas != 1 || s.Selector != "app=web" {
		t.Fatalf("scale of a/web: %+v %v", s, err)
	}
	if _, known, err := tg.ControllerPods(ctx, "b", hpas[2].Spec.ScaleTargetRef); known || err != nil {
		t.Fatalf("the controller's pods of the missing b/gone: known %v, %v", known, err)
	}
	// Another kind's pods are listed by its scale's selector (here without
	// a scale client: its error).
	if _, _, err := tg.ControllerPods(ctx, "b", hpas[3].Spec.ScaleTargetRef); err == nil || !strings.Contains(err.Error(), "has no pod selector") {
		t.Fatalf("the controller's pods of ReplicaSet b/rs: %v", err)
	}
	// One list of each kind for all namespaces.
	lists := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "list" {
			lists++
		}
	}
	if lists != 3 {
		t.Fatalf("%d lists, want 3 (deployments, statefulsets, pods once for all namespaces)", lists)
	}
}

// Without any scale target that exists, pods are not listed at all.
func TestTargetsNoPodListWithoutTargets(t *testing.T) {
	c := fake.NewSimpleClientset(workloadPod("a", "web-1", map[string]string{"app": "web"}, corev1.PodRunning, corev1.ConditionTrue))
	tg := newTargets(c, nil, nil, nil, "a", []autoscalingv2.HorizontalPodAutoscaler{benchHPA("a", "web", "Deployment", "web")})
	if _, found, err := tg.PodsOf(context.Background(), "a", autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}); found || err != nil {
		t.Fatalf("found %v, err %v", found, err)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "list" && a.GetResource().Resource == "pods" {
			t.Fatal("pods listed although no scale target exists")
		}
	}
}

func TestListHPAsTrimsAndSorts(t *testing.T) {
	mf := []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{}}`)}}}
	b := benchHPA("b", "x", "Deployment", "x")
	b.ManagedFields, b.Annotations = mf, map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"}
	b.Spec.MaxReplicas = 7
	b.Status.CurrentReplicas = 3
	a := benchHPA("a", "y", "Deployment", "y")
	c := fake.NewSimpleClientset(&b, &a)
	got, err := listHPAs(context.Background(), c, kube.HPAScope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Namespace != "a" || got[1].Namespace != "b" {
		t.Fatalf("not sorted by namespace/name: %+v", got)
	}
	h := got[1]
	if h.Name != "x" || h.ManagedFields != nil || h.Annotations != nil || h.Spec.MaxReplicas != 7 || h.Status.CurrentReplicas != 3 ||
		h.Spec.ScaleTargetRef.Name != "x" {
		t.Fatalf("trimmed HPA: %+v", h)
	}
}

func TestHPAEvents(t *testing.T) {
	ev := func(name, hpa, typ, reason string) runtime.Object {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: name, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}},
			InvolvedObject: corev1.ObjectReference{Kind: "HorizontalPodAutoscaler", Namespace: "a", Name: hpa},
			Type:           typ, Reason: reason, Message: reason + " message", Count: 2}
	}
	c := fake.NewSimpleClientset(ev("e1", "web", corev1.EventTypeWarning, "FailedGetPodsMetric"), ev("e2", "web", corev1.EventTypeWarning, "FailedComputeMetricsReplicas"))
	got := hpaEvents(context.Background(), c, "a")
	es := got["a/web"]
	if len(es) != 2 || es[0].Reason != "FailedGetPodsMetric" || es[0].Message != "FailedGetPodsMetric message" || es[0].Count != 2 ||
		es[0].Type != corev1.EventTypeWarning || es[0].ManagedFields != nil {
		t.Fatalf("events: %+v", got)
	}
	for _, a := range c.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok {
			if sel := l.GetListRestrictions().Fields.String(); sel != "involvedObject.kind=HorizontalPodAutoscaler,type=Warning" {
				t.Fatalf("field selector %q", sel)
			}
		}
	}
}

func TestNeedEvents(t *testing.T) {
	h := benchHPA("a", "web", "Deployment", "web")
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue}}
	if needEvents([]autoscalingv2.HorizontalPodAutoscaler{h}) {
		t.Fatal("events wanted although every HPA scales")
	}
	h.Status.Conditions[0].Status = corev1.ConditionFalse
	if !needEvents([]autoscalingv2.HorizontalPodAutoscaler{benchHPA("a", "b", "Deployment", "b"), h}) {
		t.Fatal("no events wanted although an HPA has ScalingActive=False")
	}
}

// ObjectExists finds described objects of any kind the API server knows,
// by the resource its RESTMapper names (Endpoints → endpoints, Ingress →
// ingresses, a CRD), and none of a kind it does not know.
func TestObjectExistsThroughTheRESTMapper(t *testing.T) {
	scheme := runtime.NewScheme()
	metav1.AddMetaToScheme(scheme)
	obj := func(apiVersion, kind, ns, name string) runtime.Object {
		return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	meta := metadatafake.NewSimpleMetadataClient(scheme,
		obj("v1", "Endpoints", "a", "web"),
		obj("networking.k8s.io/v1", "Ingress", "a", "edge"),
		obj("keda.sh/v1alpha1", "ScaledObject", "a", "worker"),
		obj("policy.example.com/v1", "TrafficPolicy", "a", "p1"),
		obj("v1", "Namespace", "", "a"),
	)
	tg := newTargets(fake.NewClientset(), meta, nil, kubetest.DiscoveryMapper(), "a", nil)
	cases := []struct {
		apiVersion, kind, name string
		want                   bool
	}{
		{"v1", "Endpoints", "web", true},
		{"v1", "Endpoints", "gone", false},
		{"networking.k8s.io/v1", "Ingress", "edge", true},
		{"networking.k8s.io/v1beta1", "Ingress", "edge", true}, // any version of the group
		{"keda.sh/v1alpha1", "ScaledObject", "worker", true},
		{"policy.example.com/v1", "TrafficPolicy", "p1", true},
		{"v1", "Namespace", "a", true}, // cluster-scoped
		{"example.com/v1", "Unknown", "x", false},
	}
	for _, c := range cases {
		got, err := tg.ObjectExists(context.Background(), "a", autoscalingv2.CrossVersionObjectReference{APIVersion: c.apiVersion, Kind: c.kind, Name: c.name})
		if err != nil || got != c.want {
			t.Errorf("%s %s/%s: exists %v, err %v; want %v", c.apiVersion, c.kind, c.name, got, err, c.want)
		}
	}
}
