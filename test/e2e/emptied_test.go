package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// TestDoctorQueryPartEmpties: a rule whose metricsQuery hard-codes a
// matcher (queue="a") that the series carry with another value (queue="b").
// The API lists the metric, the series exist for the pod, the HPA reads
// nothing. doctor exits 1 naming the matcher (MS315) with the corrected
// rule; that rule, put in the adapter's config as printed, heals the HPA.
func TestDoctorQueryPartEmpties(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	original := adapterConfig(t)
	t.Cleanup(func() { setAdapterConfig(t, original) })
	ns, suffix := testNamespace(t, "emptied-")
	metric := "orders_backlog_" + suffix
	pushShopBacklog(t, ns, metric)
	broken := fmt.Sprintf("- seriesQuery: '{__name__=%q,namespace!=\"\",pod!=\"\"}'\n"+
		"  resources:\n    overrides:\n      namespace: {resource: namespace}\n      pod: {resource: pod}\n"+
		"  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>,queue=\"a\"}) by (<<.GroupBy>>)\n", metric)
	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+broken)

	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"}}}
	simPods(1, 3)(&hpa.Spec)
	hpa.Spec.Metrics[0].Pods.Metric.Name = metric
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var fix *doctor.Fix
	eventually(t, 2*time.Minute, "doctor names the matcher that empties the query (MS315)", func(ctx context.Context) error {
		rep, exit := runDoctor(t, "shop", "-n", ns)
		for _, f := range findingsOf(rep, "shop") {
			if f.Code == "MS315" && strings.Contains(f.Message, `queue="a"`) && f.Fix != nil && f.Fix.YAML != "" {
				if exit != 1 {
					return fmt.Errorf("exit %d with MS315", exit)
				}
				fix = f.Fix
				return nil
			}
		}
		return fmt.Errorf("exit %d, findings %s", exit, codesOf(findingsOf(rep, "shop")))
	})
	t.Logf("doctor's fix: %s\n%s", fix.Description, fix.YAML)

	// The corrected rule in place of the broken one, as printed.
	setAdapterConfig(t, strings.TrimRight(original, "\n")+"\n"+fix.YAML)
	eventually(t, 3*time.Minute, "the HPA reads 50 and doctor finds it healthy", func(ctx context.Context) error {
		h, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := scalingActive(h); err != nil {
			return err
		}
		rep, exit := runDoctor(t, "shop", "-n", ns)
		if exit != 0 {
			return fmt.Errorf("doctor exits %d: %s", exit, codesOf(findingsOf(rep, "shop")))
		}
		return nil
	})
}

// pushShopBacklog runs Deployment shop (one pod) in ns and pushes metric
// for its pod with queue="b".
func pushShopBacklog(t *testing.T, ns, metric string) {
	t.Helper()
	ctx := context.Background()
	kwokDeploymentIn(t, ns, "shop", 1, nil)
	pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("shop's pods: %v %v", pods, err)
	}
	pod := pods.Items[0].Name
	body := fmt.Sprintf("# TYPE %s gauge\n%s{namespace=%q,pod=%q,queue=\"b\"} 50\n", metric, metric, ns, pod)
	if err := sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "emptied", map[string]string{"instance": pod}, body); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePushGroup(t, "job/emptied/instance/"+pod) })
}
