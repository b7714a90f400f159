package history

import (
	"bytes"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func stream(labels map[string]string, start time.Time, step time.Duration, vs ...float64) *pmodel.SampleStream {
	m := pmodel.Metric{}
	for k, v := range labels {
		m[pmodel.LabelName(k)] = pmodel.LabelValue(v)
	}
	s := &pmodel.SampleStream{Metric: m}
	for i, v := range vs {
		s.Values = append(s.Values, pmodel.SamplePair{Timestamp: pmodel.TimeFromUnixNano(start.Add(time.Duration(i) * step).UnixNano()), Value: pmodel.SampleValue(v)})
	}
	return s
}

// TestBuild: replicas 1 → 2 with MessageMetrics 50 → 150 against 100, a
// span of ScalingActive=False, one rescale event, another HPA's event left
// out; printed with the answer first and the sources last.
func TestBuild(t *testing.T) {
	until := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	since, step := until.Add(-10*time.Minute), time.Minute
	read := Read{Matrices: map[string]pmodel.Matrix{
		"replicas": {stream(nil, since, step, 1, 1, 1, 2, 2, 2)},
		"desired":  {stream(nil, since, step, 1, 1, 2, 2, 2, 2)},
		"current":  {stream(map[string]string{"metric_name": "MessageMetrics", "metric_target_type": "average"}, since, step, 50, 50, 150, 150, 150, 150)},
		"target":   {stream(map[string]string{"metric_name": "MessageMetrics", "metric_target_type": "average"}, since, step, 100, 100, 100, 100, 100, 100)},
		"conditions": {
			stream(map[string]string{"condition": "ScalingActive", "status": "false"}, since, step, 1, 1, 0, 0, 0, 0),
			stream(map[string]string{"condition": "ScalingActive", "status": "true"}, since, step, 0, 0, 1, 1, 1, 1),
			stream(map[string]string{"condition": "ScalingLimited", "status": "false"}, since, step, 1, 1, 1, 1, 1, 1),
		}},
		Events: []corev1.Event{
			{InvolvedObject: corev1.ObjectReference{Kind: "HorizontalPodAutoscaler", Name: "interlok-autoscaler"}, Type: "Normal", Reason: "SuccessfulRescale",
				Message: "New size: 2; reason: pods metric MessageMetrics above target", Count: 1, LastTimestamp: metav1.NewTime(since.Add(3 * time.Minute))},
			{InvolvedObject: corev1.ObjectReference{Kind: "HorizontalPodAutoscaler", Name: "other"}, Type: "Normal", Reason: "SuccessfulRescale", LastTimestamp: metav1.NewTime(since.Add(time.Minute))},
		}}
	tl := Build(read, "default", "interlok-autoscaler", since, until, step)
	if len(tl.Events) != 1 || len(tl.Metrics) != 1 || len(tl.Conditions) != 1 || !tl.Conditions[0].To.Equal(since.Add(step)) {
		t.Fatalf("timeline %+v", tl)
	}
	var b bytes.Buffer
	if err := Print(&b, tl); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"default/interlok-autoscaler over the last 10m0s: 1 → 2 replicas (between 1 and 2), 1 change\n",
		"replicas        ▁▁▁███  1 → 2 (1–2)",
		"MessageMetrics  ▁▁████  50 → 150 (50–150), target 100 (average)",
		"ScalingActive=false",
		"SuccessfulRescale: New size: 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "missing:") {
		t.Errorf("series from the span's start, events listed: nothing is missing:\n%s", out)
	}
}
