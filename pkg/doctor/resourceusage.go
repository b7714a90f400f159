package doctor

import (
	"fmt"
	"sort"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// The HPA controller's defaults for resource metrics
// (--horizontal-pod-autoscaler-cpu-initialization-period and
// --horizontal-pod-autoscaler-initial-readiness-delay).
const (
	cpuInitializationPeriod       = 5 * time.Minute
	delayOfInitialReadinessStatus = 30 * time.Second
)

// resourceMetric is a Resource or ContainerResource metric of an HPA.
type resourceMetric struct {
	name      corev1.ResourceName
	container string // "" for a Resource metric: every container counts
	target    autoscalingv2.MetricTarget
}

func resourceMetricOf(spec autoscalingv2.MetricSpec) (resourceMetric, bool) {
	switch {
	case spec.Resource != nil:
		return resourceMetric{name: spec.Resource.Name, target: spec.Resource.Target}, true
	case spec.ContainerResource != nil:
		c := spec.ContainerResource
		return resourceMetric{name: c.Name, container: c.Container, target: c.Target}, true
	}
	return resourceMetric{}, false
}

// utilization reports whether the target is a percentage of the requests.
func (m resourceMetric) utilization() bool {
	return m.target.Type == autoscalingv2.UtilizationMetricType
}

// podSample is one pod as the HPA controller's replica calculator sorts it
// for a resource metric (replica_calculator.go groupPods).
type podSample struct {
	pod   string
	usage int64 // milli-units, summed over the counted containers
	// why is empty for a pod whose sample counts, else why it does not.
	why string
}

// resourceUsage is what the controller computes from the resource metrics
// API's answer and the scale target's pods.
type resourceUsage struct {
	samples []podSample
	// absent names the pods whose metrics lack the ContainerResource
	// metric's container: the controller fails on the first.
	absent []string
	// unrequested maps a container without a request for the resource to
	// the pods that run it (Utilization targets only).
	unrequested map[string][]string
	// containerUsage is the most each container uses in any pod, in
	// milli-units: what a request for it is proposed from.
	containerUsage map[string]int64
	counted        int
	// value is the utilization in percent of the requests (Utilization)
	// or the average usage per pod in milli-units (AverageValue).
	value int64
}

// usageOf reproduces the controller's reading of a resource metric: the
// usage per pod (metricsclient getPodMetrics / getContainerMetrics), the
// pods it ignores or counts as missing (groupPods), the requests it divides
// by (calculatePodRequests) and the utilization or average usage
// (GetResourceUtilizationRatio, GetMetricUsageRatio).
func usageOf(m resourceMetric, pods []corev1.Pod, metrics []metricsv1beta1.PodMetrics, now time.Time) resourceUsage {
	var u resourceUsage
	byPod := map[string]*metricsv1beta1.PodMetrics{}
	u.containerUsage = map[string]int64{}
	for i := range metrics {
		byPod[metrics[i].Name] = &metrics[i]
		for _, c := range metrics[i].Containers {
			q := c.Usage[m.name]
			u.containerUsage[c.Name] = max(u.containerUsage[c.Name], q.MilliValue())
		}
	}
	var usageTotal, requestTotal int64
	for i := range pods {
		p := &pods[i]
		pm := byPod[p.Name]
		usage, ok, absent := podUsage(m, pm)
		if absent {
			u.absent = append(u.absent, p.Name)
		}
		s := podSample{pod: p.Name, usage: usage, why: sampleIgnored(m.name, p, pm, ok, now)}
		u.samples = append(u.samples, s)
		if m.utilization() {
			u.noteRequests(m, p)
		}
		if s.why != "" {
			continue
		}
		u.counted++
		usageTotal += usage
		requestTotal += podRequest(m, p)
	}
	switch {
	case u.counted == 0:
	case m.utilization() && requestTotal > 0:
		u.value = usageTotal * 100 / requestTotal
	case !m.utilization():
		u.value = usageTotal / int64(u.counted)
	}
	return u
}

// podUsage sums the usage of the metric's containers; ok is false when the
// API has no value for the pod (or one of its containers), absent when the
// ContainerResource metric's container is not among the pod's.
func podUsage(m resourceMetric, pm *metricsv1beta1.PodMetrics) (usage int64, ok, absent bool) {
	if pm == nil || len(pm.Containers) == 0 {
		return 0, false, false
	}
	if m.container != "" {
		for _, c := range pm.Containers {
			if c.Name == m.container {
				q, found := c.Usage[m.name]
				return q.MilliValue(), found, false
			}
		}
		return 0, false, true
	}
	for _, c := range pm.Containers {
		q, found := c.Usage[m.name]
		if !found {
			return 0, false, false
		}
		usage += q.MilliValue()
	}
	return usage, true, false
}

// sampleIgnored is why the controller does not count the pod's sample, or
// "": no value yet, or, for cpu, a pod not Ready or still initializing.
func sampleIgnored(res corev1.ResourceName, p *corev1.Pod, pm *metricsv1beta1.PodMetrics, ok bool, now time.Time) string {
	if !ok {
		if p.Status.StartTime != nil && now.Sub(p.Status.StartTime.Time) < time.Minute {
			return fmt.Sprintf("no value yet: started %s ago, before metrics-server's first scrape of it", age(now, p.Status.StartTime.Time))
		}
		return "no value in the resource metrics API"
	}
	if res != corev1.ResourceCPU {
		return ""
	}
	ready := podCondition(p, corev1.PodReady)
	if ready == nil || p.Status.StartTime == nil {
		return "not Ready (no Ready condition or start time)"
	}
	started := p.Status.StartTime.Time
	if ends := started.Add(cpuInitializationPeriod); ends.After(now) {
		switch {
		case ready.Status == corev1.ConditionFalse:
			return "not Ready, in the CPU initialization period until " + ends.UTC().Format(time.RFC3339)
		case pm.Timestamp.Time.Before(ready.LastTransitionTime.Add(pm.Window.Duration)):
			return "in the CPU initialization period until " + ends.UTC().Format(time.RFC3339) +
				": its sample predates one window (" + pm.Window.Duration.String() + ") after it became Ready"
		}
		return ""
	}
	if ready.Status == corev1.ConditionFalse && started.Add(delayOfInitialReadinessStatus).After(ready.LastTransitionTime.Time) {
		return "not Ready, and never was"
	}
	return ""
}

// noteRequests records the containers of the pod the controller needs a
// request from and that have none.
func (u *resourceUsage) noteRequests(m resourceMetric, p *corev1.Pod) {
	for _, c := range p.Spec.Containers {
		if m.container != "" && c.Name != m.container {
			continue
		}
		if _, ok := c.Resources.Requests[m.name]; ok {
			continue
		}
		if u.unrequested == nil {
			u.unrequested = map[string][]string{}
		}
		u.unrequested[c.Name] = append(u.unrequested[c.Name], p.Name)
	}
}

// podRequest is the pod's request for the resource over the metric's
// containers, in milli-units.
func podRequest(m resourceMetric, p *corev1.Pod) int64 {
	var sum int64
	for _, c := range p.Spec.Containers {
		if m.container != "" && c.Name != m.container {
			continue
		}
		if q, ok := c.Resources.Requests[m.name]; ok {
			sum += q.MilliValue()
		}
	}
	return sum
}

// ignored lists the pods whose samples do not count, each with why.
func (u resourceUsage) ignored() []string {
	var out []string
	for _, s := range u.samples {
		if s.why != "" {
			out = append(out, "pod "+s.pod+": "+s.why)
		}
	}
	sort.Strings(out)
	return out
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func age(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() }
