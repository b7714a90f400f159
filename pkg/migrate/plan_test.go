package migrate

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

const server = "http://prometheus-server.monitoring.svc:9090"

func hpa(metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "interlok-autoscaler"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "interlok"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 5, Metrics: metrics,
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}},
		},
	}
}

func averageValue(v string) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse(v))}
}

func value(v string) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr.To(resource.MustParse(v))}
}

func podsMetric(name string, t autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: name}, Target: t}}
}

func objectMetric(name string, t autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: name},
		DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"}, Target: t}}
}

func externalMetric(name string, t autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: name}, Target: t}}
}

func cpuMetric() autoscalingv2.MetricSpec {
	return resourceMetric(corev1.ResourceCPU, utilization(80))
}

func utilization(percent int32) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)}
}

func resourceMetric(name corev1.ResourceName, t autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: name, Target: t}}
}

func containerMetric(name corev1.ResourceName, container string, t autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
		Name: name, Container: container, Target: t}}
}

func TestPlanHPA(t *testing.T) {
	type trigger struct {
		query, threshold string
		metricType       autoscalingv2.MetricTargetType
	}
	cases := []struct {
		name     string
		metrics  []Metric
		triggers []trigger // nil: no ScaledObject
		refused  []string  // per metric, "" for migrated; a substring of the reason
	}{
		{name: "Pods AverageValue: per-pod values summed",
			metrics: []Metric{{Spec: podsMetric("MessageMetrics", averageValue("100")),
				AdapterQuery: `sum(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"interlok-a|interlok-b"}) by (k8s_pod_name)`}},
			triggers: []trigger{{query: `sum(sum(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"interlok-a|interlok-b"}) by (k8s_pod_name))`,
				threshold: "100", metricType: autoscalingv2.AverageValueMetricType}},
			refused: []string{""}},
		{name: "Object Value, milli-quantity threshold as a float",
			metrics: []Metric{{Spec: objectMetric("requests", value("1500m")),
				AdapterQuery: `sum(requests{namespace="default",service="web"}) by (service)`}},
			triggers: []trigger{{query: `sum(sum(requests{namespace="default",service="web"}) by (service))`,
				threshold: "1.5", metricType: autoscalingv2.ValueMetricType}},
			refused: []string{""}},
		{name: "External AverageValue already one series: kept",
			metrics: []Metric{{Spec: externalMetric("queue_depth", averageValue("10")),
				AdapterQuery: `sum(queue_depth{queue="orders",namespace="default"})`}},
			triggers: []trigger{{query: `sum(queue_depth{queue="orders",namespace="default"})`,
				threshold: "10", metricType: autoscalingv2.AverageValueMetricType}},
			refused: []string{""}},
		{name: "two series without aggregation: wrapped in sum",
			metrics: []Metric{{Spec: objectMetric("requests", value("10")),
				AdapterQuery: `requests{namespace="default",service="web"}`}},
			triggers: []trigger{{query: `sum(requests{namespace="default",service="web"})`,
				threshold: "10", metricType: autoscalingv2.ValueMetricType}},
			refused: []string{""}},
		{name: "grouped with without(): wrapped",
			metrics: []Metric{{Spec: externalMetric("queue_depth", value("10")),
				AdapterQuery: `max without (instance) (queue_depth)`}},
			triggers: []trigger{{query: `sum(max without (instance) (queue_depth))`,
				threshold: "10", metricType: autoscalingv2.ValueMetricType}},
			refused: []string{""}},
		{name: "a resource KEDA has no trigger for: no ScaledObject for the HPA",
			metrics: []Metric{{Spec: resourceMetric("ephemeral-storage", averageValue("1Gi"))}, {Spec: podsMetric("MessageMetrics", averageValue("100")),
				AdapterQuery: `sum(MessageMetrics{k8s_pod_name="interlok-a"}) by (k8s_pod_name)`}},
			refused: []string{"KEDA has triggers for cpu and memory only", ""}},
		{name: "a resource target KEDA lacks",
			metrics: []Metric{{Spec: resourceMetric(corev1.ResourceCPU, value("1"))}},
			refused: []string{`target type "Value" of cpu has no KEDA equivalent: KEDA's cpu trigger takes Utilization or AverageValue`}},
		{name: "metric the adapter does not serve",
			metrics: []Metric{{Spec: podsMetric("Missing", averageValue("1")), Problem: "the adapter does not serve Missing for pods"}},
			refused: []string{"does not serve Missing"}},
		{name: "query that is not PromQL",
			metrics: []Metric{{Spec: podsMetric("MessageMetrics", averageValue("1")), AdapterQuery: `sum(MessageMetrics{`}},
			refused: []string{"not PromQL"}},
		{name: "range vector",
			metrics: []Metric{{Spec: externalMetric("q", value("1")), AdapterQuery: `q[5m]`}},
			refused: []string{"not an instant vector"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hpa()
			for _, m := range c.metrics {
				h.Spec.Metrics = append(h.Spec.Metrics, m.Spec)
			}
			p := PlanHPA(h, c.metrics, Options{ServerAddress: server})
			for i, mp := range p.Metrics {
				if c.refused[i] == "" && mp.Refused != "" || !strings.Contains(mp.Refused, c.refused[i]) {
					t.Errorf("metric %d refused %q, want %q", i, mp.Refused, c.refused[i])
				}
			}
			if c.triggers == nil {
				if p.ScaledObject != nil {
					t.Fatalf("ScaledObject %+v for an HPA with a metric left behind", p.ScaledObject)
				}
				return
			}
			so := p.ScaledObject
			if so == nil {
				t.Fatalf("no ScaledObject: %+v", p.Metrics)
			}
			var got []trigger
			for _, tr := range so.Spec.Triggers {
				if tr.Type != "prometheus" || tr.Metadata["serverAddress"] != server || tr.Metadata["ignoreNullValues"] != "false" {
					t.Errorf("trigger %+v", tr)
				}
				got = append(got, trigger{query: tr.Metadata["query"], threshold: tr.Metadata["threshold"], metricType: tr.MetricType})
			}
			if d := cmp.Diff(c.triggers, got, cmp.AllowUnexported(trigger{})); d != "" {
				t.Errorf("triggers (-want +got):\n%s", d)
			}
			if so.Annotations[keda.TransferHPAOwnershipAnnotation] != "true" || so.HPAName() != h.Name {
				t.Errorf("the ScaledObject does not adopt HPA %s: annotations %v, HPA name %s", h.Name, so.Annotations, so.HPAName())
			}
			if *so.Spec.MinReplicaCount != 1 || *so.Spec.MaxReplicaCount != 5 || so.Spec.ScaleTargetRef.Name != "interlok" || so.Spec.ScaleTargetRef.Kind != "Deployment" {
				t.Errorf("spec %+v", so.Spec)
			}
			if d := cmp.Diff(h.Spec.Behavior, so.Spec.Advanced.HorizontalPodAutoscalerConfig.Behavior); d != "" {
				t.Errorf("behavior (-hpa +scaledobject):\n%s", d)
			}
		})
	}
}

func TestPlanHPADefaultMinIsTheHPAs(t *testing.T) {
	h := hpa(externalMetric("q", value("1")))
	h.Spec.MinReplicas = nil
	p := PlanHPA(h, []Metric{{Spec: h.Spec.Metrics[0], AdapterQuery: "sum(q)"}}, Options{ServerAddress: server})
	if got := *p.ScaledObject.Spec.MinReplicaCount; got != 1 {
		t.Errorf("minReplicaCount %d, want the HPA's default 1 (KEDA's own default is 0)", got)
	}
}

func TestCompare(t *testing.T) {
	pods := MetricPlan{Name: "MessageMetrics", Type: autoscalingv2.PodsMetricSourceType, MetricType: autoscalingv2.AverageValueMetricType, Threshold: 100, PerReplica: true}
	objectValue := MetricPlan{Name: "requests", Type: autoscalingv2.ObjectMetricSourceType, MetricType: autoscalingv2.ValueMetricType, Threshold: 10}
	extAverage := MetricPlan{Name: "queue_depth", Type: autoscalingv2.ExternalMetricSourceType, MetricType: autoscalingv2.AverageValueMetricType, Threshold: 10, PerReplica: true}
	extValue := MetricPlan{Name: "queue_depth", Type: autoscalingv2.ExternalMetricSourceType, MetricType: autoscalingv2.ValueMetricType, Threshold: 10}
	cpu := MetricPlan{Name: "cpu", Type: autoscalingv2.ResourceMetricSourceType, Resource: corev1.ResourceCPU, MetricType: autoscalingv2.UtilizationMetricType, Threshold: 50, Value: "50"}
	memory := MetricPlan{Name: "memory", Type: autoscalingv2.ResourceMetricSourceType, Resource: corev1.ResourceMemory, MetricType: autoscalingv2.AverageValueMetricType, Threshold: 256 << 20, Value: "256Mi"}
	scale := func(current, maxReplicas int32) Scale {
		return Scale{Current: current, Min: 1, Max: maxReplicas, UpTolerance: DefaultTolerance, DownTolerance: DefaultTolerance}
	}
	cases := []struct {
		name                  string
		mp                    MetricPlan
		r                     Reading
		scale                 Scale
		adapter, keda         float64
		adapterRepl, kedaRepl int32
		problem               string
	}{
		{name: "Pods: the adapter's average equals the sum over the replicas", mp: pods, r: Reading{Adapter: 150, Query: 300}, scale: scale(2, 5),
			adapter: 150, keda: 150, adapterRepl: 3, kedaRepl: 3},
		{name: "Pods: a pod the query misses", mp: pods, r: Reading{Adapter: 150, Query: 150}, scale: scale(2, 5),
			adapter: 150, keda: 75, adapterRepl: 3, kedaRepl: 2, problem: "50.0% apart"},
		{name: "Pods: one of two pods has a series (doctor's MS304)", mp: pods, r: Reading{Adapter: 150, Query: 150, PodsWithValue: 1}, scale: scale(2, 5),
			adapter: 150, keda: 75, adapterRepl: 3, kedaRepl: 2, problem: "because only 1 of the 2 pods have a series: the HPA averages over the pods with a value, KEDA divides the query's sum by every replica. doctor reports it as MS304"},
		{name: "Object Value within tolerance", mp: objectValue, r: Reading{Adapter: 20, Query: 20.1}, scale: scale(1, 5),
			adapter: 20, keda: 20.1, adapterRepl: 2, kedaRepl: 3},
		{name: "Object Value: two series summed", mp: objectValue, r: Reading{Adapter: 20, Query: 40}, scale: scale(1, 5),
			adapter: 20, keda: 40, adapterRepl: 2, kedaRepl: 4, problem: "several series"},
		{name: "External AverageValue: both per replica, bounded by max", mp: extAverage, r: Reading{Adapter: 90, Query: 90}, scale: scale(3, 5),
			adapter: 30, keda: 30, adapterRepl: 5, kedaRepl: 5},
		// The controller's tolerance: within 10% of the target it keeps
		// the current replicas, on both sides.
		{name: "Pods 5% above the target: kept (not ceil(2*1.05) = 3)", mp: pods, r: Reading{Adapter: 105, Query: 210}, scale: scale(2, 5),
			adapter: 105, keda: 105, adapterRepl: 2, kedaRepl: 2},
		{name: "Pods exactly 10% above: still kept", mp: pods, r: Reading{Adapter: 110, Query: 220}, scale: scale(2, 5),
			adapter: 110, keda: 110, adapterRepl: 2, kedaRepl: 2},
		{name: "Pods 11% above: scaled", mp: pods, r: Reading{Adapter: 111, Query: 222}, scale: scale(2, 5),
			adapter: 111, keda: 111, adapterRepl: 3, kedaRepl: 3},
		{name: "Pods 10% below on 10 replicas: kept (not ceil(10*0.9) = 9)", mp: pods, r: Reading{Adapter: 90, Query: 900}, scale: scale(10, 20),
			adapter: 90, keda: 90, adapterRepl: 10, kedaRepl: 10},
		{name: "Pods 20% below on 10 replicas: scaled down", mp: pods, r: Reading{Adapter: 80, Query: 800}, scale: scale(10, 20),
			adapter: 80, keda: 80, adapterRepl: 8, kedaRepl: 8},
		{name: "External AverageValue: usage/(target*replicas) = 1.05 keeps 10 (not ceil(105/10) = 11)", mp: extAverage, r: Reading{Adapter: 105, Query: 105}, scale: scale(10, 20),
			adapter: 10.5, keda: 10.5, adapterRepl: 10, kedaRepl: 10},
		{name: "External Value within tolerance on one side only", mp: extValue, r: Reading{Adapter: 10.9, Query: 11.2}, scale: scale(1, 5),
			adapter: 10.9, keda: 11.2, adapterRepl: 1, kedaRepl: 2, problem: "apart"},
		{name: "the HPA's own scale-up tolerance (1%)", mp: pods, r: Reading{Adapter: 105, Query: 210},
			scale:   Scale{Current: 2, Min: 1, Max: 5, UpTolerance: 0.01, DownTolerance: DefaultTolerance},
			adapter: 105, keda: 105, adapterRepl: 3, kedaRepl: 3},
		// A resource metric reads the same API on both sides.
		{name: "cpu Utilization above the target", mp: cpu, r: Reading{Adapter: 100, Query: 100}, scale: scale(2, 5),
			adapter: 100, keda: 100, adapterRepl: 4, kedaRepl: 4},
		{name: "memory AverageValue: already per pod", mp: memory, r: Reading{Adapter: 256 << 20, Query: 256 << 20}, scale: scale(3, 5),
			adapter: 256 << 20, keda: 256 << 20, adapterRepl: 3, kedaRepl: 3},
		{name: "the resource metrics API gives nothing", mp: cpu, r: Reading{AdapterErr: errors.New("no metrics returned from resource metrics API")}, scale: scale(1, 5),
			problem: "the resource metrics API gives no value for cpu, which the HPA reads there before and after the migration: no metrics returned"},
		{name: "the adapter serves nothing", mp: objectValue, r: Reading{AdapterErr: errors.New("not found")}, scale: scale(1, 5), problem: "serves no value"},
		{name: "the query returns nothing", mp: objectValue, r: Reading{Adapter: 1, QueryErr: errors.New("no data")}, scale: scale(1, 5), problem: "gives no value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Compare(c.mp, c.r, c.scale, 0.01)
			if c.problem == "" && got.Problem != "" || !strings.Contains(got.Problem, c.problem) {
				t.Fatalf("problem %q, want %q", got.Problem, c.problem)
			}
			if c.r.AdapterErr != nil || c.r.QueryErr != nil {
				return
			}
			if got.Adapter != c.adapter || got.KEDA != c.keda || got.AdapterReplicas != c.adapterRepl || got.KEDAReplicas != c.kedaRepl {
				t.Errorf("got %+v, want adapter %g keda %g replicas %d/%d", got, c.adapter, c.keda, c.adapterRepl, c.kedaRepl)
			}
		})
	}
}

func TestScaleOf(t *testing.T) {
	h := hpa()
	h.Status.CurrentReplicas = 3
	if got, want := ScaleOf(h), (Scale{Current: 3, Min: 1, Max: 5, UpTolerance: 0.1, DownTolerance: 0.1}); got != want {
		t.Errorf("default tolerances: %+v, want %+v", got, want)
	}
	h.Spec.MinReplicas = nil
	h.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{Tolerance: ptr.To(resource.MustParse("50m"))}
	h.Spec.Behavior.ScaleDown.Tolerance = ptr.To(resource.MustParse("0.2"))
	if got, want := ScaleOf(h), (Scale{Current: 3, Min: 1, Max: 5, UpTolerance: 0.05, DownTolerance: 0.2}); got != want {
		t.Errorf("the HPA's tolerances: %+v, want %+v", got, want)
	}
}

func TestPlanHPANotes(t *testing.T) {
	h := hpa(podsMetric("MessageMetrics", averageValue("100")), externalMetric("q", value("1")))
	p := PlanHPA(h, []Metric{
		{Spec: h.Spec.Metrics[0], AdapterQuery: `sum(MessageMetrics{k8s_pod_name=~"interlok-a|interlok-b"}) by (k8s_pod_name)`, Note: TodaysPodsNote + " (a bare pod)"},
		{Spec: h.Spec.Metrics[1], AdapterQuery: "sum(q)"},
	}, Options{ServerAddress: server})
	if p.Metrics[0].Note != TodaysPodsNote+" (a bare pod)" || p.Metrics[1].Note != "" {
		t.Errorf("notes %q, %q", p.Metrics[0].Note, p.Metrics[1].Note)
	}
	if got, want := p.ScaledObject.Annotations[NotesAnnotation], "trigger 0 (MessageMetrics): "+TodaysPodsNote+" (a bare pod)"; got != want {
		t.Errorf("annotation %s = %q, want %q", NotesAnnotation, got, want)
	}
	p = PlanHPA(h, []Metric{{Spec: h.Spec.Metrics[0], AdapterQuery: "sum(x)"}, {Spec: h.Spec.Metrics[1], AdapterQuery: "sum(q)"}}, Options{ServerAddress: server})
	if _, ok := p.ScaledObject.Annotations[NotesAnnotation]; ok {
		t.Errorf("annotation %s without a note: %v", NotesAnnotation, p.ScaledObject.Annotations)
	}
}

// kedaMetricSpec is the metric KEDA v2.21's cpu/memory scaler writes into
// the HPA for a trigger (pkg/scalers/cpu_memory_scaler.go,
// GetMetricSpecForScaling): a ContainerResource metric with containerName,
// else a Resource metric; the target from metricType and metadata.value.
func kedaMetricSpec(t *testing.T, tr keda.ScaleTrigger) autoscalingv2.MetricSpec {
	t.Helper()
	target := autoscalingv2.MetricTarget{Type: tr.MetricType}
	switch tr.MetricType {
	case autoscalingv2.AverageValueMetricType:
		target.AverageValue = ptr.To(resource.MustParse(tr.Metadata["value"]))
	case autoscalingv2.UtilizationMetricType:
		n, err := strconv.ParseInt(tr.Metadata["value"], 10, 32)
		if err != nil {
			t.Fatalf("KEDA parses a Utilization value as an integer: %v", err)
		}
		target.AverageUtilization = ptr.To(int32(n))
	default:
		t.Fatalf("KEDA refuses metricType %q for %s", tr.MetricType, tr.Type)
	}
	name := corev1.ResourceName(tr.Type)
	if c := tr.Metadata["containerName"]; c != "" {
		return containerMetric(name, c, target)
	}
	return resourceMetric(name, target)
}

// A cpu or memory metric becomes KEDA's cpu / memory trigger in the same
// ScaledObject as the HPA's other triggers, and the metric KEDA writes
// back into the HPA from it is the HPA's own.
func TestPlanHPAResourceTriggers(t *testing.T) {
	cases := []struct {
		name string
		spec autoscalingv2.MetricSpec
		want keda.ScaleTrigger
	}{
		{"cpu Utilization", cpuMetric(),
			keda.ScaleTrigger{Type: "cpu", MetricType: autoscalingv2.UtilizationMetricType, Metadata: map[string]string{"value": "80"}}},
		{"memory AverageValue: the quantity as written", resourceMetric(corev1.ResourceMemory, averageValue("512Mi")),
			keda.ScaleTrigger{Type: "memory", MetricType: autoscalingv2.AverageValueMetricType, Metadata: map[string]string{"value": "512Mi"}}},
		{"cpu AverageValue in millicores", resourceMetric(corev1.ResourceCPU, averageValue("250m")),
			keda.ScaleTrigger{Type: "cpu", MetricType: autoscalingv2.AverageValueMetricType, Metadata: map[string]string{"value": "250m"}}},
		{"ContainerResource: containerName", containerMetric(corev1.ResourceCPU, "app", utilization(60)),
			keda.ScaleTrigger{Type: "cpu", MetricType: autoscalingv2.UtilizationMetricType, Metadata: map[string]string{"value": "60", "containerName": "app"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pods := podsMetric("MessageMetrics", averageValue("100"))
			h := hpa(c.spec, pods)
			p := PlanHPA(h, []Metric{{Spec: c.spec}, {Spec: pods, AdapterQuery: `sum(MessageMetrics{k8s_pod_name="interlok-a"})`}}, Options{ServerAddress: server})
			if p.ScaledObject == nil {
				t.Fatalf("no ScaledObject: %+v", p.Metrics)
			}
			trs := p.ScaledObject.Spec.Triggers
			if len(trs) != 2 || trs[1].Type != "prometheus" || p.Metrics[0].Trigger != 0 || p.Metrics[1].Trigger != 1 {
				t.Fatalf("triggers %+v, metrics %+v: want the resource trigger then the prometheus one", trs, p.Metrics)
			}
			if d := cmp.Diff(c.want, trs[0]); d != "" {
				t.Errorf("trigger (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.spec, kedaMetricSpec(t, trs[0])); d != "" {
				t.Errorf("the metric KEDA writes into the HPA differs from the HPA's (-hpa +keda):\n%s", d)
			}
			mp := p.Metrics[0]
			if mp.Note != ResourceNote || mp.Query != "" || mp.PerReplica {
				t.Errorf("metric plan %+v: want the resource note, no query, no per-replica division", mp)
			}
			if got := p.ScaledObject.Annotations[NotesAnnotation]; !strings.Contains(got, "trigger 0 ("+mp.Name+"): "+ResourceNote) {
				t.Errorf("annotation %s = %q", NotesAnnotation, got)
			}
		})
	}
}

// An HPA of cpu alone migrates too.
func TestPlanHPAResourceOnly(t *testing.T) {
	h := hpa(cpuMetric())
	p := PlanHPA(h, []Metric{{Spec: h.Spec.Metrics[0]}}, Options{ServerAddress: server})
	if p.ScaledObject == nil || len(p.ScaledObject.Spec.Triggers) != 1 || p.ScaledObject.Spec.Triggers[0].Type != "cpu" ||
		p.Metrics[0].Threshold != 80 || p.Metrics[0].MetricType != autoscalingv2.UtilizationMetricType {
		t.Fatalf("plan %+v", p)
	}
	if *p.ScaledObject.Spec.MinReplicaCount != 1 {
		t.Errorf("minReplicaCount %d: KEDA refuses cpu/memory triggers alone with 0", *p.ScaledObject.Spec.MinReplicaCount)
	}
}
