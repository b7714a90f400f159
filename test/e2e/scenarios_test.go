package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func hpaCondition(ctx context.Context, name string, typ autoscalingv2.HorizontalPodAutoscalerConditionType) (*autoscalingv2.HorizontalPodAutoscalerCondition, error) {
	hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, c := range hpa.Status.Conditions {
		if c.Type == typ {
			return &c, nil
		}
	}
	return nil, fmt.Errorf("HPA %s has no %s condition yet", name, typ)
}

// TestPromFakeScenario: the HPA walkthrough's Object metric on a Service is
// served by the chart's default rules (the series carry namespace, service
// and pod labels), and the HPA controller reads it.
func TestPromFakeScenario(t *testing.T) {
	needSandbox(t)
	applyScenario(t, "promfake")
	cm := customMetricsClient(t)
	svc := schema.GroupKind{Kind: "Service"}
	eventually(t, 2*time.Minute, "the API serves prom_fake_value=10 for service prom-fake", func(ctx context.Context) error {
		v, err := cm.NamespacedMetrics("default").GetForObject(svc, "prom-fake", "prom_fake_value", labels.Everything())
		if err != nil {
			return err
		}
		if v.Value.Value() != 10 {
			return fmt.Errorf("value %s", v.Value.String())
		}
		return nil
	})
	eventually(t, time.Minute, "HPA nginx finds a valid metric", func(ctx context.Context) error {
		c, err := hpaCondition(ctx, "nginx", autoscalingv2.ScalingActive)
		if err != nil {
			return err
		}
		if c.Status != corev1.ConditionTrue || c.Reason != "ValidMetricFound" {
			return fmt.Errorf("ScalingActive=%s %s: %s", c.Status, c.Reason, c.Message)
		}
		return nil
	})
}

// TestKongScenario: scraping without honor_labels moves the pushed
// namespace/service labels to exported_*, no rule produces the HPA's metric,
// and the HPA controller reports FailedGetObjectMetric.
func TestKongScenario(t *testing.T) {
	needSandbox(t)
	applyScenario(t, "kong")
	eventually(t, time.Minute, "Prometheus stores the Kong counters with exported_* labels", func(ctx context.Context) error {
		vec, err := promVector(ctx, `kong_upstream_latency_ms_count`)
		if err != nil {
			return err
		}
		if len(vec) != 1 {
			return fmt.Errorf("want 1 series, got %v", vec)
		}
		m := vec[0].Metric
		if m["exported_namespace"] != "default" || m["exported_service"] != "echo" || m["namespace"] != "kong" || m["service"] != "kong-proxy" {
			return fmt.Errorf("labels %v", m)
		}
		return nil
	})
	cm := customMetricsClient(t)
	_, err := cm.NamespacedMetrics("default").GetForObject(schema.GroupKind{Kind: "Service"}, "echo", "kong_upstream_latency_ms_60s_average", labels.Everything())
	if !apierrors.IsNotFound(err) {
		t.Fatalf("without a rule: want NotFound, got %v", err)
	}
	waitScalingInactive(t, time.Minute, "echo", "FailedGetObjectMetric")
}

// waitScalingInactive waits until the HPA controller reports
// ScalingActive=False with reason on the HPA.
func waitScalingInactive(t *testing.T, timeout time.Duration, hpa, reason string) {
	t.Helper()
	eventually(t, timeout, "HPA "+hpa+" reports "+reason, func(ctx context.Context) error {
		c, err := hpaCondition(ctx, hpa, autoscalingv2.ScalingActive)
		if err != nil {
			return err
		}
		if c.Status != corev1.ConditionFalse || c.Reason != reason {
			return fmt.Errorf("ScalingActive=%s %s: %s", c.Status, c.Reason, c.Message)
		}
		t.Logf("ScalingActive=False %s: %s", c.Reason, c.Message)
		return nil
	})
}
