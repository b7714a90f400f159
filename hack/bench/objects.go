package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// The bench's objects: namespaces bench-NNN, each with perNS Deployments
// app-K (one kwok pod each) and an HPA per Deployment: every other one on
// the Pods metric bench_requests, the others on cpu (metrics-server's). Every object carries benchLabel; a namespace whose name
// matches benchNamespace is the bench's.
const (
	benchLabel    = "metricscale.io/bench"
	benchSelector = benchLabel + "=true"
	benchMetric   = "bench_requests"
)

var benchNamespace = regexp.MustCompile(`^bench-[0-9]{3,}$`)

func nsName(i int) string { return fmt.Sprintf("bench-%03d", i) }

// fleet creates, reuses and removes the bench's objects.
type fleet struct {
	client    kubernetes.Interface
	perNS     int
	waitScale float64
	// used: the bench created or reused namespaces, which cleanup removes
	used bool
	// created: the namespaces this run created
	created map[string]bool
	// addedNodes: kwok nodes the bench registered, removed after the
	// namespaces
	addedNodes []string
}

// bound is a wait's limit: base plus per for each of n objects, times
// --wait-scale.
func (f *fleet) bound(base, per time.Duration, n int) time.Duration {
	return time.Duration(float64(base+time.Duration(n)*per) * f.waitScale)
}

// survey is the bench's namespaces as found: which have the expected shape
// (perNS labelled Deployments and HPAs on bench_requests, not terminating).
type survey struct {
	shaped, misshaped []string
}

func (f *fleet) survey(ctx context.Context) (survey, error) {
	var s survey
	nss, err := f.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	hpas, err := f.client.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	deps, err := f.client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	hpaNames, depNames := map[string][]string{}, map[string][]string{}
	for _, h := range hpas.Items {
		if f.isBenchHPA(&h) {
			hpaNames[h.Namespace] = append(hpaNames[h.Namespace], h.Name)
		} else {
			hpaNames[h.Namespace] = append(hpaNames[h.Namespace], "other:"+h.Name)
		}
	}
	for _, d := range deps.Items {
		if d.Spec.Template.Labels[benchLabel] == "true" {
			depNames[d.Namespace] = append(depNames[d.Namespace], d.Name)
		} else {
			depNames[d.Namespace] = append(depNames[d.Namespace], "other:"+d.Name)
		}
	}
	var want []string
	for k := range f.perNS {
		want = append(want, fmt.Sprintf("app-%d", k))
	}
	sort.Strings(want)
	same := func(got []string) bool {
		sort.Strings(got)
		return strings.Join(got, ",") == strings.Join(want, ",")
	}
	for _, ns := range nss.Items {
		if !benchNamespace.MatchString(ns.Name) {
			continue
		}
		if ns.DeletionTimestamp == nil && ns.Labels[benchLabel] == "true" && same(hpaNames[ns.Name]) && same(depNames[ns.Name]) {
			s.shaped = append(s.shaped, ns.Name)
		} else {
			s.misshaped = append(s.misshaped, ns.Name)
		}
	}
	return s, nil
}

// ensure makes the sandbox hold exactly namespaces bench namespaces of the
// bench's shape: it reuses those already there, deletes the others (a
// different shape, or beyond the count), creates the missing ones, adds
// kwok nodes when the pods would not fit, and waits for every bench pod to
// be Running. It returns those pods.
func (f *fleet) ensure(ctx context.Context, namespaces int) ([]corev1.Pod, error) {
	s, err := f.survey(ctx)
	if err != nil {
		return nil, err
	}
	reuse, remove, create := s.plan(namespaces)
	f.used = f.used || len(s.shaped)+len(s.misshaped) > 0 || len(create) > 0
	if earlier := len(reuse) - countIn(reuse, f.created); earlier > 0 {
		fmt.Printf("reusing %d bench namespaces already there with %d Deployments and HPAs each (left by an earlier run)\n", earlier, f.perNS)
	}
	if ours := countIn(reuse, f.created); ours > 0 {
		fmt.Printf("keeping the %d bench namespaces created for the previous size\n", ours)
	}
	if len(remove) > 0 {
		fmt.Printf("deleting %d bench namespaces of another shape or beyond %d namespaces\n", len(remove), namespaces)
		if err := f.deleteNamespaces(ctx, remove); err != nil {
			return nil, err
		}
	}
	pods := namespaces * f.perNS
	if err := f.ensureCapacity(ctx, pods); err != nil {
		return nil, err
	}
	if err := f.create(ctx, create); err != nil {
		return nil, err
	}
	// The controller-manager's deployment controller (20 requests/s)
	// starts about five pods a second.
	return f.waitPods(ctx, pods, f.bound(2*time.Minute, 300*time.Millisecond, len(create)*f.perNS))
}

// plan sorts the namespaces found and the first n bench namespaces
// wanted: those to reuse, to remove (another shape, or beyond n) and to
// create (missing, or removed for their shape).
func (s survey) plan(n int) (reuse, remove, create []string) {
	wanted := map[string]bool{}
	for i := range n {
		wanted[nsName(i)] = true
	}
	found := map[string]bool{}
	for _, ns := range s.shaped {
		found[ns] = true
		if wanted[ns] {
			reuse = append(reuse, ns)
		} else {
			remove = append(remove, ns)
		}
	}
	for _, ns := range s.misshaped {
		found[ns] = true
		remove = append(remove, ns)
		if wanted[ns] {
			create = append(create, ns)
		}
	}
	for i := range n {
		if !found[nsName(i)] {
			create = append(create, nsName(i))
		}
	}
	return reuse, remove, create
}

// create populates the namespaces, 16 at a time.
func (f *fleet) create(ctx context.Context, namespaces []string) error {
	if len(namespaces) == 0 {
		return nil
	}
	start := time.Now()
	fmt.Printf("creating %d namespaces with %d Deployments and HPAs each ...\n", len(namespaces), f.perNS)
	if f.created == nil {
		f.created = map[string]bool{}
	}
	for _, ns := range namespaces {
		f.created[ns] = true
	}
	if err := parallel(ctx, len(namespaces), 16, func(ctx context.Context, i int) error {
		return f.populateNamespace(ctx, namespaces[i])
	}); err != nil {
		return err
	}
	fmt.Printf("  created in %.1fs\n", time.Since(start).Seconds())
	return nil
}

func countIn(names []string, set map[string]bool) int {
	n := 0
	for _, name := range names {
		if set[name] {
			n++
		}
	}
	return n
}

func (f *fleet) populateNamespace(ctx context.Context, ns string) error {
	c := f.client
	benchLabels := map[string]string{benchLabel: "true"}
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: benchLabels}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for k := range f.perNS {
		name := fmt.Sprintf("app-%d", k)
		cpu := cpuHPA(ns, k, f.perNS)
		if _, err := c.AppsV1().Deployments(ns).Create(ctx, benchDeployment(ns, name, cpu), metav1.CreateOptions{}); err != nil {
			return err
		}
		if _, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, benchHPA(ns, name, cpu), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// cpuHPA says whether the k-th HPA of bench namespace ns scales on cpu:
// every other HPA of the bench, counted across namespaces, so half of them
// do (as most real HPAs scale on cpu).
func cpuHPA(ns string, k, perNS int) bool {
	var i int
	_, _ = fmt.Sscanf(ns, "bench-%d", &i)
	return (i*perNS+k)%2 == 1
}

// benchDeployment is a Deployment of a bench namespace: one pod; that of
// a cpu HPA requests 100m of cpu and uses 30m (kwok's usage annotation,
// read by metrics-server).
func benchDeployment(ns, name string, cpu bool) *appsv1.Deployment {
	labels := map[string]string{"app": name, benchLabel: "true"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bench:latest"}}}}
	if cpu {
		tmpl.Annotations = map[string]string{sandbox.UsageCPUAnnotation: "30m"}
		tmpl.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{benchLabel: "true"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}
}

// benchHPA is an HPA of a bench namespace: on the pushed Pods metric, or
// on cpu Utilization 50%.
func benchHPA(ns, name string, cpu bool) *autoscalingv2.HorizontalPodAutoscaler {
	metric := autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: benchMetric},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)}}}
	if cpu {
		metric = autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}
	}
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{benchLabel: "true"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 3, Metrics: []autoscalingv2.MetricSpec{metric}}}
}

// isBenchHPA reports whether h has the shape benchHPA gives it.
func (f *fleet) isBenchHPA(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	var k int
	if _, err := fmt.Sscanf(h.Name, "app-%d", &k); err != nil || len(h.Spec.Metrics) != 1 {
		return false
	}
	if m := h.Spec.Metrics[0]; cpuHPA(h.Namespace, k, f.perNS) {
		return m.Resource != nil && m.Resource.Name == corev1.ResourceCPU
	} else {
		return m.Pods != nil && m.Pods.Metric.Name == benchMetric
	}
}

// ensureCapacity registers kwok nodes when the bench's pods and the other
// pods on kwok nodes exceed their capacity.
func (f *fleet) ensureCapacity(ctx context.Context, benchPods int) error {
	nodes, err := sandbox.KwokNodes(ctx, f.client)
	if err != nil {
		return err
	}
	kwok := map[string]bool{}
	capacity := 0
	for _, n := range nodes {
		kwok[n.Name] = true
		capacity += int(n.Status.Allocatable.Pods().Value())
	}
	pods, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	others := 0
	for _, p := range pods.Items {
		if kwok[p.Spec.NodeName] && p.Labels[benchLabel] != "true" && !terminal(&p) {
			others++
		}
	}
	need := benchPods + others
	if need <= capacity {
		return nil
	}
	want := len(nodes) + (need-capacity+sandbox.KwokNodePods-1)/sandbox.KwokNodePods
	fmt.Printf("kwok nodes: %d hold %d pods; %d bench pods and %d others need %d: registering %d more (removed at the end)\n",
		len(nodes), capacity, benchPods, others, need, want-len(nodes))
	added, err := sandbox.EnsureKwokNodes(ctx, f.client, want, f.bound(time.Minute, 0, 0))
	f.addedNodes = append(f.addedNodes, added...)
	if err != nil {
		return err
	}
	fmt.Printf("  registered %s; kwok reports them Ready\n", strings.Join(added, ", "))
	return nil
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// waitPods waits until want bench pods are Running and returns them.
func (f *fleet) waitPods(ctx context.Context, want int, bound time.Duration) ([]corev1.Pod, error) {
	var running []corev1.Pod
	err := waitFor(ctx, fmt.Sprintf("%d bench pods to be Running", want), bound, 5*time.Second,
		func(ctx context.Context) (bool, string, error) {
			list, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: benchSelector})
			if err != nil {
				return false, "", err
			}
			running = running[:0]
			scheduled := 0
			for _, p := range list.Items {
				if p.Spec.NodeName != "" {
					scheduled++
				}
				if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
					running = append(running, p)
				}
			}
			state := fmt.Sprintf("%d/%d pods Running", len(running), want)
			if len(running) < want {
				state += fmt.Sprintf(" (%d created, %d scheduled)", len(list.Items), scheduled)
			}
			return len(running) >= want, state, nil
		}, f.whyPodsWait)
	return running, err
}

// whyPodsWait says why bench pods are not Running: full kwok nodes, the
// scheduler's reason for an unscheduled pod, pods bound but not started.
func (f *fleet) whyPodsWait(ctx context.Context) string {
	nodes, err := sandbox.KwokNodes(ctx, f.client)
	if err != nil {
		return err.Error()
	}
	pods, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	bound := map[string]int{}
	unscheduled, notStarted := 0, 0
	var reason string
	for _, p := range pods.Items {
		if terminal(&p) {
			continue
		}
		bound[p.Spec.NodeName]++
		if p.Labels[benchLabel] != "true" || p.Status.Phase == corev1.PodRunning {
			continue
		}
		if p.Spec.NodeName == "" {
			unscheduled++
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && reason == "" {
					reason = c.Message
				}
			}
		} else {
			notStarted++
		}
	}
	var why []string
	for _, n := range nodes {
		if c := n.Status.Allocatable.Pods().Value(); int64(bound[n.Name]) >= c {
			why = append(why, fmt.Sprintf("%s is full (%d pods)", n.Name, c))
		}
	}
	if unscheduled > 0 {
		s := fmt.Sprintf("%d pods not scheduled", unscheduled)
		if reason != "" {
			s += " (" + reason + ")"
		}
		why = append(why, s)
	}
	if notStarted > 0 {
		why = append(why, fmt.Sprintf("%d pods bound to a node but not Running (is kwok running?)", notStarted))
	}
	return strings.Join(why, "; ")
}

// remove deletes every bench namespace, then the kwok nodes the bench
// registered (only once no bench pod is left on them).
func (f *fleet) remove(ctx context.Context) error {
	if f.used {
		s, err := f.survey(ctx)
		if err != nil {
			return err
		}
		names := append(s.shaped, s.misshaped...)
		if len(names) > 0 {
			fmt.Printf("deleting the %d bench namespaces\n", len(names))
			if err := f.deleteNamespaces(ctx, names); err != nil {
				if len(f.addedNodes) > 0 {
					err = fmt.Errorf("%w (kwok nodes %s kept: bench pods may still be bound to them)", err, strings.Join(f.addedNodes, ", "))
				}
				return err
			}
		}
	}
	if len(f.addedNodes) > 0 {
		if err := sandbox.DeleteNodes(ctx, f.client, f.addedNodes); err != nil {
			return err
		}
		fmt.Printf("deleted the kwok nodes the bench registered: %s\n", strings.Join(f.addedNodes, ", "))
		f.addedNodes = nil
	}
	return nil
}

// deleteNamespaces deletes the namespaces and waits until they are gone.
func (f *fleet) deleteNamespaces(ctx context.Context, names []string) error {
	if err := parallel(ctx, len(names), 16, func(ctx context.Context, i int) error {
		err := f.client.CoreV1().Namespaces().Delete(ctx, names[i], metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	var left []corev1.Namespace
	return waitFor(ctx, fmt.Sprintf("%d namespaces to be deleted", len(names)), f.bound(2*time.Minute, time.Second, len(names)), 2*time.Second,
		func(ctx context.Context) (bool, string, error) {
			list, err := f.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, "", err
			}
			left = left[:0]
			for _, ns := range list.Items {
				if set[ns.Name] {
					left = append(left, ns)
				}
			}
			return len(left) == 0, fmt.Sprintf("%d/%d namespaces gone", len(names)-len(left), len(names)), nil
		},
		func(context.Context) string {
			if len(left) == 0 {
				return ""
			}
			why := fmt.Sprintf("%d left, e.g. %s (%s)", len(left), left[0].Name, left[0].Status.Phase)
			for _, c := range left[0].Status.Conditions {
				if c.Status == corev1.ConditionTrue {
					why += "; " + c.Message
				}
			}
			return why
		})
}
