package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"

	pmodel "github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	"k8s.io/utils/ptr"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// fakeKEDA holds ScaledObjects by namespace/name and answers triggers'
// queries by serverAddress and query.
type fakeKEDA struct {
	objects     map[string]*keda.ScaledObject
	unreachable map[string]string           // serverAddress → why
	answers     map[string]prom.QueryResult // query → result
	fail        map[string]error            // query → error
	asked       []string
}

func (k *fakeKEDA) ScaledObject(_ context.Context, ns, name string) (*keda.ScaledObject, error) {
	return k.objects[ns+"/"+name], nil
}

func (k *fakeKEDA) Query(_ context.Context, addr, q string) (prom.QueryResult, string, error) {
	k.asked = append(k.asked, addr+" "+q)
	if why := k.unreachable[addr]; why != "" {
		return prom.QueryResult{}, why, nil
	}
	if err := k.fail[q]; err != nil {
		return prom.QueryResult{}, "", err
	}
	return k.answers[q], "", nil
}

func vector(values ...float64) prom.QueryResult {
	v := pmodel.Vector{}
	for i, x := range values {
		v = append(v, &pmodel.Sample{Metric: pmodel.Metric{"queue": pmodel.LabelValue(string(rune('a' + i)))}, Value: pmodel.SampleValue(x)})
	}
	return prom.QueryResult{Type: pmodel.ValVector, Vector: &v}
}

const (
	promAddr   = "http://prometheus.monitoring.svc:9090"
	queueQuery = `sum(queue_messages_ready{queue="orders"})`
)

// workerScaledObject is ScaledObject default/worker with one prometheus
// trigger, Ready.
func workerScaledObject() *keda.ScaledObject {
	return &keda.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "default"},
		Spec: keda.ScaledObjectSpec{
			ScaleTargetRef: &keda.ScaleTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker"},
			Triggers: []keda.ScaleTrigger{{Type: "prometheus", MetricType: autoscalingv2.AverageValueMetricType,
				Metadata: map[string]string{"serverAddress": promAddr, "query": queueQuery, "threshold": "10"}}},
		},
		Status: keda.ScaledObjectStatus{Conditions: []keda.Condition{{Type: keda.ConditionReady, Status: metav1.ConditionTrue}}},
	}
}

// kedaHPA is the HPA KEDA writes for ScaledObject default/worker.
func kedaHPA() autoscalingv2.HorizontalPodAutoscaler {
	so := workerScaledObject()
	return autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: so.HPAName(), Namespace: "default", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "worker", Controller: ptr.To(true)}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker"},
			MaxReplicas:    4,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: keda.ExternalMetricName(0, "prometheus"), Selector: so.MetricSelector()},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(10, resource.DecimalSI)}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound"}}},
	}
}

const kedaService = "keda/keda-operator-metrics-apiserver"

// TestDiagnoseKEDA walks KEDA-driven HPAs through Diagnose: the
// ScaledObject's state, its trigger's query as KEDA runs it, KEDA's
// external metrics, and HPAs that share a scale target.
func TestDiagnoseKEDA(t *testing.T) {
	cases := []struct {
		name string
		edit func(in *Collected, so *keda.ScaledObject, k *fakeKEDA, ext *fakeExternal)
		// want are the codes on the HPA and its metric; errors is the exit.
		want    []string
		errors  bool
		healthy bool
		// mention must appear in the findings' text.
		mention []string
		// noQuery: doctor sends no query to any Prometheus; the value
		// checked is KEDA's (current 5).
		noQuery bool
	}{
		{name: "healthy", healthy: true},
		{name: "query returns no data", errors: true, want: []string{"MS308"},
			edit: func(_ *Collected, _ *keda.ScaledObject, k *fakeKEDA, _ *fakeExternal) {
				k.answers[queueQuery] = vector()
			},
			mention: []string{"ScaledObject default/worker", "triggers[0]", queueQuery, promAddr, "ignoreNullValues defaults to true",
				`kubectl patch scaledobject worker -n default --type=json -p '[{"op":"add","path":"/spec/triggers/0/metadata/ignoreNullValues","value":"false"}]'`}},
		{name: "query returns no data, ignoreNullValues false", errors: true, want: []string{"MS308"},
			edit: func(_ *Collected, so *keda.ScaledObject, k *fakeKEDA, _ *fakeExternal) {
				so.Spec.Triggers[0].Metadata["ignoreNullValues"] = "false"
				k.answers[queueQuery] = vector()
			},
			mention: []string{"with ignoreNullValues: false KEDA fails the trigger"}},
		{name: "query returns three series", errors: true, want: []string{"MS309"},
			edit: func(_ *Collected, _ *keda.ScaledObject, k *fakeKEDA, _ *fakeExternal) {
				k.answers[queueQuery] = vector(1, 2, 3)
			},
			mention: []string{"returns 3 series", "sum(...)"}},
		{name: "serverAddress unreachable", errors: true, want: []string{"MS120"},
			edit: func(_ *Collected, _ *keda.ScaledObject, k *fakeKEDA, _ *fakeExternal) {
				k.unreachable[promAddr] = "Service monitoring/prometheus does not exist"
			}, mention: []string{promAddr, "does not exist"}},
		{name: "query fails", errors: true, want: []string{"MS311"},
			edit: func(_ *Collected, _ *keda.ScaledObject, k *fakeKEDA, _ *fakeExternal) {
				k.fail[queueQuery] = errors.New("bad_data: parse error")
			}, mention: []string{"bad_data"}},
		{name: "below activation threshold", want: []string{"MS310"}, healthy: true,
			edit: func(_ *Collected, so *keda.ScaledObject, _ *fakeKEDA, _ *fakeExternal) {
				so.Spec.Triggers[0].Metadata["activationThreshold"] = "50"
			}, mention: []string{"value 5", "activationThreshold 50"}},
		{name: "not ready", errors: true, want: []string{"MS411"},
			edit: func(_ *Collected, so *keda.ScaledObject, _ *fakeKEDA, _ *fakeExternal) {
				so.Status.Conditions = []keda.Condition{{Type: keda.ConditionReady, Status: metav1.ConditionFalse, Reason: "ScaledObjectCheckFailed", Message: "Target resource doesn't exist"}}
			}, mention: []string{"Target resource doesn't exist"}},
		{name: "fallback", errors: true, want: []string{"MS412"},
			edit: func(_ *Collected, so *keda.ScaledObject, _ *fakeKEDA, _ *fakeExternal) {
				so.Spec.Fallback = &keda.Fallback{FailureThreshold: 3, Replicas: 2}
				so.Status.Conditions = append(so.Status.Conditions, keda.Condition{Type: keda.ConditionFallback, Status: metav1.ConditionTrue, Message: "At least one trigger is falling back on this scaled object"})
				so.Status.Health = map[string]keda.HealthStatus{"s0-prometheus": {NumberOfFailures: ptr.To[int32](4), Status: "Failing"}}
			}, mention: []string{"holds 2 replicas", "4 consecutive failures"}},
		{name: "paused", want: []string{"MS413"}, healthy: true,
			edit: func(_ *Collected, so *keda.ScaledObject, _ *fakeKEDA, _ *fakeExternal) {
				so.Annotations = map[string]string{keda.PausedReplicasAnnotation: "0"}
			}, mention: []string{"paused-replicas"}},
		{name: "external APIService points at the adapter", errors: true, want: []string{"MS121"},
			edit: func(in *Collected, _ *keda.ScaledObject, _ *fakeKEDA, _ *fakeExternal) {
				in.APIServices[1].Service = "monitoring/prometheus-adapter"
			}, mention: []string{"from KEDA", "points at Service monitoring/prometheus-adapter", kedaService, "kubectl get apiservice v1beta1.external.metrics.k8s.io"}},
		{name: "a rabbitmq trigger: its source is not run, KEDA's value is checked", want: []string{"MS312"}, healthy: true, noQuery: true,
			edit: func(in *Collected, so *keda.ScaledObject, _ *fakeKEDA, ext *fakeExternal) {
				so.Spec.Triggers[0] = keda.ScaleTrigger{Type: "rabbitmq", MetricType: autoscalingv2.AverageValueMetricType,
					Metadata: map[string]string{"queueName": "orders", "mode": "QueueLength", "value": "10"}}
				in.HPAs[0].Spec.Metrics[0].External.Metric.Name = "s0-rabbitmq-orders"
				ext.values = map[string]*emv1beta1.ExternalMetricValueList{"default/s0-rabbitmq-orders": externalValues("5")}
			}, mention: []string{"triggers[0] is of type rabbitmq, whose source doctor does not run", "s0-rabbitmq-orders as KEDA's metrics server serves it",
				"metadata keys mode, queueName, value"}},
		{name: "KEDA serves no value", errors: true, want: []string{"MS404"},
			edit: func(_ *Collected, _ *keda.ScaledObject, _ *fakeKEDA, ext *fakeExternal) {
				ext.values = nil
			}, mention: []string{"ScaledObject default/worker"}},
		{name: "a second HPA on the target", errors: true, want: []string{"MS414"},
			edit: func(in *Collected, _ *keda.ScaledObject, _ *fakeKEDA, _ *fakeExternal) {
				other := kedaHPA()
				other.Name, other.OwnerReferences = "worker", nil
				in.OtherHPAs = []autoscalingv2.HorizontalPodAutoscaler{other}
				ambiguous := autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "AmbiguousSelector",
					Message: "pods by selector app=worker are controlled by multiple HPAs: [default/keda-hpa-worker default/worker]"}
				in.HPAs[0].Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{ambiguous}
			}, mention: []string{"2 HPAs scale Deployment worker (keda-hpa-worker, worker)", keda.TransferHPAOwnershipAnnotation, "horizontalPodAutoscalerConfig.name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			so := workerScaledObject()
			k := &fakeKEDA{objects: map[string]*keda.ScaledObject{"default/worker": so}, unreachable: map[string]string{},
				answers: map[string]prom.QueryResult{queueQuery: vector(5)}, fail: map[string]error{}}
			ext := &fakeExternal{values: map[string]*emv1beta1.ExternalMetricValueList{"default/s0-prometheus": externalValues("5")}}
			in := collected(t, &fakeProm{ok: true}, &fakeAPI{listed: map[string]bool{}}, defaultRules(t))
			in.APIServices[1] = APIService{Name: ExternalAPIService, Present: true, Available: true, Service: kedaService}
			in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{kedaHPA()}
			in.Targets = fakeTargets{"default/Deployment/worker": runningPods("worker-1")}
			in.External, in.KEDA = ext, k
			if c.edit != nil {
				c.edit(in, so, k, ext)
			}
			r, err := Diagnose(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			recordReport(t, r)
			hr := r.HPAs[0]
			all := append(append([]Finding{}, hr.Findings...), hr.Metrics[0].Findings...)
			var got []string
			for _, f := range all {
				got = append(got, f.Code)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("findings %v, want %v: %+v", got, c.want, all)
			}
			if r.HasErrors() != c.errors || hr.Metrics[0].Healthy != c.healthy {
				t.Fatalf("errors %v (want %v), healthy %v (want %v); plumbing %s", r.HasErrors(), c.errors, hr.Metrics[0].Healthy, c.healthy, codes(r.Findings))
			}
			text := ""
			for _, f := range all {
				text += f.Object + ": " + f.Message + "\n" + strings.Join(f.Evidence, "\n") + "\n"
				if f.Fix != nil {
					text += f.Fix.Description + "\n" + f.Fix.Command + "\n"
				}
			}
			for _, m := range c.mention {
				if !strings.Contains(text, m) {
					t.Errorf("the findings do not mention %q:\n%s", m, text)
				}
			}
			if m := hr.Metrics[0]; c.noQuery && (len(k.asked) != 0 || m.Current != "5" || !strings.Contains(m.Request, "s0-rabbitmq-orders")) {
				t.Fatalf("queries sent %q, current %q, request %q: want none sent, KEDA's value 5 read", k.asked, m.Current, m.Request)
			}
			if c.name == "healthy" && (len(k.asked) != 1 || k.asked[0] != promAddr+" "+queueQuery) {
				t.Fatalf("queries sent %q, want the trigger's at its serverAddress", k.asked)
			}
		})
	}
}

// An HPA with an adapter External metric fails while the external metrics
// APIService points at KEDA (MS121, with the adapter's Service as the fix);
// two HPAs not KEDA's on one target are MS414 too.
func TestDiagnoseExternalBackendAndSharedTarget(t *testing.T) {
	spec := autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue_messages_ready"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: resource.NewQuantity(10, resource.DecimalSI)}}}
	in := collected(t, &fakeProm{ok: true}, &fakeAPI{listed: map[string]bool{}}, defaultRules(t))
	in.APIServices[1] = APIService{Name: ExternalAPIService, Present: true, Available: true, Service: kedaService}
	a, b := *hpa(spec), *hpa(spec)
	b.Name = "app-copy"
	in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{a, b}
	in.Targets = fakeTargets{"default/Deployment/app": runningPods("app-1")}
	in.External, in.KEDA = &fakeExternal{}, &fakeKEDA{}
	r, err := Diagnose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	recordReport(t, r)
	for _, hr := range r.HPAs {
		f := mustFinding(t, hr.Metrics[0].Findings, "MS121")
		if !strings.Contains(f.Message, "from prometheus-adapter") || !strings.Contains(f.Message, "monitoring/prometheus-adapter (prometheus-adapter)") {
			t.Errorf("MS121: %s", f.Message)
		}
		s := mustFinding(t, hr.Findings, "MS414")
		if !strings.Contains(s.Message, "(app, app-copy)") {
			t.Errorf("MS414: %s", s.Message)
		}
	}
}
