package migrate

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
)

var kedaServer = apiservice.KEDAMetricsServer{Namespace: "keda", Name: "keda-operator-metrics-apiserver", Port: 443}

// adapterExternal is the external APIService as the adapter's chart
// registers it, Available.
func adapterExternal() *apiregistrationv1.APIService {
	spec := apiservice.ExternalSpec("monitoring", "prometheus-adapter", 443)
	spec.InsecureSkipTLSVerify = true
	return &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: apiservice.External, Annotations: map[string]string{"owner": "chart"}}, Spec: spec,
		Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue}}}}
}

func getExternal(t *testing.T, agg *aggregatorfake.Clientset) *apiregistrationv1.APIService {
	t.Helper()
	as, err := agg.ApiregistrationV1().APIServices().Get(context.Background(), apiservice.External, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// TestMoveExternalAndBack: the adapter's APIService gets KEDA's spec whole
// (no insecureSkipTLSVerify left) with the previous spec in the backup
// annotation; while a ScaledObject is left the rollback keeps it with
// KEDA and says so; once none is left it goes back, annotation removed.
func TestMoveExternalAndBack(t *testing.T) {
	ctx := context.Background()
	w, _, kc, log := fakeWriter()
	agg := aggregatorfake.NewSimpleClientset(adapterExternal())
	w.Aggregator = agg

	if err := w.MoveExternal(ctx, kedaServer); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	moved := getExternal(t, agg)
	if d := cmp.Diff(apiservice.ExternalSpec("keda", "keda-operator-metrics-apiserver", 443), moved.Spec); d != "" {
		t.Fatalf("moved spec (-want +got):\n%s", d)
	}
	if moved.Annotations["owner"] != "chart" || !strings.Contains(moved.Annotations[APIServiceBackupAnnotation], `"insecureSkipTLSVerify":true`) {
		t.Fatalf("annotations %v", moved.Annotations)
	}
	if !strings.Contains(log.String(), "moved from monitoring/prometheus-adapter to KEDA's metrics server keda/keda-operator-metrics-apiserver:443") {
		t.Fatalf("log:\n%s", log)
	}

	// A ScaledObject left, migrate's or not: it stays.
	other := planned(t)
	other.Namespace, other.Name = "shop", "by-hand"
	if _, err := kc.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if restored, err := w.restoreExternal(ctx); restored || err != nil {
		t.Fatalf("restored %v, %v with a ScaledObject left", restored, err)
	}
	if !strings.Contains(log.String(), "stays with KEDA: ScaledObject(s) shop/by-hand still read their values") || getExternal(t, agg).Spec.Service.Name != "keda-operator-metrics-apiserver" {
		t.Fatalf("log:\n%s", log)
	}

	if err := kc.Delete(ctx, "shop", "by-hand"); err != nil {
		t.Fatal(err)
	}
	if restored, err := w.restoreExternal(ctx); !restored || err != nil {
		t.Fatalf("restored %v, %v with no ScaledObject left\n%s", restored, err, log)
	}
	back := getExternal(t, agg)
	if d := cmp.Diff(adapterExternal().Spec, back.Spec); d != "" || !cmp.Equal(back.Annotations, map[string]string{"owner": "chart"}) {
		t.Fatalf("restored annotations %v, spec (-want +got):\n%s", back.Annotations, d)
	}
	if !strings.Contains(log.String(), "restored from annotation "+APIServiceBackupAnnotation+": monitoring/prometheus-adapter") {
		t.Fatalf("log:\n%s", log)
	}
	// Nothing of migrate's left: a second restore does nothing.
	if restored, err := w.restoreExternal(ctx); restored || err != nil {
		t.Fatalf("second restore: %v, %v", restored, err)
	}
}

// TestMoveExternalCreatesAndUndoes: without an APIService KEDA's is
// created; never Available here, so it is deleted again and the error says
// nothing else was created.
func TestMoveExternalCreatesAndUndoes(t *testing.T) {
	ctx := context.Background()
	w, _, _, log := fakeWriter()
	agg := aggregatorfake.NewSimpleClientset()
	w.Aggregator = agg
	err := w.MoveExternal(ctx, kedaServer)
	if err == nil || !strings.Contains(err.Error(), "the previous spec is back, no ScaledObject was created") || !strings.Contains(err.Error(), "no Available condition yet") {
		t.Fatalf("err %v\n%s", err, log)
	}
	if !strings.Contains(log.String(), "created to KEDA's metrics server") {
		t.Fatalf("log:\n%s", log)
	}
	if _, err := agg.ApiregistrationV1().APIServices().Get(ctx, apiservice.External, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the APIService migrate created is still there: %v", err)
	}
}

// TestRollbackWithoutScaledObjectsRestoresAPIService: an --apply that moved
// the APIService and failed before creating anything is undone by
// --rollback.
func TestRollbackWithoutScaledObjectsRestoresAPIService(t *testing.T) {
	ctx := context.Background()
	w, _, _, log := fakeWriter()
	moved := adapterExternal()
	backup, err := backupAnnotations(nil, APIServiceBackup{Present: true, Spec: moved.Spec.DeepCopy()})
	if err != nil {
		t.Fatal(err)
	}
	moved.Annotations, moved.Spec = backup, apiservice.ExternalSpec("keda", "keda-operator-metrics-apiserver", 443)
	moved.Spec.CABundle = []byte("injected by KEDA")
	agg := aggregatorfake.NewSimpleClientset(moved)
	w.Aggregator = agg
	if _, err := w.Rollback(ctx, "default", nil); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := getExternal(t, agg); len(got.Spec.CABundle) != 0 || !got.Spec.InsecureSkipTLSVerify || got.Spec.Service.Name != "prometheus-adapter" || *got.Spec.Service.Port != 443 {
		t.Fatalf("spec %+v", got.Spec)
	}
	// A broken backup is named, nothing written.
	as := getExternal(t, agg)
	as.Annotations = map[string]string{APIServiceBackupAnnotation: `{"present":true}`}
	as.Spec.Service.Port = ptr.To(int32(1))
	if _, err := agg.ApiregistrationV1().APIServices().Update(ctx, as, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Rollback(ctx, "default", nil); err == nil || !strings.Contains(err.Error(), "is not a backup") {
		t.Fatalf("broken backup: %v", err)
	}
}

func TestReadAPIServices(t *testing.T) {
	custom := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: apiservice.Custom}, Spec: apiservice.ExternalSpec("monitoring", "prometheus-adapter", 443)}
	moved := adapterExternal()
	moved.Spec = apiservice.ExternalSpec("autoscaling", "metrics-server-x", 443)
	tests := []struct {
		name         string
		agg          *aggregatorfake.Clientset
		owners       apiservice.Owners
		wantCustom   APIServiceState
		wantExternal APIServiceState
	}{
		{"both on the adapter", aggregatorfake.NewSimpleClientset(custom, adapterExternal()), apiservice.Owners{},
			APIServiceState{apiservice.Custom, true, "monitoring/prometheus-adapter", apiservice.Adapter},
			APIServiceState{apiservice.External, true, "monitoring/prometheus-adapter", apiservice.Adapter}},
		{"external absent", aggregatorfake.NewSimpleClientset(custom), apiservice.Owners{},
			APIServiceState{apiservice.Custom, true, "monitoring/prometheus-adapter", apiservice.Adapter},
			APIServiceState{Name: apiservice.External}},
		{"KEDA's Service known by its labels", aggregatorfake.NewSimpleClientset(custom, moved), apiservice.Owners{KEDAService: "autoscaling/metrics-server-x"},
			APIServiceState{apiservice.Custom, true, "monitoring/prometheus-adapter", apiservice.Adapter},
			APIServiceState{apiservice.External, true, "autoscaling/metrics-server-x", apiservice.KEDA}},
		{"unknown server", aggregatorfake.NewSimpleClientset(custom, moved), apiservice.Owners{},
			APIServiceState{apiservice.Custom, true, "monitoring/prometheus-adapter", apiservice.Adapter},
			APIServiceState{apiservice.External, true, "autoscaling/metrics-server-x", apiservice.Unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, e, err := ReadAPIServices(context.Background(), tt.agg, tt.owners)
			if err != nil || c != tt.wantCustom || e != tt.wantExternal {
				t.Fatalf("got %+v, %+v, %v; want %+v, %+v", c, e, err, tt.wantCustom, tt.wantExternal)
			}
		})
	}
}
