package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/metricscale/kubectl-metricscale/pkg/whatif"
	"github.com/metricscale/kubectl-metricscale/test/sandbox"
)

// simCase is one case of TestSimulateMatchesController: a Deployment of
// replicas kwok pods whose first len(values) pods (by name) export
// sim_value, an HPA on it, and how long the controller runs.
type simCase struct {
	name     string
	replicas int32
	values   []int64
	// added is what pods the HPA adds export (nil: none): simulate takes
	// them to read the others' average, so cases that scale up give that.
	added *int64
	hpa   func(*autoscalingv2.HorizontalPodAutoscalerSpec)
	span  time.Duration
	// object, when set, is sim_object of Service sim (an Object metric).
	object int64
	// after is how long after the HPA's creation simulate runs: the
	// controller has synced and remembers, and simulate recomputes what
	// from the HPA's status in Prometheus.
	after time.Duration
}

// simPods is the sim_value target of a case: AverageValue 100 per pod.
func simPods(minR, maxR int32) func(*autoscalingv2.HorizontalPodAutoscalerSpec) {
	return func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
		s.MinReplicas, s.MaxReplicas = ptr.To(minR), maxR
		s.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "sim_value"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(100, resource.DecimalSI)}}}}
	}
}

// twoPods is two sim_value metrics with AverageValue targets a and b.
func twoPods(a, b int64, maxR int32) func(*autoscalingv2.HorizontalPodAutoscalerSpec) {
	return func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
		simPods(1, maxR)(s)
		second := *s.Metrics[0].DeepCopy()
		s.Metrics[0].Pods.Target.AverageValue = resource.NewQuantity(a, resource.DecimalSI)
		second.Pods.Target.AverageValue = resource.NewQuantity(b, resource.DecimalSI)
		s.Metrics = append(s.Metrics, second)
	}
}

// simObject is sim_object of Service sim against a Value target of 100.
func simObject(maxR int32) func(*autoscalingv2.HorizontalPodAutoscalerSpec) {
	return func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
		s.MinReplicas, s.MaxReplicas = ptr.To[int32](1), maxR
		s.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "sim"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "sim_object"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: resource.NewQuantity(100, resource.DecimalSI)}}}}
	}
}

// withBehavior adds a behavior to a spec function.
func withBehavior(f func(*autoscalingv2.HorizontalPodAutoscalerSpec), b autoscalingv2.HorizontalPodAutoscalerBehavior) func(*autoscalingv2.HorizontalPodAutoscalerSpec) {
	return func(s *autoscalingv2.HorizontalPodAutoscalerSpec) {
		f(s)
		s.Behavior = &b
	}
}

// TestSimulateMatchesController runs, for each case, simulate on an HPA
// the moment it is created (-o json, the sandbox's 5s sync period) and lets
// the real HPA controller run for the same span: the replicas the
// controller sets, in order, must be those simulate predicted, and the
// replicas at the end the same. The table of both is logged.
func TestSimulateMatchesController(t *testing.T) {
	needSandbox(t)
	noDown := autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0)}}
	cases := []simCase{
		{name: "tolerance, just inside", replicas: 2, values: []int64{108, 108}, hpa: simPods(1, 5), span: 20 * time.Second},
		{name: "tolerance, just outside", replicas: 2, values: []int64{115, 115}, added: ptr.To[int64](115), hpa: simPods(1, 3), span: 20 * time.Second},
		{name: "missing pod on a scale-up", replicas: 2, values: []int64{150}, hpa: simPods(1, 5), span: 20 * time.Second},
		// 3 → 2; then 2 whichever pod the ReplicaSet removes (minReplicas).
		{name: "missing pod on a scale-down", replicas: 3, values: []int64{30, 30}, hpa: withBehavior(simPods(2, 5), noDown), span: 15 * time.Second},
		{name: "maxReplicas", replicas: 2, values: []int64{300, 300}, added: ptr.To[int64](300), hpa: simPods(1, 4), span: 20 * time.Second},
		{name: "minReplicas", replicas: 3, values: []int64{10, 10, 10}, hpa: withBehavior(simPods(2, 5), noDown), span: 15 * time.Second},
		{name: "default scale-down window holds", replicas: 3, values: []int64{10, 10, 10}, hpa: simPods(1, 5), span: 20 * time.Second},
		{name: "scaleDown Disabled", replicas: 3, values: []int64{10, 10, 10}, hpa: withBehavior(simPods(1, 5), autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)}}), span: 15 * time.Second},
		{name: "scaleDown Pods policy with selectPolicy Min", replicas: 4, values: []int64{10, 10, 10, 10}, hpa: withBehavior(simPods(1, 5), autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect),
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}, {Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}}}), span: 20 * time.Second},
		{name: "two metrics, the first wins", replicas: 2, values: []int64{150, 150}, added: ptr.To[int64](150), hpa: twoPods(100, 300, 3), span: 15 * time.Second},
		{name: "two metrics, the second wins", replicas: 2, values: []int64{150, 150}, added: ptr.To[int64](150), hpa: twoPods(300, 60, 3), span: 15 * time.Second},
		{name: "scaleUp Percent policy", replicas: 2, values: []int64{400, 400}, added: ptr.To[int64](400), hpa: withBehavior(simPods(1, 10), autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}}}), span: 20 * time.Second},
		{name: "scale-up rate without a behavior", replicas: 2, values: []int64{1000, 1000}, added: ptr.To[int64](1000), hpa: simPods(1, 10), span: 20 * time.Second},
		{name: "60s stabilization window", replicas: 3, values: []int64{10, 10, 10}, hpa: withBehavior(simPods(1, 5), autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}}), span: 75 * time.Second},
		{name: "Object Value", replicas: 2, values: nil, object: 250, hpa: simObject(6), span: 15 * time.Second},
		{name: "60s window, simulate 25s after", replicas: 3, values: []int64{10, 10, 10}, hpa: withBehavior(simPods(1, 5), autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60)}}), after: 25 * time.Second, span: 50 * time.Second},
	}
	var mu sync.Mutex
	var rows []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			predicted, observed := runSimCase(t, tc)
			mu.Lock()
			rows = append(rows, fmt.Sprintf("%-45s simulate %-14s controller %s", tc.name, strings.Join(predicted, "→"), strings.Join(observed, "→")))
			mu.Unlock()
			if !slices.Equal(predicted, observed) {
				t.Errorf("simulate predicted replicas %v, the controller set %v", predicted, observed)
			}
		})
	}
	t.Cleanup(func() {
		sort.Strings(rows)
		t.Logf("simulate against the HPA controller:\n%s", strings.Join(rows, "\n"))
	})
}

// runSimCase sets a case up, runs simulate and the controller, and returns
// the replicas each went through (the start included).
func runSimCase(t *testing.T, tc simCase) (predicted, observed []string) {
	ns, _ := testNamespace(t, "sim-")
	kwokDeploymentIn(t, ns, "sim", tc.replicas, nil)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go pushSimValues(ctx, ns, tc)
	if tc.object > 0 {
		waitSimObjectServed(t, ns)
	} else {
		waitSimServed(t, ns, len(tc.values))
	}

	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "sim", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "sim"}}}
	tc.hpa(&hpa.Spec)
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(tc.after)
	start := time.Now()
	out, errOut, code := runCmd(t, "simulate", "sim", "-n", ns, "--sync-period", sandbox.HPASyncPeriod.String(), "--for", tc.span.String(), "-o", "json")
	if code != 0 {
		t.Fatalf("simulate: exit %d\n%s%s", code, out, errOut)
	}
	var r whatif.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("simulate -o json: %v\n%s", err, out)
	}
	if tc.after > 0 {
		checkMemory(t, ns, r)
	}
	predicted = []string{fmt.Sprint(tc.replicas)}
	var predictedAt []time.Duration
	for _, s := range r.Steps {
		if s.Desired != s.Replicas {
			at, err := time.ParseDuration(strings.TrimPrefix(s.AtString, "+"))
			if err != nil {
				t.Fatalf("step at %q: %v", s.AtString, err)
			}
			predicted = append(predicted, fmt.Sprint(s.Desired))
			predictedAt = append(predictedAt, at)
		}
		t.Logf("simulate %s: %d → %d: %s", s.AtString, s.Replicas, s.Desired, s.Why)
	}
	// The controller's first sync comes within one period of the HPA's
	// creation: it runs for the span and one period more.
	var observedAt []time.Duration
	observed, observedAt = watchReplicas(t, ns, "sim", tc.replicas, start, tc.span+sandbox.HPASyncPeriod+2*time.Second)
	// Each change comes at the sync simulate named, give or take the
	// controller's first sync (within a period) and a busy machine.
	for i := range min(len(predictedAt), len(observedAt)) {
		if d := observedAt[i] - predictedAt[i]; d < -time.Second || d > 2*sandbox.HPASyncPeriod+2*time.Second {
			t.Errorf("change %d: the controller at +%s, simulate at +%s", i+1, observedAt[i].Round(100*time.Millisecond), predictedAt[i])
		}
	}
	return predicted, observed
}

// checkMemory: simulate recomputed the controller's memory of the HPA
// sim, and doctor's DECISION knows it too: held by a known recommendation,
// not "at the latest".
func checkMemory(t *testing.T, ns string, r whatif.Result) {
	t.Helper()
	if !slices.ContainsFunc(r.Assumptions, func(a string) bool { return strings.Contains(a, "recomputed from the HPA's status in Prometheus") }) {
		t.Errorf("simulate did not recompute the controller's memory: %q", r.Assumptions)
	}
	if rep, _ := runDoctor(t, "sim", "-n", ns); len(rep.HPAs) != 1 || !strings.Contains(rep.HPAs[0].Decision, "held at") || strings.Contains(rep.HPAs[0].Decision, "at the latest") {
		t.Errorf("doctor's DECISION: %+v", rep.HPAs)
	}
}

// pushSimValues pushes sim_value for the Deployment's pods every second,
// as an app that exports it would: the first len(values) pods by name get
// theirs, pods added later tc.added, the others none.
func pushSimValues(ctx context.Context, ns string, tc simCase) {
	var first map[string]int64 // the initial pods, with their values
	for ctx.Err() == nil {
		pods, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=sim"})
		if err == nil {
			names := podNames(pods.Items)
			if first == nil && len(names) >= int(tc.replicas) {
				first = map[string]int64{}
				for i, n := range names[:tc.replicas] {
					first[n] = -1
					if i < len(tc.values) {
						first[n] = tc.values[i]
					}
				}
			}
			if tc.object > 0 {
				body := fmt.Sprintf("# TYPE sim_object gauge\nsim_object{namespace=%q,service=\"sim\"} %d\n", ns, tc.object)
				_ = sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "sim-"+ns, map[string]string{"instance": "service"}, body)
			}
			for _, n := range names {
				v, initial := first[n]
				switch {
				case first == nil || (initial && v < 0) || (!initial && tc.added == nil):
					continue
				case !initial:
					v = *tc.added
				}
				body := fmt.Sprintf("# TYPE sim_value gauge\nsim_value{namespace=%q,pod=%q} %d\n", ns, n, v)
				_ = sandbox.PushMetrics(ctx, env.info.PushgatewayURL, "sim-"+ns, map[string]string{"instance": n}, body)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// waitSimServed waits until the custom metrics API serves sim_value for n
// pods of the namespace.
func waitSimServed(t *testing.T, ns string, n int) {
	t.Helper()
	cm := customMetricsClient(t)
	eventually(t, 2*time.Minute, fmt.Sprintf("the custom metrics API serves sim_value for %d pods of %s", n, ns), func(ctx context.Context) error {
		list, err := cm.NamespacedMetrics(ns).GetForObjects(schema.GroupKind{Kind: "Pod"}, labels.SelectorFromSet(labels.Set{"app": "sim"}), "sim_value", labels.Everything())
		if err != nil {
			return err
		}
		if len(list.Items) != n {
			return fmt.Errorf("%d values", len(list.Items))
		}
		return nil
	})
}

// waitSimObjectServed waits until the custom metrics API serves sim_object
// for Service sim of the namespace.
func waitSimObjectServed(t *testing.T, ns string) {
	t.Helper()
	cm := customMetricsClient(t)
	eventually(t, 2*time.Minute, "the custom metrics API serves sim_object for service "+ns+"/sim", func(ctx context.Context) error {
		_, err := cm.NamespacedMetrics(ns).GetForObject(schema.GroupKind{Kind: "Service"}, "sim", "sim_object", labels.Everything())
		return err
	})
}

// watchReplicas polls Deployment ns/name's spec.replicas for span after
// start and returns each value it took, in order, and when (since start).
func watchReplicas(t *testing.T, ns, name string, initial int32, start time.Time, span time.Duration) ([]string, []time.Duration) {
	t.Helper()
	seen, at := []string{fmt.Sprint(initial)}, []time.Duration(nil)
	for time.Since(start) < span {
		d, err := env.client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v := fmt.Sprint(*d.Spec.Replicas); v != seen[len(seen)-1] {
			seen, at = append(seen, v), append(at, time.Since(start))
			t.Logf("the controller set %s replicas at +%.1fs", v, time.Since(start).Seconds())
		}
		time.Sleep(250 * time.Millisecond)
	}
	return seen, at
}

// simulateAgrees runs simulate on HPA ns/hpa of Deployment ns/name now
// and watches the controller for span: the replicas it sets, in order,
// must be those simulate predicted.
func simulateAgrees(t *testing.T, ns, hpa, name string, span time.Duration) {
	t.Helper()
	start := time.Now()
	out, errOut, code := runCmd(t, "simulate", hpa, "-n", ns, "--sync-period", sandbox.HPASyncPeriod.String(), "--for", span.String(), "-o", "json")
	if code != 0 {
		t.Fatalf("simulate: exit %d\n%s%s", code, out, errOut)
	}
	var r whatif.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("simulate -o json: %v\n%s", err, out)
	}
	// The replicas simulate read are where both start: the controller may
	// have scaled a moment before.
	from := r.Steps[0].Replicas
	predicted := []string{fmt.Sprint(from)}
	for _, s := range r.Steps {
		if s.Desired != s.Replicas {
			predicted = append(predicted, fmt.Sprint(s.Desired))
		}
		t.Logf("simulate %s: %d → %d: %s", s.AtString, s.Replicas, s.Desired, s.Why)
	}
	observed, _ := watchReplicas(t, ns, name, from, start, span+sandbox.HPASyncPeriod+2*time.Second)
	t.Logf("simulate %s, the controller %s", strings.Join(predicted, "→"), strings.Join(observed, "→"))
	if !slices.Equal(predicted, observed) {
		t.Errorf("simulate predicted replicas %v, the controller set %v", predicted, observed)
	}
}
