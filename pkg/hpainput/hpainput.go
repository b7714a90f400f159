// Package hpainput reads what the HPA controller reads for one HPA at a
// sync: the scale subresource of its target, the pods the scale's selector
// selects, and each metric's values through the controller's own requests
// (pkg/hpareq for the custom and external metrics APIs, pkg/resourceusage
// for metrics.k8s.io), as the decision.Input pkg/decision decides on.
//
// The controller's memory (its recommendations of the stabilization window
// and its scale events) is not published. For an HPA it has never synced it
// is known: the controller starts with one recommendation, the scale's
// replicas at its first sight (horizontal.go recordInitialRecommendation).
// For any other, Read sets History.KnownSince to now, and Decide says when
// an unknown recommendation stops mattering.
package hpainput

import (
	"context"
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/resourceusage"
)

// Read reads hpa's scale, pods and metric values at now. An error means the
// scale or the pods could not be read (the controller's FailedGetScale);
// a metric that cannot be read is that Reading's Err, as it is the
// controller's.
func Read(ctx context.Context, c *kube.Clients, hpa *autoscalingv2.HorizontalPodAutoscaler, now time.Time) (decision.Input, error) {
	in := decision.Input{HPA: hpa, Now: now, History: decision.History{KnownSince: now}}
	s, err := kube.Scale(ctx, c.Scales, c.Mapper, hpa.Namespace, hpa.Spec.ScaleTargetRef)
	if err != nil {
		return in, fmt.Errorf("reading the scale of %s/%s: %s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, apierr.Message(err))
	}
	in.SpecReplicas, in.StatusReplicas = s.Spec.Replicas, s.Status.Replicas
	if neverSynced(hpa) {
		in.History = decision.History{Recommendations: []decision.Recommendation{{Replicas: in.SpecReplicas, At: now}}}
	}
	sel, err := labels.Parse(s.Status.Selector)
	if err != nil {
		return in, fmt.Errorf("the scale of %s/%s has selector %q: %w", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, s.Status.Selector, err)
	}
	pods, err := c.Client.CoreV1().Pods(hpa.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return in, fmt.Errorf("listing the pods of %s/%s: %s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name, apierr.Message(err))
	}
	in.Pods = pods.Items
	for _, spec := range hpa.Spec.Metrics {
		in.Readings = append(in.Readings, readMetric(ctx, c, hpa, spec, sel))
	}
	return in, nil
}

// neverSynced says the controller has not written the HPA's status yet:
// it has no memory of it.
func neverSynced(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	return hpa.Status.ObservedGeneration == nil && len(hpa.Status.Conditions) == 0 && hpa.Status.LastScaleTime == nil
}

// readMetric reads one metric as the controller does.
func readMetric(ctx context.Context, c *kube.Clients, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, sel labels.Selector) decision.Reading {
	if m, ok := resourceusage.MetricOf(spec); ok {
		list, err := c.Resources.PodMetricses(hpa.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return decision.Reading{Err: fmt.Errorf("unable to fetch metrics from resource metrics API: %s", apierr.Message(err))}
		}
		usage, err := resourceusage.Usage(m, list.Items)
		return decision.Reading{Pods: usage, Err: err}
	}
	req, err := hpareq.For(hpa, spec, sel, c.Mapper)
	if err != nil {
		return decision.Reading{Err: err}
	}
	if spec.Type == autoscalingv2.ExternalMetricSourceType {
		list, err := req.External(c.External)
		return external(list, err)
	}
	list, err := req.Custom(c.Custom)
	if spec.Type == autoscalingv2.PodsMetricSourceType {
		return pods(list, err)
	}
	return object(list, err)
}

// pods follows the controller's metrics client GetRawMetric: each pod's
// value, with the sample's time and window.
func pods(list *cmv1beta2.MetricValueList, err error) decision.Reading {
	if err != nil {
		return decision.Reading{Err: fmt.Errorf("unable to fetch metrics from custom metrics API: %s", apierr.Message(err))}
	}
	if len(list.Items) == 0 {
		return decision.Reading{Err: fmt.Errorf("no metrics returned from custom metrics API")}
	}
	r := decision.Reading{Pods: map[string]decision.PodMetric{}}
	for _, v := range list.Items {
		window := time.Minute // the controller's default when the API gives none
		if v.WindowSeconds != nil {
			window = time.Duration(*v.WindowSeconds) * time.Second
		}
		r.Pods[v.DescribedObject.Name] = decision.PodMetric{Value: v.Value.MilliValue(), Timestamp: v.Timestamp.Time, Window: window}
	}
	return r
}

// object follows GetObjectMetric: the one value.
func object(list *cmv1beta2.MetricValueList, err error) decision.Reading {
	if err != nil {
		return decision.Reading{Err: fmt.Errorf("unable to fetch metrics from custom metrics API: %s", apierr.Message(err))}
	}
	if len(list.Items) == 0 {
		return decision.Reading{Err: fmt.Errorf("no metrics returned from custom metrics API")}
	}
	return decision.Reading{Value: list.Items[0].Value.MilliValue()}
}

// external follows GetExternalMetric: the sum of the values.
func external(list *emv1beta1.ExternalMetricValueList, err error) decision.Reading {
	if err != nil {
		return decision.Reading{Err: fmt.Errorf("unable to fetch metrics from external metrics API: %s", apierr.Message(err))}
	}
	if len(list.Items) == 0 {
		return decision.Reading{Err: fmt.Errorf("no metrics returned from external metrics API")}
	}
	var sum int64
	for _, v := range list.Items {
		sum += v.Value.MilliValue()
	}
	return decision.Reading{Value: sum}
}
