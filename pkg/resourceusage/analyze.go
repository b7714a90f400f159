package resourceusage

import (
	"fmt"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
)

// Sample is one pod as the controller's replica calculator sorts it
// (groupPods): its usage, and why its sample does not count ("" when it
// does).
type Sample struct {
	Pod     string
	Usage   int64 // milli-units
	Ignored string
}

// Unrequested is a container of a pod without a request for the resource a
// Utilization target divides by.
type Unrequested struct {
	Container, Pod string
}

// Reading is everything the controller derives from one answer of the
// resource metrics API and the scale target's pods: what Value turns into
// the metric's value or the controller's error, and what doctor explains.
type Reading struct {
	Metric Metric
	// NoMetrics: the API answered no PodMetrics at all.
	NoMetrics bool
	Samples   []Sample
	// Absent names (namespace/name) the pods whose metrics lack the
	// ContainerResource metric's container, in the API's order.
	Absent []string
	// Unrequested lists, in the pods' order, the containers without a
	// request (Utilization targets only).
	Unrequested []Unrequested
	// ContainerUsage is the most each container uses in any pod, in
	// milli-units.
	ContainerUsage map[string]int64
	Counted        int
	// UsageTotal and RequestTotal sum the counted pods' usage and
	// requests, in milli-units.
	UsageTotal, RequestTotal int64
	// Usage is each pod's value as the controller's metrics client
	// returns it (pods without one left out).
	Usage map[string]decision.PodMetric
}

// Analyze reads the answer as the controller does: the usage per pod
// (metricsclient getPodMetrics / getContainerMetrics), the pods it leaves
// out (groupPods), the requests it divides by (calculatePodRequests).
func Analyze(m Metric, pods []corev1.Pod, metrics []metricsv1beta1.PodMetrics, now time.Time) Reading {
	r := answer(m, metrics)
	for i := range pods {
		p := &pods[i]
		u, ok := r.Usage[p.Name]
		s := Sample{Pod: p.Name, Usage: u.Value, Ignored: ignored(p, u, ok, m.Resource, now)}
		r.Samples = append(r.Samples, s)
		request := r.noteRequests(p)
		if s.Ignored != "" {
			continue
		}
		r.Counted++
		r.UsageTotal += u.Value
		r.RequestTotal += request
	}
	return r
}

// Usage is each pod's value as the controller's metrics client returns it
// (GetResourceMetric), or its error: what the controller's decision reads,
// without the pods Analyze explains.
func Usage(m Metric, metrics []metricsv1beta1.PodMetrics) (map[string]decision.PodMetric, error) {
	r := answer(m, metrics)
	return r.Usage, r.MetricsErr()
}

// answer is what the metrics client makes of the API's answer.
func answer(m Metric, metrics []metricsv1beta1.PodMetrics) Reading {
	r := Reading{Metric: m, NoMetrics: len(metrics) == 0, ContainerUsage: map[string]int64{}}
	r.Usage = r.usageByPod(metrics)
	return r
}

// Value is the metric's value, or the error the controller reports, in the
// order it meets them.
func (r Reading) Value() (Value, error) {
	m := r.Metric
	if err := r.MetricsErr(); err != nil {
		return Value{}, err
	}
	switch {
	case len(r.Samples) == 0:
		return Value{}, fmt.Errorf("no pods returned by selector while calculating replica count")
	case r.Counted == 0:
		return Value{}, fmt.Errorf("did not receive metrics for targeted pods (pods might be unready)")
	}
	v := Value{Average: float64(r.UsageTotal/int64(r.Counted)) / 1000, Pods: r.Counted}
	if m.Target.Type != autoscalingv2.UtilizationMetricType {
		return v, nil
	}
	if len(r.Unrequested) > 0 {
		u := r.Unrequested[0]
		return Value{}, fmt.Errorf("missing request for %s in container %s of Pod %s", m.Resource, u.Container, u.Pod)
	}
	if r.RequestTotal == 0 {
		return Value{}, fmt.Errorf("no metrics returned matched known pods")
	}
	v.Utilization = int32(r.UsageTotal * 100 / r.RequestTotal)
	return v, nil
}

// MetricsErr is the error the controller's metrics client returns for the
// answer (metrics/client.go GetResourceMetric), before it looks at pods.
func (r Reading) MetricsErr() error {
	switch {
	case r.NoMetrics:
		return fmt.Errorf("no metrics returned from resource metrics API")
	case len(r.Absent) > 0:
		return fmt.Errorf("failed to get container metrics: container %s not present in metrics for pod %s", r.Metric.Container, r.Absent[0])
	}
	return nil
}

// Ignored lists the pods whose samples do not count, each with why.
func (r Reading) Ignored() []string {
	var out []string
	for _, s := range r.Samples {
		if s.Ignored != "" {
			out = append(out, "pod "+s.Pod+": "+s.Ignored)
		}
	}
	return out
}

// usageByPod is each pod's usage of the resource (its container's for a
// ContainerResource metric); a pod lacking the resource for a container is
// left out, as the controller leaves it out.
func (r *Reading) usageByPod(metrics []metricsv1beta1.PodMetrics) map[string]decision.PodMetric {
	m := r.Metric
	out := make(map[string]decision.PodMetric, len(metrics))
	for _, pm := range metrics {
		var sum int64
		found := len(pm.Containers) > 0
		containerFound := false
		for _, c := range pm.Containers {
			q, ok := c.Usage[m.Resource]
			r.ContainerUsage[c.Name] = max(r.ContainerUsage[c.Name], q.MilliValue())
			if m.Container != "" && c.Name != m.Container {
				continue
			}
			containerFound = true
			if !ok {
				found = false
			}
			sum += q.MilliValue()
		}
		if m.Container != "" && !containerFound {
			r.Absent = append(r.Absent, pm.Namespace+"/"+pm.Name)
			continue
		}
		if found {
			out[pm.Name] = decision.PodMetric{Value: sum, Timestamp: pm.Timestamp.Time, Window: pm.Window.Duration}
		}
	}
	return out
}

// ignored is why the controller does not use the pod's sample, or "":
// decision.Classify's reason, and for a pod without a value whether
// metrics-server may not have scraped it yet.
func ignored(pod *corev1.Pod, u decision.PodMetric, ok bool, resource corev1.ResourceName, now time.Time) string {
	group, why := decision.Classify(pod, u, ok, resource, decision.DefaultConfig(), now)
	switch {
	case group != decision.Missing:
		return why
	case pod.Status.StartTime != nil && now.Sub(pod.Status.StartTime.Time) < time.Minute:
		return "no value yet: started " + now.Sub(pod.Status.StartTime.Time).Round(time.Second).String() + " ago, before metrics-server's first scrape of it"
	}
	return "no value in the resource metrics API"
}

// noteRequests records the pod's containers without a request (for a
// Utilization target) and returns its request in milli-units: the sum over
// its containers and sidecar (restartable init) containers, or the one
// container's (calculatePodRequests).
func (r *Reading) noteRequests(pod *corev1.Pod) int64 {
	m := r.Metric
	var sum int64
	for _, c := range decision.RequestedContainers(pod, m.Container) {
		q, ok := c.Resources.Requests[m.Resource]
		if !ok && m.Target.Type == autoscalingv2.UtilizationMetricType {
			r.Unrequested = append(r.Unrequested, Unrequested{Container: c.Name, Pod: pod.Name})
		}
		sum += q.MilliValue()
	}
	return sum
}
