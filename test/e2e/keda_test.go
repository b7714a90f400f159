package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	externalmetrics "k8s.io/metrics/pkg/client/external_metrics"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
	"github.com/metricscale/kubectl-metricscale/pkg/migrate"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// TestKEDA runs the tests that need KEDA running, one after another. It is
// parallel so that Go starts it once every serial test has ended: on a first
// run KEDA's binaries, a third of the sandbox's build, are built meanwhile
// (TestMain starts hack/tools.sh keda beside the tests).
func TestKEDA(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	needKEDA(t)
	for _, tc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"DoctorKEDANoData", testDoctorKEDANoData},
		{"DoctorKEDAHealthy", testDoctorKEDAHealthy},
		{"DoctorKEDAAmbiguousSelector", testDoctorKEDAAmbiguousSelector},
		{"KEDAScaledObject", testKEDAScaledObject},
		{"KEDAAmbiguousSelector", testKEDAAmbiguousSelector},
		{"MigrateKEDACPU", testMigrateKEDACPU},
		{"MigrateKEDATwoSeries", testMigrateKEDATwoSeries},
		{"MigrateKEDAApplyRollback", testMigrateKEDAApplyRollback},
		{"MigrateKEDAPromFake", testMigrateKEDAPromFake},
		{"MigrateKEDAApplyHeld", testMigrateKEDAApplyHeld},
		{"MigrateKEDALeastPrivilege", testMigrateKEDALeastPrivilege},
		{"AlertsKEDA", testAlertsKEDA},
	} {
		t.Run(tc.name, tc.run)
	}
}

// kedaClient is the typed mirror's client on the sandbox.
func kedaClient(t *testing.T) *keda.Client {
	t.Helper()
	requireKEDA(t)
	dyn, err := dynamic.NewForConfig(env.rest)
	if err != nil {
		t.Fatal(err)
	}
	return keda.NewClient(dyn)
}

// useKEDAForExternalMetrics hands external.metrics.k8s.io to KEDA, as a
// migration would, and gives it back to its previous server at the end of
// the test (after the test's own cleanups, which run first).
func useKEDAForExternalMetrics(t *testing.T) {
	t.Helper()
	requireKEDA(t)
	useExternalMetrics(t, sandbox.ExternalMetricsKEDA)
}

// useExternalMetrics hands external.metrics.k8s.io to server and gives it
// back to its previous server at the end of the test, whoever the test
// left it with (migrate's backup annotation removed too).
func useExternalMetrics(t *testing.T, server sandbox.ExternalMetricsServer) {
	t.Helper()
	ctx := context.Background()
	before, err := sandbox.ExternalMetrics(ctx, env.rest)
	if err != nil {
		t.Fatal(err)
	}
	if before == sandbox.ExternalMetricsOther {
		t.Fatalf("APIService %s points at neither the adapter nor KEDA: a test left it so", sandbox.ExternalMetricsAPIService)
	}
	start := time.Now()
	if err := sandbox.SetExternalMetrics(ctx, env.info, server); err != nil {
		t.Fatal(err)
	}
	t.Logf("external metrics: %s → %s after %.1fs", before, server, time.Since(start).Seconds())
	t.Cleanup(func() {
		// Back through the adapter's spec first, as a rollback to the
		// adapter would: KEDA's injected caBundle must not survive it (with
		// insecureSkipTLSVerify the API server would refuse the object).
		if err := sandbox.SetExternalMetrics(ctx, env.info, sandbox.ExternalMetricsAdapter); err != nil {
			t.Error(err)
			return
		}
		apis := aggregator.NewForConfigOrDie(env.rest).ApiregistrationV1().APIServices()
		as, err := apis.Get(ctx, sandbox.ExternalMetricsAPIService, metav1.GetOptions{})
		if err != nil {
			t.Error(err)
		} else if len(as.Spec.CABundle) != 0 || !as.Spec.InsecureSkipTLSVerify || as.Spec.Service.Name != "prometheus-adapter" {
			t.Errorf("switched back to the adapter, the APIService spec is %+v", as.Spec)
		} else if _, ok := as.Annotations[migrate.APIServiceBackupAnnotation]; ok {
			delete(as.Annotations, migrate.APIServiceBackupAnnotation)
			if _, err := apis.Update(ctx, as, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}
		if err := sandbox.SetExternalMetrics(ctx, env.info, before); err != nil {
			t.Error(err)
		}
		if now, err := sandbox.ExternalMetrics(ctx, env.rest); err != nil || now != before {
			t.Errorf("external metrics served by %s after the test, want %s (%v)", now, before, err)
		}
	})
}

// kwokDeployment creates a Deployment of one replica on the kwok nodes and
// waits until its pod is Ready; it is deleted at the end of the test.
func kwokDeployment(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() {
		_ = env.client.AppsV1().Deployments("default").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	kwokDeploymentIn(t, "default", name, 1, nil)
}

// pushQueueDepth pushes queue_messages_ready for one queue, as the queue
// scenario's exporter does, and waits until Prometheus has scraped it.
func pushQueueDepth(t *testing.T, queue string, value int) {
	t.Helper()
	ctx := context.Background()
	body := fmt.Sprintf("# TYPE queue_messages_ready gauge\nqueue_messages_ready{namespace=\"default\",queue=%q} %d\n", queue, value)
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "queue", map[string]string{"queue": queue}, body); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, fmt.Sprintf("Prometheus has queue %s at %d", queue, value), func(ctx context.Context) error {
		vec, err := promVector(ctx, fmt.Sprintf(`queue_messages_ready{queue=%q}`, queue))
		if err != nil {
			return err
		}
		if len(vec) != 1 || int(vec[0].Value) != value {
			return fmt.Errorf("got %v", vec)
		}
		return nil
	})
}

// queueScaledObject is a ScaledObject with one prometheus trigger on a
// queue's depth, AverageValue 10 per replica. The serverAddress is the
// sandbox's Prometheus on loopback: KEDA's operator runs the query itself,
// as a host process, where cluster DNS names (*.svc) do not resolve.
func queueScaledObject(name, queue string) *keda.ScaledObject {
	return &keda.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: keda.ScaledObjectSpec{
			ScaleTargetRef:  &keda.ScaleTarget{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			PollingInterval: ptr.To[int32](5),
			MinReplicaCount: ptr.To[int32](1),
			MaxReplicaCount: ptr.To[int32](4),
			Triggers: []keda.ScaleTrigger{{
				Type:       "prometheus",
				MetricType: autoscalingv2.AverageValueMetricType,
				Metadata: map[string]string{
					"serverAddress": env.info.PrometheusURL,
					"query":         fmt.Sprintf(`sum(queue_messages_ready{namespace="default",queue=%q})`, queue),
					"threshold":     "10",
				},
			}},
		},
	}
}

func createScaledObject(t *testing.T, so *keda.ScaledObject) {
	t.Helper()
	ctx := context.Background()
	kc := kedaClient(t)
	if _, err := kc.Create(ctx, so); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteScaledObject(t, so.Namespace, so.Name) })
}

// deleteScaledObject deletes namespace/name, if there is one, and waits
// until it is gone: KEDA's finalizer deletes the HPA it owns, and the next
// test must not find it. It reports whether there was one.
func deleteScaledObject(t *testing.T, namespace, name string) bool {
	t.Helper()
	kc := kedaClient(t)
	if err := kc.Delete(context.Background(), namespace, name); err != nil {
		return false
	}
	waitGone(t, "ScaledObject "+name, func(ctx context.Context) error {
		_, err := kc.Get(ctx, namespace, name)
		return err
	})
	return true
}

// testKEDAScaledObject: with external.metrics.k8s.io handed to KEDA, a
// ScaledObject with a prometheus trigger on a pushed queue depth becomes
// Ready, KEDA creates its HPA, KEDA's metrics apiserver serves the query's
// value under s0-prometheus for the ScaledObject's selector, the HPA reads
// it, and the real HPA controller scales when the pushed value grows. The
// ScaledObject read back equals the one written: the mirror's field names
// are those of KEDA's CRD (the API server prunes unknown ones).
func testKEDAScaledObject(t *testing.T) {
	needSandbox(t)
	const name, queue = "payments-worker", "payments"
	so := queueWorker(t, name, queue, 5)

	kc := kedaClient(t)
	var got *keda.ScaledObject
	eventually(t, 2*time.Minute, "ScaledObject "+name+" Ready", func(ctx context.Context) error {
		var err error
		if got, err = kc.Get(ctx, "default", name); err != nil {
			return err
		}
		if !got.IsTrue(keda.ConditionReady) {
			return fmt.Errorf("conditions %+v", got.Status.Conditions)
		}
		return nil
	})
	if !apiequality.Semantic.DeepEqual(got.Spec, so.Spec) {
		t.Fatalf("the ScaledObject read back differs from the one written:\n%+v\nwant\n%+v", got.Spec, so.Spec)
	}
	if got.Status.HPAName != so.HPAName() || len(got.Status.ExternalMetricNames) != 1 || got.Status.ExternalMetricNames[0] != keda.ExternalMetricName(0, "prometheus") {
		t.Fatalf("status: hpaName %q (want %q), externalMetricNames %v", got.Status.HPAName, so.HPAName(), got.Status.ExternalMetricNames)
	}

	var hpa *autoscalingv2.HorizontalPodAutoscaler
	eventually(t, time.Minute, "KEDA's HPA "+so.HPAName(), func(ctx context.Context) error {
		var err error
		hpa, err = env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, so.HPAName(), metav1.GetOptions{})
		return err
	})
	if owner := metav1.GetControllerOf(hpa); owner == nil || owner.Kind != "ScaledObject" || owner.Name != name {
		t.Fatalf("HPA %s is controlled by %+v, want ScaledObject %s", hpa.Name, owner, name)
	}
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].External == nil || hpa.Spec.Metrics[0].External.Metric.Name != "s0-prometheus" {
		t.Fatalf("HPA %s metrics %+v, want one External s0-prometheus", hpa.Name, hpa.Spec.Metrics)
	}

	externalValue(t, so, 5)
	hpaCurrent(t, so.HPAName(), 5)
	// 5 messages, 10 per replica: one replica, until the queue grows.
	if dep, err := env.client.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{}); err != nil || *dep.Spec.Replicas != 1 {
		t.Fatalf("before the queue grows: replicas %v, %v; want 1", dep.Spec.Replicas, err)
	}

	pushQueueDepth(t, queue, 25)
	externalValue(t, so, 25)
	eventually(t, 2*time.Minute, "the HPA controller scales "+name+" to 3 (25 messages, 10 per replica)", func(ctx context.Context) error {
		dep, err := env.client.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *dep.Spec.Replicas != 3 {
			return fmt.Errorf("replicas %d", *dep.Spec.Replicas)
		}
		return nil
	})
}

// externalValue asks the external metrics API (KEDA's metrics apiserver) for
// the ScaledObject's metric as the HPA controller does, until it returns
// want.
func externalValue(t *testing.T, so *keda.ScaledObject, want int64) {
	t.Helper()
	ec, err := externalmetrics.NewForConfig(env.rest)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := metav1.LabelSelectorAsSelector(so.MetricSelector())
	if err != nil {
		t.Fatal(err)
	}
	metric := keda.ExternalMetricName(0, "prometheus")
	eventually(t, time.Minute, fmt.Sprintf("GET /apis/external.metrics.k8s.io/v1beta1/namespaces/%s/%s?labelSelector=%s = %d", so.Namespace, metric, sel, want),
		func(ctx context.Context) error {
			l, err := ec.NamespacedMetrics(so.Namespace).List(metric, sel)
			if err != nil {
				return err
			}
			if len(l.Items) != 1 || l.Items[0].Value.Cmp(*resource.NewQuantity(want, resource.DecimalSI)) != 0 {
				return fmt.Errorf("got %+v", l.Items)
			}
			return nil
		})
}

// hpaCurrent waits until the HPA's status shows the external metric's
// current average value.
func hpaCurrent(t *testing.T, hpaName string, want int64) {
	t.Helper()
	eventually(t, time.Minute, fmt.Sprintf("HPA %s reads %d", hpaName, want), func(ctx context.Context) error {
		hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, hpaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, m := range hpa.Status.CurrentMetrics {
			if m.External != nil && m.External.Current.AverageValue != nil && m.External.Current.AverageValue.Cmp(*resource.NewQuantity(want, resource.DecimalSI)) == 0 {
				return nil
			}
		}
		return fmt.Errorf("current metrics %+v, conditions %s", hpa.Status.CurrentMetrics, hpaConditions(hpa))
	})
}

// testKEDAAmbiguousSelector reproduces the migration trap: a ScaledObject
// added beside an HPA that already scales its Deployment, without
// scaledobject.keda.sh/transfer-hpa-ownership, makes KEDA create a second
// HPA; the HPA controller then marks both AmbiguousSelector and scales
// neither.
func testKEDAAmbiguousSelector(t *testing.T) {
	needSandbox(t)
	const name, queue = "ambiguous-worker", "ambiguous"
	kwokDeployment(t, name)
	createQueueHPA(t, name, queue)
	so := queueScaledObject(name, queue) // no transfer-hpa-ownership annotation
	createScaledObject(t, so)

	for _, h := range []string{name, so.HPAName()} {
		eventually(t, 2*time.Minute, "HPA "+h+" AmbiguousSelector", func(ctx context.Context) error {
			hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, h, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) {
					return fmt.Errorf("no HPA %s yet", h)
				}
				return err
			}
			for _, c := range hpa.Status.Conditions {
				if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "AmbiguousSelector" &&
					strings.Contains(c.Message, "multiple HPAs") {
					t.Logf("HPA %s: %s %s: %s", h, c.Type, c.Reason, c.Message)
					return nil
				}
			}
			return fmt.Errorf("conditions: %s", hpaConditions(hpa))
		})
	}
}

// createQueueHPA creates HPA NAME on Deployment NAME with the adapter's
// External metric queue_messages_ready{queue=QUEUE}, 10 per replica; it
// is deleted at the end of the test.
func createQueueHPA(t *testing.T, name, queue string) {
	t.Helper()
	ctx := context.Background()
	existing := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    4,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "queue_messages_ready", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": queue}}},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(10, resource.DecimalSI)},
			}}},
		},
	}
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, existing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Delete(ctx, name, metav1.DeleteOptions{})
	})
}
