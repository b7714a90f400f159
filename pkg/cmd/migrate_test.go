package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/migrate"
	"github.com/metricscale/kubectl-metricscale/pkg/printers"
)

// TestMigrateKEDAApplyPlan runs --apply's part after the check on fakes:
// the APIService plan decides whether anything is written, and -o decides
// what stdout gets. KEDA does not run here, so every wait for it fails
// (exit 1) once the ScaledObject exists.
func TestMigrateKEDAApplyPlan(t *testing.T) {
	const held = "stays with the adapter: HPA(s) shop/queue read External metrics from it and would fail on KEDA's; migrate them in the same run, or pass --force"
	adapterExt := migrate.APIServiceState{Name: apiservice.External, Present: true, Service: "monitoring/prometheus-adapter", Backend: apiservice.Adapter}
	customState := migrate.APIServiceState{Name: apiservice.Custom, Present: true, Service: "monitoring/prometheus-adapter", Backend: apiservice.Adapter}
	heldPlan := migrate.PlanAPIServices(customState, adapterExt, []migrate.HPAUse{{Key: "default/interlok", Custom: true}, {Key: "shop/queue", External: true}}, []string{"default/interlok"})
	movePlan := migrate.PlanAPIServices(customState, adapterExt, []migrate.HPAUse{{Key: "default/interlok", Custom: true}}, []string{"default/interlok"})
	found := func() (apiservice.KEDAMetricsServer, error) {
		return apiservice.KEDAMetricsServer{Namespace: "keda", Name: "keda-operator-metrics-apiserver", Port: 443}, nil
	}
	notFound := func() (apiservice.KEDAMetricsServer, error) {
		return apiservice.KEDAMetricsServer{}, errors.New("no KEDA metrics server Service found")
	}
	tests := []struct {
		name       string
		plan       migrate.APIServicePlan
		force      bool
		output     string
		server     func() (apiservice.KEDAMetricsServer, error)
		wantCode   int
		wantErr    string
		wantOut    string
		wantErrOut string
		created    bool
		moved      bool
		denied     string // a permission Allowed refuses
	}{
		{name: "a write not allowed: refused, nothing written", plan: movePlan, server: found, denied: "create scaledobjects", wantCode: ExitCannotRun,
			wantErr: "nothing applied: cannot create scaledobjects"},
		{name: "held: refused, nothing written", plan: heldPlan, server: found, wantCode: ExitCannotRun, wantErr: "nothing applied: APIService " + apiservice.External + " " + held},
		{name: "held with --force: APIService left alone", plan: heldPlan, force: true, server: found, wantCode: ExitFindings, wantErr: "KEDA does not drive",
			wantOut: "scaledobject.keda.sh/interlok-autoscaler created", wantErrOut: "warning (--force): APIService " + apiservice.External + " is left alone", created: true},
		{name: "moves, KEDA's server not found: nothing written", plan: movePlan, server: notFound, wantCode: ExitCannotRun, wantErr: "no KEDA metrics server Service found: nothing applied"},
		{name: "moves, then creates; kubectl's lines", plan: movePlan, server: found, wantCode: ExitFindings, wantErr: "KEDA does not drive",
			wantOut: "scaledobject.keda.sh/interlok-autoscaler created", wantErrOut: "to KEDA's metrics server keda/keda-operator-metrics-apiserver:443", created: true, moved: true},
		{name: "-o json: the ScaledObject as read back", plan: movePlan, server: found, output: "json", wantCode: ExitFindings, wantErr: "KEDA does not drive",
			wantOut: `"kind": "ScaledObject"`, wantErrOut: "scaledobject.keda.sh/interlok-autoscaler created", created: true, moved: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "interlok-autoscaler", UID: "u"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5, Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}}}}
			ext := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: apiservice.External}, Spec: apiservice.ExternalSpec("monitoring", "prometheus-adapter", 443),
				Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue}}}}
			agg := aggregatorfake.NewSimpleClientset(ext)
			kc := keda.NewClient(dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{keda.ScaledObjects: "ScaledObjectList"}))
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			o := &MigrateKEDAOptions{IOStreams: streams, PrintFlags: printers.NewFlags(), Force: tt.force}
			o.PrintFlags.Output = tt.output
			w := &migrate.Writer{Client: fake.NewSimpleClientset(hpa), KEDA: kc, Aggregator: agg, Timeout: 30 * time.Millisecond, Interval: 10 * time.Millisecond, Out: out, Progress: errOut}
			if tt.output != "" {
				w.Out = errOut
			}
			var asked []string
			w.Allowed = func(_ context.Context, attrs []authorizationv1.ResourceAttributes) error {
				for _, a := range attrs {
					asked = append(asked, a.Verb+" "+a.Resource)
					if a.Verb+" "+a.Resource == tt.denied {
						return errors.New("cannot " + tt.denied)
					}
				}
				return nil
			}
			so := &keda.ScaledObject{TypeMeta: metav1.TypeMeta{APIVersion: keda.GroupVersion.String(), Kind: "ScaledObject"},
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "interlok-autoscaler"},
				Spec:       keda.ScaledObjectSpec{Advanced: &keda.AdvancedConfig{HorizontalPodAutoscalerConfig: &keda.HorizontalPodAutoscalerConfig{Name: "interlok-autoscaler"}}}}

			err := o.apply(ctx, w, []*keda.ScaledObject{so}, tt.plan, tt.server)
			if ExitCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("exit %d, %v; want %d with %q\nstderr:\n%s", ExitCode(err), err, tt.wantCode, tt.wantErr, errOut)
			}
			if !strings.Contains(out.String(), tt.wantOut) || !strings.Contains(errOut.String(), tt.wantErrOut) {
				t.Fatalf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", out, errOut, tt.wantOut, tt.wantErrOut)
			}
			if tt.output == "json" {
				var got keda.ScaledObject
				if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Annotations[migrate.BackupAnnotation] == "" {
					t.Fatalf("stdout is not the ScaledObject read back (%v):\n%s", err, out)
				}
			}
			if tt.plan.External.Action == migrate.APIServiceMoves && tt.wantCode != ExitCannotRun && !slices.Contains(asked, "update apiservices") {
				t.Fatalf("asked %v before writing: not whether the APIService may be updated", asked)
			}
			sos, err := kc.List(ctx, "")
			if err != nil || (len(sos) == 1) != tt.created {
				t.Fatalf("ScaledObjects %v, %v; want created %v", sos, err, tt.created)
			}
			as, err := agg.ApiregistrationV1().APIServices().Get(ctx, apiservice.External, metav1.GetOptions{})
			if err != nil || (as.Spec.Service.Namespace == "keda") != tt.moved || (as.Annotations[migrate.APIServiceBackupAnnotation] != "") != tt.moved {
				t.Fatalf("APIService %+v, %v; want moved %v", as, err, tt.moved)
			}
		})
	}
}
