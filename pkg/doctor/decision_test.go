package doctor

import (
	"bytes"
	"context"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
)

// fakeInputs gives every HPA the same pods and per-pod values.
type fakeInputs struct {
	pods   []corev1.Pod
	values map[string]decision.PodMetric
}

func (f fakeInputs) Read(_ context.Context, h *autoscalingv2.HorizontalPodAutoscaler) (decision.Input, error) {
	return decision.Input{HPA: h, SpecReplicas: 2, StatusReplicas: 2, Pods: f.pods, Readings: []decision.Reading{{Pods: f.values}}, Now: now}, nil
}

// TestDecisionLine: with the controller's inputs, doctor's HPA carries the
// decision, first under its header in the table; without them (-A) none.
func TestDecisionLine(t *testing.T) {
	api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true},
		values: map[string]*cmv1beta2MetricValueList{"default/pods/MessageMetrics": values("Pod", "interlok-1", "150")}}
	p := &fakeProm{ok: true, series: nil}
	h, _ := podsHPA("MessageMetrics")
	pods := runningPods("interlok-1", "interlok-2")
	for _, tc := range []struct {
		name   string
		inputs Inputs
		want   string
	}{
		{"inputs", fakeInputs{pods: pods, values: map[string]decision.PodMetric{"interlok-1": {Value: 150000}}},
			"holds 2: MessageMetrics reads 150 against 100 per pod on the 1 pod with a value (ratio 1.5, up); counting the 1 pod without a value as 0 gives 0.75, the direction flips, so the controller keeps 2"},
		{"no inputs", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := collected(t, p, api, defaultRules(t))
			in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{*h}
			in.Targets = fakeTargets{"default/Deployment/interlok": pods}
			in.Inputs = tc.inputs
			r, err := Diagnose(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.HPAs[0].Decision; got != tc.want {
				t.Fatalf("decision %q, want %q", got, tc.want)
			}
			var b bytes.Buffer
			if err := Print(&b, r, "table"); err != nil {
				t.Fatal(err)
			}
			if shown := strings.Contains(b.String(), "\n  DECISION  "+tc.want+"\n"); shown != (tc.want != "") {
				t.Errorf("table shows the decision: %v\n%s", shown, b.String())
			}
		})
	}
}
