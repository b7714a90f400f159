package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/hpastatus"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/migrate"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// interlokCPU is the cpu metric the test adds to interlok-autoscaler:
// 50% of the pods' requests.
var interlokCPU = autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
	Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}

// interlokWithCPU gives the healthy Interlok chain a cpu request of 200m
// (a rollout: the new pod pushes value, the old pod's group is deleted)
// and an HPA with cpu Utilization 50% beside MessageMetrics, the new pod
// using 100m (50%, the target, as value is MessageMetrics' target): the
// controller keeps one replica. It returns the HPA once the controller
// reads both metrics.
func interlokWithCPU(t *testing.T, value int) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	ctx := context.Background()
	rolloutInterlok(t, `{"spec":{"template":{"spec":{"containers":[{"name":"interlok-container","resources":{"requests":{"cpu":"200m"}}}]}}}}`)
	pushInterlok(t, value)
	setCPUUsage(t, "default", "app=interlok", "100m")

	hpas := env.client.AutoscalingV2().HorizontalPodAutoscalers("default")
	h, err := hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.Spec.Metrics = append([]autoscalingv2.MetricSpec{interlokCPU}, h.Spec.Metrics...)
	if _, err := hpas.Update(ctx, h, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "interlok-autoscaler reads cpu 50% and MessageMetrics "+fmt.Sprint(value), func(ctx context.Context) error {
		if h, err = hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{}); err != nil {
			return err
		}
		cpu, okCPU := hpastatus.CurrentValue(h, h.Spec.Metrics[0])
		msgs, okMsgs := hpastatus.CurrentValue(h, h.Spec.Metrics[1])
		// The emulated usage is a counter metrics-server takes a rate of:
		// 50% give or take, well within the controller's 10%.
		if !okCPU || !okMsgs || cpu < 45 || cpu > 55 || msgs != float64(value) || !hpastatus.ScalingActive(h) {
			return fmt.Errorf("cpu %g (%v), MessageMetrics %g (%v); conditions %v", cpu, okCPU, msgs, okMsgs, hpaConditions(h))
		}
		return nil
	})
	return h
}

// testMigrateKEDACPU: an HPA with a cpu Utilization metric beside the
// adapter's Pods metric (interlok-autoscaler with cpu 50%: the pod uses
// 100m of its 200m request through metrics-server) migrates to KEDA:
// the plan has a cpu trigger (Utilization "50") and the prometheus
// trigger in one ScaledObject, its check reads cpu from the resource
// metrics API; --apply keeps the same HPA object (UID), which then reads
// cpu from the resource metrics API and MessageMetrics from KEDA, both
// within 1% of what it read before, and keeps its one replica; --rollback
// gives back the HPA byte for byte (spec, labels, annotations as JSON),
// still one replica, reading both metrics again.
func testMigrateKEDACPU(t *testing.T) {
	needSandbox(t)
	interlokHPAForgotten(t)
	healthyInterlok(t, 100)
	useExternalMetrics(t, sandbox.ExternalMetricsAdapter)
	ctx := context.Background()
	before := interlokWithCPU(t, 100)
	hpas := env.client.AutoscalingV2().HorizontalPodAutoscalers("default")
	kc := kedaClient(t)
	t.Cleanup(func() { deleteScaledObject(t, "default", "interlok-autoscaler") })
	cpuBefore, _ := hpastatus.CurrentValue(before, before.Spec.Metrics[0])

	// The plan and its check.
	out, errOut, code := runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--server-address", env.info.PrometheusURL)
	t.Logf("stderr:\n%s", errOut)
	if code != 0 {
		t.Fatalf("migrate keda: exit %d\n%s%s", code, out, errOut)
	}
	sos := scaledObjects(t, out)
	if len(sos) != 1 || len(sos[0].Spec.Triggers) != 2 {
		t.Fatalf("want one ScaledObject with two triggers:\n%s", out)
	}
	cpuTrigger, promTrigger := sos[0].Spec.Triggers[0], sos[0].Spec.Triggers[1]
	if cpuTrigger.Type != "cpu" || cpuTrigger.MetricType != autoscalingv2.UtilizationMetricType || cpuTrigger.Metadata["value"] != "50" || len(cpuTrigger.Metadata) != 1 {
		t.Fatalf("cpu trigger %+v, want type cpu, metricType Utilization, value \"50\"", cpuTrigger)
	}
	if promTrigger.Type != "prometheus" || promTrigger.Metadata["threshold"] != "100" {
		t.Fatalf("prometheus trigger %+v", promTrigger)
	}
	cpuRow := ""
	for _, l := range strings.Split(errOut, "\n") {
		if strings.Contains(l, "interlok-autoscaler") && strings.Contains(l, " cpu ") {
			cpuRow = l
		}
	}
	// HPA, METRIC, TYPE, TARGET (2 words), ADAPTER, KEDA QUERY, REPLICAS (4), CHECK.
	cols := strings.Fields(cpuRow)
	if len(cols) < 12 || cols[3]+" "+cols[4] != "Utilization 50" || cols[5] != cols[6] || !strings.Contains(cpuRow, "1 → 1 / 1") || !strings.Contains(cpuRow, "ok (0.00%)") ||
		!strings.Contains(errOut, "metric cpu: "+migrate.ResourceNote) {
		t.Fatalf("the summary's cpu row %q (want the target, the same value from the resource metrics API on both sides, one replica, ok) or its note is missing", cpuRow)
	}

	// --apply: the same HPA, now KEDA's, reads what it read before.
	out, errOut, code = runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--apply", "--server-address", env.info.PrometheusURL)
	t.Logf("--apply stdout:\n%sstderr:\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("migrate keda --apply: exit %d", code)
	}
	if !strings.Contains(errOut, "Ready; HPA interlok-autoscaler reads s1-prometheus = ") || !strings.Contains(errOut, " from the resource metrics API") || !strings.Contains(errOut, "; cpu = ") {
		t.Fatal("--apply does not say that the HPA reads MessageMetrics from KEDA and cpu from the resource metrics API")
	}
	so, err := kc.Get(ctx, "default", "interlok-autoscaler")
	if err != nil {
		t.Fatal(err)
	}
	if !so.IsTrue(keda.ConditionReady) || !apiequality.Semantic.DeepEqual(so.Status.ResourceMetricNames, []string{"cpu"}) {
		t.Fatalf("ScaledObject conditions %+v, resource metrics %v", so.Status.Conditions, so.Status.ResourceMetricNames)
	}
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	// KEDA's s1-prometheus in the status shows a sync after the adoption:
	// the controller writes every current metric in one sync, cpu too.
	eventually(t, time.Minute, "the adopted HPA reads both metrics", func(ctx context.Context) error {
		if hpa, err = hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{}); err != nil {
			return err
		}
		if _, ok := migrate.CurrentExternal(hpa, keda.ExternalMetricName(1, "prometheus")); !ok || len(migrate.ResourceValues(hpa)) != 1 || !migrate.ResourceValues(hpa)[0].OK {
			return fmt.Errorf("current metrics %+v", hpa.Status.CurrentMetrics)
		}
		return nil
	})
	if owner := metav1.GetControllerOf(hpa); hpa.UID != before.UID || owner == nil || owner.Kind != "ScaledObject" || owner.Name != so.Name {
		t.Fatalf("HPA UID %s (was %s), controller %+v: want the same HPA, adopted by the ScaledObject", hpa.UID, before.UID, owner)
	}
	var cpuSpec *autoscalingv2.MetricSpec
	for i := range hpa.Spec.Metrics {
		if hpa.Spec.Metrics[i].Type == autoscalingv2.ResourceMetricSourceType {
			cpuSpec = &hpa.Spec.Metrics[i]
		}
	}
	if cpuSpec == nil || !apiequality.Semantic.DeepEqual(*cpuSpec, interlokCPU) || len(hpa.Spec.Metrics) != 2 {
		t.Fatalf("KEDA's HPA metrics %+v: want the cpu metric as it was and KEDA's external one", hpa.Spec.Metrics)
	}
	cpuAfter := migrate.ResourceValues(hpa)[0].Value
	fromKEDA, _ := migrate.CurrentExternal(hpa, keda.ExternalMetricName(1, "prometheus"))
	pods, err := interlokPods(ctx)
	if err != nil || len(pods) != 1 {
		t.Fatalf("interlok pods %v: %v", pods, err)
	}
	adapter := adapterPodValue(t, pods[0])
	if !within(cpuAfter, cpuBefore, 0.01) || !within(fromKEDA, adapter, 0.01) {
		t.Fatalf("after --apply the HPA reads cpu %g (before %g) and %g from KEDA (the adapter serves %g)", cpuAfter, cpuBefore, fromKEDA, adapter)
	}
	interlokKeepsOneReplica(t, "KEDA's HPA")

	// --rollback: the HPA as it was, byte for byte.
	out, errOut, code = runCmd(t, "migrate", "keda", "interlok-autoscaler", "-n", "default", "--rollback")
	t.Logf("--rollback stdout:\n%sstderr:\n%s", out, errOut)
	if code != 0 {
		t.Fatalf("migrate keda --rollback: exit %d", code)
	}
	if !strings.Contains(out, "horizontalpodautoscaler.autoscaling/interlok-autoscaler restored") || !strings.Contains(errOut, "reads its metrics again") {
		t.Fatal("--rollback does not say what it restored and waited for")
	}
	after, err := hpas.Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for what, pair := range map[string][2]any{"spec": {before.Spec, after.Spec}, "labels": {before.Labels, after.Labels}, "annotations": {before.Annotations, after.Annotations}} {
		b, _ := json.Marshal(pair[0])
		a, _ := json.Marshal(pair[1])
		if string(a) != string(b) {
			t.Fatalf("after the rollback the HPA's %s is\n%s\nwant\n%s", what, a, b)
		}
	}
	if after.UID != before.UID || len(after.OwnerReferences) != 0 {
		t.Fatalf("after the rollback: UID %s (was %s), owners %+v", after.UID, before.UID, after.OwnerReferences)
	}
	if sos, err := kc.List(ctx, "default"); err != nil || len(sos) != 0 {
		t.Fatalf("ScaledObjects after the rollback: %v, %v", sos, err)
	}
	interlokKeepsOneReplica(t, "the restored HPA")
}

// within reports whether got is within rel of want.
func within(got, want, rel float64) bool {
	d := got - want
	return d <= rel*want && -d <= rel*want
}

// interlokKeepsOneReplica checks, over three of the controller's syncs,
// that interlok keeps one replica and its HPA wants one.
func interlokKeepsOneReplica(t *testing.T, who string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * sandbox.HPASyncPeriod)
	for {
		dep, err := env.client.AppsV1().Deployments("default").Get(ctx, "interlok", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *dep.Spec.Replicas != 1 || hpa.Status.DesiredReplicas != 1 {
			t.Fatalf("with %s interlok has %d replicas, the HPA wants %d: want 1 (conditions %v)", who, *dep.Spec.Replicas, hpa.Status.DesiredReplicas, hpaConditions(hpa))
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Second)
	}
}
