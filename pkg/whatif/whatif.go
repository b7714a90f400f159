// Package whatif runs the HPA controller's decision (pkg/decision) sync
// after sync over a span of time, from what the controller reads now
// (pkg/hpainput) with the values a person sets: what the HPA would do under
// load, and when. Nothing is written to the cluster.
//
// The run assumes what the controller cannot know either: the values stay
// as set; a pod the HPA adds is Running and Ready at once and reads what
// the others read on average (a per-pod metric), and a pod it removes takes
// its value with it; the controller's earlier recommendations are not
// known (pkg/hpainput), so its first syncs may hold a scale-down the run
// makes.
package whatif

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
)

// Step is one sync of the run.
type Step struct {
	// At is the time of the sync since the run began.
	At       time.Duration `json:"-"`
	AtString string        `json:"at"`
	// Replicas are the scale's replicas the sync starts from; Desired what
	// it scales to (Replicas when it holds).
	Replicas int32 `json:"replicas"`
	Proposed int32 `json:"proposed"`
	Desired  int32 `json:"desired"`
	// Metric is the metric whose proposal was the largest.
	Metric string `json:"metric,omitempty"`
	// LimitedBy is the ScalingLimited reason when a limit applied.
	LimitedBy string `json:"limitedBy,omitempty"`
	Why       string `json:"why"`
}

// Run decides at now and then every period until span has passed, each
// sync starting from the replicas the last one left.
func Run(in decision.Input, cfg decision.Config, period, span time.Duration) []Step {
	var steps []Step
	start := in.Now
	for at := time.Duration(0); at <= span; at += period {
		in.Now = start.Add(at)
		d := decision.Decide(in, cfg)
		s := Step{At: at, AtString: "+" + at.String(), Replicas: d.Current, Proposed: d.Proposed, Desired: d.Desired, Why: decision.Explain(in.HPA, d, cfg)}
		if !d.Rescale {
			s.Desired = d.Current
		}
		if d.Winner >= 0 {
			s.Metric = d.Metrics[d.Winner].Name
		}
		if d.ScalingLimit.Status {
			s.LimitedBy = d.ScalingLimit.Reason
		}
		steps = append(steps, s)
		in.History = decision.Record(in.History, in.HPA, d, cfg, in.Now)
		if d.Rescale {
			in = Resize(in, d.Desired)
		}
	}
	return steps
}

// Resize sets the scale to n replicas: pods are added (Running and Ready
// since in.Now, each per-pod metric reading the others' average) or the
// last ones removed.
func Resize(in decision.Input, n int32) decision.Input {
	in.SpecReplicas, in.StatusReplicas = n, n
	pods := append([]corev1.Pod(nil), in.Pods...)
	readings := make([]decision.Reading, len(in.Readings))
	for i, r := range in.Readings {
		readings[i] = r
		if r.Pods != nil {
			readings[i].Pods = copyValues(r.Pods)
		}
	}
	for k := 1; int32(len(pods)) < n; k++ {
		name := fmt.Sprintf("added-%d", len(pods)+k)
		pods = append(pods, newPod(name, in.Pods, in.Now))
		for i := range readings {
			if avg, ok := average(readings[i].Pods); ok {
				readings[i].Pods[name] = decision.PodMetric{Value: avg, Timestamp: in.Now, Window: time.Minute}
			}
		}
	}
	for int32(len(pods)) > n && len(pods) > 0 {
		last := pods[len(pods)-1].Name
		pods = pods[:len(pods)-1]
		for i := range readings {
			delete(readings[i].Pods, last)
		}
	}
	in.Pods, in.Readings = pods, readings
	return in
}

// newPod is a pod the HPA added: the others' spec (their requests), Running
// and Ready since now.
func newPod(name string, like []corev1.Pod, now time.Time) corev1.Pod {
	var p corev1.Pod
	if len(like) > 0 {
		p.Spec = *like[0].Spec.DeepCopy()
	}
	p.Name = name
	t := metav1.NewTime(now)
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &t,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: t}}}
	return p
}

func copyValues(m map[string]decision.PodMetric) map[string]decision.PodMetric {
	out := make(map[string]decision.PodMetric, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// average is the mean of the values, as a per-pod metric's pods read it.
func average(m map[string]decision.PodMetric) (int64, bool) {
	if len(m) == 0 {
		return 0, false
	}
	var sum int64
	for _, v := range m {
		sum += v.Value
	}
	return sum / int64(len(m)), true
}
