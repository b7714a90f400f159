package decision

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodMetric is one pod's value of a metric as the controller reads it
// (metrics.PodMetric): milli-units, and for resource metrics the sample's
// time and window, which the CPU initialization period compares with the
// pod's readiness.
type PodMetric struct {
	Value     int64
	Timestamp time.Time
	Window    time.Duration
}

// Groups are the scale target's pods as the controller sorts them for one
// per-pod metric (replica_calculator.go groupPods): ready with a value,
// unready (pending, or for cpu not yet ready or within the initialization
// period), missing a value, and ignored (deleted or failed).
type Groups struct {
	Ready                     int
	Unready, Missing, Ignored []string
}

// The rules of the replica calculator that decide a per-pod proposal.
const (
	// RuleTolerance: the ratio is within the tolerance of 1, the
	// replicas stay.
	RuleTolerance = "tolerance"
	// RuleReady: no pod missing or unready; ceil(ratio × ready pods).
	RuleReady = "ready"
	// RuleRecomputed: missing (and on a scale-up unready) pods filled in,
	// the ratio recomputed; ceil(new ratio × pods counted).
	RuleRecomputed = "recomputed"
	// RuleRecomputedTolerance: the recomputed ratio is within tolerance.
	RuleRecomputedTolerance = "recomputed-tolerance"
	// RuleDirectionFlips: filling the pods in turned a scale-up into a
	// scale-down or back; the replicas stay.
	RuleDirectionFlips = "direction-flips"
	// RuleCountFlips: the recomputed count goes the other way than the
	// ratio; the replicas stay.
	RuleCountFlips = "count-flips"
	// RuleValue: an Object or External Value target, ceil(ratio × ready
	// pods) (ceil(ratio) from zero replicas).
	RuleValue = "value"
	// RulePerPod: an AverageValue target of an Object or External metric,
	// ceil(usage / target).
	RulePerPod = "per-pod"
)

// podsProposal is what the replica calculator makes of a per-pod metric.
type podsProposal struct {
	replicas int32
	// usage is the average over the pods with a value (milli-units), or
	// for a Utilization target the utilization in percent.
	usage int64
	// raw is the average usage of a Utilization target (milli-units).
	raw             int64
	ratio, newRatio float64
	groups          Groups
	// filled is what missing and unready pods were counted as (milli-units,
	// or percent of their request), when they were.
	missingAs, unreadyAs *int64
	rule                 string
}

// Group is where the controller's groupPods puts a pod.
type Group int

// The groups of groupPods.
const (
	Ready Group = iota
	Unready
	Missing
	Ignored
)

// Classify is groupPods' (replica_calculator.go) rule for one pod: metric
// is its value (found: it has one). It returns the pod's group and, for a
// pod that does not count as ready, why: deleted, failed or pending, no
// value, and for cpu not Ready or within its initialization period. now is
// the time the controller compares the initialization period with.
func Classify(pod *corev1.Pod, metric PodMetric, found bool, resource corev1.ResourceName, cfg Config, now time.Time) (Group, string) {
	switch {
	case pod.DeletionTimestamp != nil:
		return Ignored, "being deleted"
	case pod.Status.Phase == corev1.PodFailed:
		return Ignored, string(pod.Status.Phase)
	case pod.Status.Phase == corev1.PodPending:
		return Unready, string(pod.Status.Phase)
	case !found:
		return Missing, "no value"
	case resource != corev1.ResourceCPU:
		return Ready, ""
	}
	if why := cpuUnready(pod, metric, cfg, now); why != "" {
		return Unready, why
	}
	return Ready, ""
}

// cpuUnready is why groupPods leaves a pod's cpu sample out, or "": within
// the initialization period a sample counts once the pod is Ready and a
// whole window was collected since; after it, only a pod that never
// became Ready is left out.
func cpuUnready(pod *corev1.Pod, metric PodMetric, cfg Config, now time.Time) string {
	ready := ReadyCondition(pod)
	if ready == nil || pod.Status.StartTime == nil {
		return "not Ready (no Ready condition or start time)"
	}
	started := pod.Status.StartTime.Time
	if ends := started.Add(cfg.CPUInitializationPeriod); ends.After(now) {
		switch {
		case ready.Status == corev1.ConditionFalse:
			return "not Ready, in the CPU initialization period until " + ends.UTC().Format(time.RFC3339)
		case metric.Timestamp.Before(ready.LastTransitionTime.Add(metric.Window)):
			return "in the CPU initialization period until " + ends.UTC().Format(time.RFC3339) +
				": its sample predates one window (" + metric.Window.String() + ") after it became Ready"
		}
		return ""
	}
	if ready.Status == corev1.ConditionFalse && started.Add(cfg.DelayOfInitialReadinessStatus).After(ready.LastTransitionTime.Time) {
		return "not Ready, and never was"
	}
	return ""
}

// ReadyCondition is the pod's Ready condition, or nil.
func ReadyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// groupPods follows replica_calculator.go groupPods.
func groupPods(pods []corev1.Pod, metrics map[string]PodMetric, resource corev1.ResourceName, cfg Config, now time.Time) Groups {
	var g Groups
	for i := range pods {
		metric, found := metrics[pods[i].Name]
		switch group, _ := Classify(&pods[i], metric, found, resource, cfg, now); group {
		case Ready:
			g.Ready++
		case Unready:
			g.Unready = append(g.Unready, pods[i].Name)
		case Missing:
			g.Missing = append(g.Missing, pods[i].Name)
		case Ignored:
			g.Ignored = append(g.Ignored, pods[i].Name)
		}
	}
	for _, s := range [][]string{g.Unready, g.Missing, g.Ignored} {
		slices.Sort(s)
	}
	return g
}

// countedPods groups the pods and returns the metrics of those the
// calculator counts: unready and ignored pods' removed, as
// removeMetricsForPods does. No pods, or no metric left, is an error.
func countedPods(pods []corev1.Pod, metrics map[string]PodMetric, resource corev1.ResourceName, cfg Config, now time.Time) (Groups, map[string]PodMetric, error) {
	if len(pods) == 0 {
		return Groups{}, nil, errNoPods
	}
	g := groupPods(pods, metrics, resource, cfg, now)
	counted := make(map[string]PodMetric, len(metrics))
	for name, m := range metrics {
		if !slices.Contains(g.Unready, name) && !slices.Contains(g.Ignored, name) {
			counted[name] = m
		}
	}
	if len(counted) == 0 {
		return g, nil, errNoMetrics
	}
	return g, counted, nil
}

// errNoPods and errNoMetrics are the replica calculator's own errors.
var (
	errNoPods    = errors.New("no pods returned by selector while calculating replica count")
	errNoMetrics = errors.New("did not receive metrics for targeted pods (pods might be unready)")
)

// plainMetricReplicas follows replica_calculator.go calcPlainMetricReplicas:
// a Pods metric, or a Resource metric with an AverageValue target.
func plainMetricReplicas(metrics map[string]PodMetric, current int32, target int64, pods []corev1.Pod, resource corev1.ResourceName, cfg Config, now time.Time) (podsProposal, error) {
	g, counted, err := countedPods(pods, metrics, resource, cfg, now)
	if err != nil {
		return podsProposal{groups: g}, err
	}
	ratio, usage := metricUsageRatio(counted, target)
	p := podsProposal{usage: usage, ratio: ratio, groups: g}
	missingAs := target // on a scale-down a missing pod uses exactly the target
	fill := func(values map[string]PodMetric) (float64, int) {
		r, _ := metricUsageRatio(values, target)
		return r, len(values)
	}
	return settle(p, counted, current, cfg.Tolerance, missingAs, fill), nil
}

// settle is the part calcPlainMetricReplicas and GetResourceReplicas share:
// with no pod missing or unready (on a scale-up) the ratio decides; else
// missing pods count as missingAs on a scale-down and 0 on a scale-up,
// unready ones as 0 on a scale-up, and the ratio is computed again.
func settle(p podsProposal, counted map[string]PodMetric, current int32, tolerance float64, missingAs int64, ratioOf func(map[string]PodMetric) (float64, int)) podsProposal {
	scaleUpWithUnready := len(p.groups.Unready) > 0 && p.ratio > 1.0
	if !scaleUpWithUnready && len(p.groups.Missing) == 0 {
		if math.Abs(1.0-p.ratio) <= tolerance {
			p.replicas, p.rule = current, RuleTolerance
			return p
		}
		p.replicas, p.rule = int32(math.Ceil(p.ratio*float64(p.groups.Ready))), RuleReady
		return p
	}
	filled := make(map[string]PodMetric, len(counted)+len(p.groups.Missing)+len(p.groups.Unready))
	for k, v := range counted {
		filled[k] = v
	}
	if len(p.groups.Missing) > 0 && p.ratio != 1.0 {
		as := int64(0)
		if p.ratio < 1.0 {
			as = missingAs
		}
		p.missingAs = &as
		for _, name := range p.groups.Missing {
			filled[name] = PodMetric{Value: as}
		}
	}
	if scaleUpWithUnready {
		zero := int64(0)
		p.unreadyAs = &zero
		for _, name := range p.groups.Unready {
			filled[name] = PodMetric{}
		}
	}
	newRatio, n := ratioOf(filled)
	p.newRatio = newRatio
	switch {
	case math.Abs(1.0-newRatio) <= tolerance:
		p.replicas, p.rule = current, RuleRecomputedTolerance
	case (p.ratio < 1.0 && newRatio > 1.0) || (p.ratio > 1.0 && newRatio < 1.0):
		p.replicas, p.rule = current, RuleDirectionFlips
	default:
		replicas := int32(math.Ceil(newRatio * float64(n)))
		if (newRatio < 1.0 && replicas > current) || (newRatio > 1.0 && replicas < current) {
			p.replicas, p.rule = current, RuleCountFlips
		} else {
			p.replicas, p.rule = replicas, RuleRecomputed
		}
	}
	return p
}

// metricUsageRatio follows metrics/utilization.go GetMetricUsageRatio.
func metricUsageRatio(metrics map[string]PodMetric, target int64) (float64, int64) {
	var total int64
	for _, m := range metrics {
		total += m.Value
	}
	usage := total / int64(len(metrics))
	return float64(usage) / float64(target), usage
}

// resourceUtilizationReplicas follows replica_calculator.go
// GetResourceReplicas: a Resource or ContainerResource metric with a
// Utilization target; container "" sums every container of a pod.
func resourceUtilizationReplicas(metrics map[string]PodMetric, current, targetUtilization int32, pods []corev1.Pod, resource corev1.ResourceName, container string, cfg Config, now time.Time) (podsProposal, error) {
	g, counted, err := countedPods(pods, metrics, resource, cfg, now)
	if err != nil {
		return podsProposal{groups: g}, err
	}
	requests, err := podRequests(pods, container, resource)
	if err != nil {
		return podsProposal{groups: g}, err
	}
	ratio, utilization, raw, err := utilizationRatio(counted, requests, targetUtilization)
	if err != nil {
		return podsProposal{groups: g}, err
	}
	p := podsProposal{usage: int64(utilization), raw: raw, ratio: ratio, groups: g}
	fallback := int64(max(100, targetUtilization))
	var ratioErr error
	ratioOf := func(values map[string]PodMetric) (float64, int) {
		// On a scale-down a missing pod uses its whole request, or the
		// target when that is over 100%: settle passes -1 for it.
		for name, v := range values {
			if v.Value == -1 {
				values[name] = PodMetric{Value: requests[name] * fallback / 100}
			}
		}
		r, _, _, err := utilizationRatio(values, requests, targetUtilization)
		if err != nil {
			ratioErr = err
		}
		return r, len(values)
	}
	p = settle(p, counted, current, cfg.Tolerance, -1, ratioOf)
	if p.missingAs != nil && *p.missingAs == -1 {
		*p.missingAs = fallback // percent of the request
	}
	if ratioErr != nil {
		return p, ratioErr
	}
	return p, nil
}

// utilizationRatio follows metrics/utilization.go GetResourceUtilizationRatio.
func utilizationRatio(metrics map[string]PodMetric, requests map[string]int64, target int32) (ratio float64, utilization int32, raw int64, err error) {
	var metricsTotal, requestsTotal int64
	n := 0
	for name, m := range metrics {
		request, ok := requests[name]
		if !ok {
			continue
		}
		metricsTotal += m.Value
		requestsTotal += request
		n++
	}
	if requestsTotal == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	utilization = int32(metricsTotal * 100 / requestsTotal)
	return float64(utilization) / float64(target), utilization, metricsTotal / int64(n), nil
}

// podRequests follows replica_calculator.go calculatePodRequests: the sum
// of RequestedContainers' requests in milli-units; a container without
// one is an error.
func podRequests(pods []corev1.Pod, container string, resource corev1.ResourceName) (map[string]int64, error) {
	requests := make(map[string]int64, len(pods))
	for i := range pods {
		var sum int64
		for _, c := range RequestedContainers(&pods[i], container) {
			request, ok := c.Resources.Requests[resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, pods[i].Name)
			}
			sum += request.MilliValue()
		}
		requests[pods[i].Name] = sum
	}
	return requests, nil
}

// RequestedContainers are the containers whose requests calculatePodRequests
// sums for a pod: its containers and restartable (sidecar) init
// containers, or the one named container ("" for all).
func RequestedContainers(pod *corev1.Pod, container string) []corev1.Container {
	all := slices.Clone(pod.Spec.Containers)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			all = append(all, c)
		}
	}
	return slices.DeleteFunc(all, func(c corev1.Container) bool { return container != "" && c.Name != container })
}

// readyPods follows replica_calculator.go getReadyPodsCount.
func readyPods(pods []corev1.Pod) (int64, error) {
	if len(pods) == 0 {
		return 0, errNoPods
	}
	var n int64
	for i := range pods {
		if c := ReadyCondition(&pods[i]); pods[i].Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionTrue {
			n++
		}
	}
	return n, nil
}

// valueReplicas follows replica_calculator.go getUsageRatioReplicaCount:
// an Object or External metric with a Value target.
func valueReplicas(current int32, ratio float64, pods []corev1.Pod, tolerance float64) (int32, string, error) {
	if current == 0 {
		return int32(math.Ceil(ratio)), RuleValue, nil
	}
	if math.Abs(1.0-ratio) <= tolerance {
		return current, RuleTolerance, nil
	}
	ready, err := readyPods(pods)
	if err != nil {
		return 0, "", fmt.Errorf("unable to calculate ready pods: %s", err)
	}
	return int32(math.Ceil(ratio * float64(ready))), RuleValue, nil
}

// perPodReplicas follows replica_calculator.go GetObjectPerPodMetricReplicas
// and GetExternalPerPodMetricReplicas: an AverageValue target of an Object
// or External metric, against the scale's status replicas. It returns the
// replicas, the ratio, the average per pod and the rule.
func perPodReplicas(statusReplicas int32, usage, targetAverage int64, tolerance float64) (int32, float64, int64, string) {
	replicas := statusReplicas
	ratio := float64(usage) / (float64(targetAverage) * float64(replicas))
	rule := RuleTolerance
	if math.Abs(1.0-ratio) > tolerance {
		replicas, rule = int32(math.Ceil(float64(usage)/float64(targetAverage))), RulePerPod
	}
	return replicas, ratio, int64(math.Ceil(float64(usage) / float64(statusReplicas))), rule
}
