package history

import (
	"fmt"
	"sort"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// Build turns what Fetch read into the HPA's timeline.
func Build(r Read, ns, name string, since, until time.Time, step time.Duration) Timeline {
	t := Timeline{Namespace: ns, Name: name, Since: since, Until: until, Step: step.String(),
		Replicas: points(first(r.Matrices["replicas"])), Desired: points(first(r.Matrices["desired"])),
		Metrics: []MetricSeries{}, Conditions: []Span{}, Events: []Event{}, Sources: []string{}}
	t.Metrics = metrics(r.Matrices["current"], r.Matrices["target"])
	t.Conditions = conditions(r.Matrices["conditions"], step)
	for _, e := range r.Events {
		if e.InvolvedObject.Kind != "HorizontalPodAutoscaler" || e.InvolvedObject.Name != name {
			continue
		}
		at := kube.EventTime(&e)
		if at.Before(since) {
			continue
		}
		t.Events = append(t.Events, Event{Time: at, Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count})
	}
	sortEvents(t.Events)
	t.Sources, t.Missing = sources(r, t)
	return t
}

// sources say where each part comes from and what is missing.
func sources(r Read, t Timeline) (found, missing []string) {
	for _, key := range []string{"replicas", "desired", "current", "target", "conditions"} {
		if err := r.Errs[key]; err != nil {
			missing = append(missing, fmt.Sprintf("%s: Prometheus: %v", key, err))
		}
	}
	switch {
	case len(t.Replicas) > 0:
		from := t.Replicas[0].T
		found = append(found, fmt.Sprintf("replicas, metrics and conditions: Prometheus, kube-state-metrics' kube_horizontalpodautoscaler_* series, from %s", from.Format(time.RFC3339)))
		if from.Sub(t.Since) > 2*time.Minute {
			missing = append(missing, fmt.Sprintf("before %s: Prometheus has no kube-state-metrics series of the HPA (it did not exist, or was not scraped)", from.Format(time.RFC3339)))
		}
	case len(r.Errs) == 0:
		missing = append(missing, "replicas, metrics and conditions: Prometheus has no kube_horizontalpodautoscaler_* series of this HPA: is kube-state-metrics scraped?")
	}
	if r.EventsErr != nil {
		missing = append(missing, "events: "+r.EventsErr.Error())
	} else {
		found = append(found, "events: the API server, which keeps them an hour (--event-ttl): older scaling events are gone")
	}
	return found, missing
}

func first(m pmodel.Matrix) *pmodel.SampleStream {
	if len(m) == 0 {
		return nil
	}
	return m[0]
}

func points(s *pmodel.SampleStream) []Point {
	out := []Point{}
	if s == nil {
		return out
	}
	for _, v := range s.Values {
		out = append(out, Point{T: v.Timestamp.Time().UTC(), V: float64(v.Value)})
	}
	return out
}

// metrics pairs each metric's current series with its target's.
func metrics(current, target pmodel.Matrix) []MetricSeries {
	byKey := map[string]*MetricSeries{}
	var keys []string
	get := func(s *pmodel.SampleStream) *MetricSeries {
		name, typ := string(s.Metric["metric_name"]), string(s.Metric["metric_target_type"])
		k := name + "/" + typ
		if byKey[k] == nil {
			byKey[k] = &MetricSeries{Name: name, TargetType: typ, Current: []Point{}, Target: []Point{}}
			keys = append(keys, k)
		}
		return byKey[k]
	}
	for _, s := range current {
		get(s).Current = points(s)
	}
	for _, s := range target {
		get(s).Target = points(s)
	}
	sort.Strings(keys)
	out := []MetricSeries{}
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}

// conditions are the spans in which a condition held the status worth
// reading (a series at 1): ScalingLimited True, the others False, any
// Unknown; joined where the samples are a step apart.
func conditions(m pmodel.Matrix, step time.Duration) []Span {
	out := []Span{}
	for _, s := range m {
		status := string(s.Metric["status"])
		fine := "true"
		if s.Metric["condition"] == "ScalingLimited" {
			fine = "false"
		}
		if status == fine {
			continue
		}
		var cur *Span
		for _, v := range s.Values {
			at := v.Timestamp.Time().UTC()
			if v.Value != 1 {
				cur = nil
				continue
			}
			if cur != nil && at.Sub(cur.To) <= step {
				cur.To = at
				continue
			}
			out = append(out, Span{Condition: string(s.Metric["condition"]), Status: status, From: at, To: at})
			cur = &out[len(out)-1]
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}
