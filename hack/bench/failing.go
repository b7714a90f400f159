package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/doctor"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// The failing HPAs (--parts failing): beside the fleet of the largest size,
// one HPA in fifty more, each in a namespace bench-failing-NN of its own and
// broken as the e2e scenarios break a chain. A failing HPA sends doctor down
// the probes a healthy one skips (discovery, the series behind the rule,
// Pushgateway groups, the query's parts, the controller's events), so doctor
// -A is measured again beside describe with them.
const (
	failingLabel = "metricscale.io/bench-failing"
	failingJob   = "bench-failing"
)

var failingNamespace = regexp.MustCompile(`^bench-failing-[0-9]{2,}$`)

// failure is one way to break a chain. Each namespace holds Deployment
// app-0 (one kwok pod) and HPA app-0; hpa makes the HPA, push what it pushes
// to the Pushgateway ("" for nothing).
type failure struct {
	name string
	hpa  func(ns string) *autoscalingv2.HorizontalPodAutoscaler
	push func(ns string) string
	// noRequest: app-0's container requests no cpu.
	noRequest bool
}

var failures = []failure{
	{name: "a Pods metric nobody exports", hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0", podsMetric("bench_unexported"))
	}},
	{name: "pods without a series of the served metric", hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0", podsMetric(benchMetric))
	}},
	{name: "a stale Pushgateway group, of a pod that is gone", hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0", podsMetric(benchMetric))
	}, push: func(ns string) string {
		return fmt.Sprintf("# TYPE %s gauge\n%s{namespace=%q,pod=\"app-0-5b9f7c6d8-x7k2q\"} 50\n", benchMetric, benchMetric, ns)
	}},
	{name: "an Object metric whose series name the Deployment by a label of the team's own", hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0", autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "app-0"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "bench_queue_depth"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: resource.NewQuantity(10, resource.DecimalSI)}}})
	}, push: func(ns string) string {
		return fmt.Sprintf("# TYPE bench_queue_depth gauge\nbench_queue_depth{namespace=%q,team_app=\"app-0\"} 5\n", ns)
	}},
	{name: "cpu Utilization of a container without a cpu request", noRequest: true, hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0", autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}})
	}},
	{name: "a scale target that does not exist", hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0-renamed", podsMetric(benchMetric))
	}},
	{name: "an External metric no server serves", hpa: func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return failingHPA(ns, "app-0", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "bench_queue_messages", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": ns}}},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(30, resource.DecimalSI)}}})
	}},
}

func podsMetric(name string) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)}}}
}

// failingHPA is HPA app-0 of a failing namespace, scaling Deployment target.
func failingHPA(ns, target string, metric autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "app-0", Namespace: ns, Labels: map[string]string{failingLabel: "true"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{metric}}}
}

func failingNamespaceName(i int) string { return fmt.Sprintf("bench-failing-%02d", i) }

// failingSet creates and removes the failing HPAs' namespaces and pushes.
type failingSet struct {
	client kubernetes.Interface
	fleet  *fleet // for its bounds and namespace deletion
	pushgw string
	used   bool
}

// create removes what an interrupted run left, then makes n failing
// namespaces, the i-th broken by failures[i % len(failures)].
func (s *failingSet) create(ctx context.Context, n int) error {
	s.used = true
	if err := s.remove(ctx); err != nil {
		return err
	}
	fmt.Printf("creating %d failing HPAs, each in a namespace of its own, of %d kinds:\n", n, len(failures))
	for i, f := range failures[:min(n, len(failures))] {
		fmt.Printf("  %s (%d)\n", f.name, (n-i+len(failures)-1)/len(failures))
	}
	return parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		return s.populate(ctx, failingNamespaceName(i), failures[i%len(failures)])
	})
}

func (s *failingSet) populate(ctx context.Context, ns string, f failure) error {
	labels := map[string]string{failingLabel: "true"}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	dep := benchDeployment(ns, "app-0", true)
	// Not the fleet's: its pods get no bench_requests pushed, and the
	// fleet's waits do not count them.
	delete(dep.Labels, benchLabel)
	delete(dep.Spec.Selector.MatchLabels, benchLabel)
	delete(dep.Spec.Template.Labels, benchLabel)
	dep.Labels[failingLabel] = "true"
	if f.noRequest {
		dep.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	}
	if _, err := s.client.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return err
	}
	if f.push != nil {
		if err := sandbox.PushMetrics(ctx, s.pushgw, failingJob, map[string]string{"namespace": ns}, f.push(ns)); err != nil {
			return err
		}
	}
	_, err := s.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, f.hpa(ns), metav1.CreateOptions{})
	return err
}

// waitTried waits until the HPA controller has tried every failing HPA: a
// condition says why it cannot scale or compute.
func (s *failingSet) waitTried(ctx context.Context, n int) error {
	return waitFor(ctx, fmt.Sprintf("the HPA controller to try the %d failing HPAs", n), s.fleet.bound(2*time.Minute, time.Second, n), 5*time.Second,
		func(ctx context.Context) (bool, string, error) {
			list, err := s.client.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{LabelSelector: failingLabel + "=true"})
			if err != nil {
				return false, "", err
			}
			tried := 0
			for _, h := range list.Items {
				for _, c := range h.Status.Conditions {
					if c.Status == corev1.ConditionFalse && (c.Type == autoscalingv2.ScalingActive || c.Type == autoscalingv2.AbleToScale) {
						tried++
						break
					}
				}
			}
			return tried >= n, fmt.Sprintf("%d/%d failing HPAs tried", tried, n), nil
		}, nil)
}

// remove deletes the failing namespaces (this run's or an interrupted
// run's) and their Pushgateway groups.
func (s *failingSet) remove(ctx context.Context) error {
	if !s.used {
		return nil
	}
	list, err := s.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var names []string
	for _, ns := range list.Items {
		if failingNamespace.MatchString(ns.Name) {
			names = append(names, ns.Name)
			if err := sandbox.DeleteMetrics(ctx, s.pushgw, failingJob, map[string]string{"namespace": ns.Name}); err != nil {
				return err
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	fmt.Printf("deleting the %d failing namespaces\n", len(names))
	return s.fleet.deleteNamespaces(ctx, names)
}

// measureFailing adds one failing HPA per fifty of the fleet's, waits until
// the controller has tried them, measures doctor -A beside describe again,
// and removes them.
func measureFailing(ctx context.Context, s *failingSet, info sandbox.Info, cfg *rest.Config, o options, hpas int) error {
	n := max(1, hpas/50)
	if err := s.create(ctx, n); err != nil {
		return err
	}
	if err := s.waitTried(ctx, n); err != nil {
		return err
	}
	res := sizeResult{hpas: hpas + n, namespaces: hpas/o.perNS + n}
	rep, requests, err := measureCommands(ctx, info, cfg, o, hpas+n, s.fleet.bound(3*time.Minute, 200*time.Millisecond, hpas), &res)
	if err != nil {
		return err
	}
	fmt.Printf("\n=== with %d failing HPAs among %d\n", n, hpas+n)
	fmt.Println("  findings of the failing HPAs: " + failingCodes(rep))
	printMeasured(res, rep, requests, o.runs)
	return s.remove(ctx)
}

// failingCodes counts the codes doctor reported for the failing HPAs.
func failingCodes(rep *doctor.Report) string {
	count := map[string]int{}
	for _, h := range rep.HPAs {
		if !failingNamespace.MatchString(h.Namespace) {
			continue
		}
		fs := h.Findings
		for _, m := range h.Metrics {
			fs = append(fs, m.Findings...)
		}
		for _, f := range fs {
			count[f.Code+" "+string(f.Severity)]++
		}
	}
	var parts []string
	for c, n := range count {
		parts = append(parts, fmt.Sprintf("%s ×%d", c, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
