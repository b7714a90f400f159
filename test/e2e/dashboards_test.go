package e2e

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/util/podutils"
)

// TestDashboardSeries: the series that dashboards read are in Prometheus.
// kube-state-metrics describes the interlok HPA (spec, current replicas and
// conditions as the API server has them, labelled namespace and
// horizontalpodautoscaler) and its pod on a kwok node; Prometheus scrapes
// the adapter's own /metrics, which the adapter authorizes through the API
// server, and its request counter moves with the requests it serves.
func TestDashboardSeries(t *testing.T) {
	needSandbox(t)
	interlok(t)
	const hpaSelector = `namespace="default",horizontalpodautoscaler="interlok-autoscaler"`

	eventually(t, 2*time.Minute, "kube-state-metrics reports the HPA's spec and current replicas", func(ctx context.Context) error {
		hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for metric, want := range map[string]int32{
			"kube_horizontalpodautoscaler_spec_max_replicas":       hpa.Spec.MaxReplicas,
			"kube_horizontalpodautoscaler_status_current_replicas": hpa.Status.CurrentReplicas,
		} {
			if err := oneSeries(ctx, metric+"{"+hpaSelector+"}", "kube-state-metrics", float64(want)); err != nil {
				return err
			}
		}
		return nil
	})

	eventually(t, 2*time.Minute, "kube-state-metrics reports the HPA's conditions as the API server has them", func(ctx context.Context) error {
		hpa, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "interlok-autoscaler", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var want []string
		for _, c := range hpa.Status.Conditions {
			want = append(want, fmt.Sprintf("%s=%s", c.Type, strings.ToLower(string(c.Status))))
		}
		if len(want) == 0 {
			return fmt.Errorf("the HPA has no conditions yet")
		}
		vec, err := promVector(ctx, `kube_horizontalpodautoscaler_status_condition{`+hpaSelector+`} == 1`)
		if err != nil {
			return err
		}
		var got []string
		for _, s := range vec {
			got = append(got, fmt.Sprintf("%s=%s", s.Metric["condition"], s.Metric["status"]))
		}
		sort.Strings(want)
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("conditions in Prometheus %v, on the HPA %v", got, want)
		}
		return nil
	})

	eventually(t, time.Minute, "kube-state-metrics reports the interlok pod on its kwok node as ready", func(ctx context.Context) error {
		pods, err := env.client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=interlok"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("want 1 interlok pod, got %d", len(pods.Items))
		}
		pod := pods.Items[0]
		if !strings.HasPrefix(pod.Spec.NodeName, "kwok-node-") || !podutils.IsPodReady(&pod) {
			return fmt.Errorf("pod %s on node %q is not yet a ready kwok pod", pod.Name, pod.Spec.NodeName)
		}
		if err := oneSeries(ctx, fmt.Sprintf(`kube_pod_info{namespace="default",pod=%q,node=%q}`, pod.Name, pod.Spec.NodeName), "kube-state-metrics", 1); err != nil {
			return err
		}
		return oneSeries(ctx, fmt.Sprintf(`kube_pod_status_ready{namespace="default",pod=%q,condition="true"}`, pod.Name), "kube-state-metrics", 1)
	})

	eventually(t, time.Minute, "Prometheus scrapes the adapter's /metrics", func(ctx context.Context) error {
		return oneSeries(ctx, `up{job="prometheus-adapter"}`, "prometheus-adapter", 1)
	})
	// The adapter's own counter of the custom metrics API requests it
	// served: the HPA controller's requests every sync and discovery.
	const adapterRequests = `sum(apiserver_request_total{job="prometheus-adapter",group="custom.metrics.k8s.io"})`
	var before model.SampleValue
	eventually(t, time.Minute, "the adapter counts the custom metrics API requests it serves", func(ctx context.Context) error {
		vec, err := promVector(ctx, adapterRequests)
		if err != nil {
			return err
		}
		if len(vec) != 1 || vec[0].Value == 0 {
			return fmt.Errorf("%s = %v", adapterRequests, vec)
		}
		before = vec[0].Value
		return nil
	})
	eventually(t, time.Minute, "the adapter's request counter moves", func(ctx context.Context) error {
		vec, err := promVector(ctx, adapterRequests)
		if err != nil {
			return err
		}
		if len(vec) != 1 || vec[0].Value <= before {
			return fmt.Errorf("%s = %v, was %v", adapterRequests, vec, before)
		}
		return nil
	})
}

// oneSeries requires query to return exactly one series, scraped by job,
// with value want.
func oneSeries(ctx context.Context, query, job string, want float64) error {
	vec, err := promVector(ctx, query)
	if err != nil {
		return err
	}
	if len(vec) != 1 {
		return fmt.Errorf("%s: want 1 series, got %v", query, vec)
	}
	if got := string(vec[0].Metric["job"]); got != job {
		return fmt.Errorf("%s: job %q, want %q", query, got, job)
	}
	if float64(vec[0].Value) != want {
		return fmt.Errorf("%s = %v, want %v", query, vec[0].Value, want)
	}
	return nil
}
