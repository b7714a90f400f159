package doctor

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/hpainput"
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

// TestWalkSourceDecision: the decision read through the walk's own sources
// is the one read from the controller's own requests, sent once for the
// walk and the decision.
func TestWalkSourceDecision(t *testing.T) {
	h, _ := podsHPA("MessageMetrics")
	pods := runningPods("interlok-1", "interlok-2")
	want := "holds 2: MessageMetrics reads 150 against 100 per pod on the 1 pod with a value (ratio 1.5, up); counting the 1 pod without a value as 0 gives 0.75, the direction flips, so the controller keeps 2"
	api := &fakeAPI{listed: map[string]bool{"pods/MessageMetrics": true},
		values: map[string]*cmv1beta2MetricValueList{"default/pods/MessageMetrics": values("Pod", "interlok-1", "150")}}
	targets := fakeTargets{"default/Deployment/app": pods}
	in := collected(t, &fakeProm{ok: true}, api, defaultRules(t))
	in.HPAs = []autoscalingv2.HorizontalPodAutoscaler{*h}
	in.Targets = targets
	in.Inputs = sourceInputs{src: walkSource{targets: targets, api: api}, mapper: in.Mapper, now: now}
	r, err := Diagnose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.HPAs[0].Decision; got != want {
		t.Errorf("decision %q, want %q (asked %v)", got, want, api.asked)
	}
	const path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/MessageMetrics?labelSelector=app%3Dapp"
	if !slices.Contains(api.asked, path) {
		t.Errorf("asked %v, want %s", api.asked, path)
	}
}

// TestWalkSourceExternalAbsent: without an external metrics API the
// decision reads the controller's error for the metric, as the walk does.
func TestWalkSourceExternalAbsent(t *testing.T) {
	h, _ := externalHPA("queue_messages_ready", nil)
	src := walkSource{targets: fakeTargets{"default/Deployment/app": runningPods("app-1")}, ext: newLiveExternalAPI(nil, APIService{Name: ExternalAPIService})}
	in, err := hpainput.Read(context.Background(), src, nil, h, now)
	if err != nil {
		t.Fatal(err)
	}
	if e := in.Readings[0].Err; e == nil || !strings.Contains(e.Error(), "no APIService "+ExternalAPIService) {
		t.Fatalf("reading %+v, want the absent API's error", in.Readings[0])
	}
}
