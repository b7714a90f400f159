// Package hpainput reads what the HPA controller reads for one HPA at a
// sync: the scale subresource of its target, the pods the scale's selector
// selects, and each metric's values through the controller's own requests
// (pkg/hpareq for the custom and external metrics APIs, pkg/resourceusage
// for metrics.k8s.io), as the decision.Input pkg/decision decides on. It
// reads through a Source: the cluster (Live), or doctor's caches of the
// same reads.
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
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	cmv1beta2 "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	emv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/hpareq"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/resourceusage"
)

// Source is what Read reads through: the cluster with a command's clients
// (Live), or the caches of a command that already read the same things
// (doctor's walk).
type Source interface {
	// Scale reads the scale subresource of the HPA's target.
	Scale(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (Scale, error)
	// Pods lists the pods sel selects in the HPA's namespace, in every
	// phase, as the controller's pod lister gives them.
	Pods(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sel labels.Selector) ([]corev1.Pod, error)
	// Custom sends a custom metrics request; pods are those Pods listed,
	// for a source that asks for more and keeps theirs.
	Custom(ctx context.Context, req hpareq.Request, pods []corev1.Pod) (*cmv1beta2.MetricValueList, error)
	// External sends an external metrics request.
	External(ctx context.Context, req hpareq.Request) (*emv1beta1.ExternalMetricValueList, error)
	// PodMetrics lists the resource metrics of the pods sel selects.
	PodMetrics(ctx context.Context, namespace string, sel labels.Selector) ([]metricsv1beta1.PodMetrics, error)
}

// Scale is what the controller reads of the scale subresource.
type Scale struct {
	SpecReplicas, StatusReplicas int32
	// Selector is status.selector.
	Selector string
}

// Read reads hpa's scale, pods and metric values at now. An error means the
// scale or the pods could not be read (the controller's FailedGetScale);
// a metric that cannot be read is that Reading's Err, as it is the
// controller's.
func Read(ctx context.Context, src Source, mapper apimeta.RESTMapper, hpa *autoscalingv2.HorizontalPodAutoscaler, now time.Time) (decision.Input, error) {
	in := decision.Input{HPA: hpa, Now: now, History: decision.History{KnownSince: now}}
	target := hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name
	s, err := src.Scale(ctx, hpa)
	if err != nil {
		return in, fmt.Errorf("reading the scale of %s: %s", target, apierr.Message(err))
	}
	in.SpecReplicas, in.StatusReplicas = s.SpecReplicas, s.StatusReplicas
	if neverSynced(hpa) {
		in.History = decision.History{Recommendations: []decision.Recommendation{{Replicas: in.SpecReplicas, At: now}}}
	}
	sel, err := labels.Parse(s.Selector)
	if err != nil {
		return in, fmt.Errorf("the scale of %s has selector %q: %w", target, s.Selector, err)
	}
	if in.Pods, err = src.Pods(ctx, hpa, sel); err != nil {
		return in, fmt.Errorf("listing the pods of %s: %s", target, apierr.Message(err))
	}
	for _, spec := range hpa.Spec.Metrics {
		in.Readings = append(in.Readings, readMetric(ctx, src, mapper, hpa, spec, sel, in.Pods))
	}
	return in, nil
}

// Live reads the cluster with a command's clients.
type Live struct{ C *kube.Clients }

// Scale reads the scale subresource.
func (l Live) Scale(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (Scale, error) {
	s, err := kube.Scale(ctx, l.C.Scales, l.C.Mapper, hpa.Namespace, hpa.Spec.ScaleTargetRef)
	if err != nil {
		return Scale{}, err
	}
	return Scale{SpecReplicas: s.Spec.Replicas, StatusReplicas: s.Status.Replicas, Selector: s.Status.Selector}, nil
}

// Pods lists the pods.
func (l Live) Pods(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sel labels.Selector) ([]corev1.Pod, error) {
	list, err := l.C.Client.CoreV1().Pods(hpa.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Custom sends the request.
func (l Live) Custom(_ context.Context, req hpareq.Request, _ []corev1.Pod) (*cmv1beta2.MetricValueList, error) {
	return req.Custom(l.C.Custom)
}

// External sends the request.
func (l Live) External(_ context.Context, req hpareq.Request) (*emv1beta1.ExternalMetricValueList, error) {
	return req.External(l.C.External)
}

// PodMetrics lists the resource metrics.
func (l Live) PodMetrics(ctx context.Context, namespace string, sel labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	list, err := l.C.Resources.PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// neverSynced says the controller has not written the HPA's status yet:
// it has no memory of it.
func neverSynced(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	return hpa.Status.ObservedGeneration == nil && len(hpa.Status.Conditions) == 0 && hpa.Status.LastScaleTime == nil
}

// readMetric reads one metric as the controller does.
func readMetric(ctx context.Context, src Source, mapper apimeta.RESTMapper, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec, sel labels.Selector, podList []corev1.Pod) decision.Reading {
	if m, ok := resourceusage.MetricOf(spec); ok {
		list, err := src.PodMetrics(ctx, hpa.Namespace, sel)
		if err != nil {
			return decision.Reading{Err: fmt.Errorf("unable to fetch metrics from resource metrics API: %s", apierr.Message(err))}
		}
		usage, err := resourceusage.Usage(m, list)
		return decision.Reading{Pods: usage, Err: err}
	}
	req, err := hpareq.For(hpa, spec, sel, mapper)
	if err != nil {
		return decision.Reading{Err: err}
	}
	if spec.Type == autoscalingv2.ExternalMetricSourceType {
		return external(src.External(ctx, req))
	}
	list, err := src.Custom(ctx, req, podList)
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
