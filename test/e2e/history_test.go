package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/history"
)

// TestHistoryShowsTheScaleUp: the Interlok chain healthy at 50 for half a
// minute, then 150 pushed: the HPA controller scales interlok to 2; history
// then shows, from kube-state-metrics' series in Prometheus, the replicas
// going from 1 to 2, MessageMetrics at 150 against 100, and the rescale
// event.
func TestHistoryShowsTheScaleUp(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 50)
	// Long enough at 1 replica for the range query's 15s steps to see it.
	time.Sleep(30 * time.Second)
	pushInterlok(t, 150)
	waitReplicas(t, "default", "interlok", 2)
	eventually(t, time.Minute, "Prometheus has interlok-autoscaler's current replicas at 2", func(ctx context.Context) error {
		vec, err := promVector(ctx, `kube_horizontalpodautoscaler_status_current_replicas{namespace="default",horizontalpodautoscaler="interlok-autoscaler"}`)
		if err != nil || len(vec) != 1 || vec[0].Value != 2 {
			return fmt.Errorf("%v, %v", vec, err)
		}
		return nil
	})

	out, errOut, code := runCmd(t, "history", "interlok-autoscaler", "-n", "default", "--since", "10m", "-o", "json")
	if code != 0 {
		t.Fatalf("history -o json: exit %d\n%s%s", code, out, errOut)
	}
	var tl history.Timeline
	if err := json.Unmarshal([]byte(out), &tl); err != nil {
		t.Fatalf("history -o json: %v\n%s", err, out)
	}
	var replicas []float64
	for _, p := range tl.Replicas {
		if len(replicas) == 0 || replicas[len(replicas)-1] != p.V {
			replicas = append(replicas, p.V)
		}
	}
	if len(replicas) < 2 || fmt.Sprint(replicas[len(replicas)-2:]) != "[1 2]" {
		t.Errorf("replicas went %v, want 1 then 2 at the end", replicas)
	}
	if len(tl.Metrics) != 1 || tl.Metrics[0].Name != "MessageMetrics" || last(tl.Metrics[0].Current) != 150 || last(tl.Metrics[0].Target) != 100 {
		t.Errorf("metrics %+v", tl.Metrics)
	}
	rescaled := false
	for _, e := range tl.Events {
		rescaled = rescaled || (e.Reason == "SuccessfulRescale" && strings.Contains(e.Message, "New size: 2"))
	}
	if !rescaled {
		t.Errorf("no rescale to 2 in the events %+v", tl.Events)
	}
	// The scenario created the HPA within the span: only the time before
	// it may be missing.
	for _, m := range tl.Missing {
		if !strings.HasPrefix(m, "before ") {
			t.Errorf("missing: %s", m)
		}
	}

	out, _, code = runCmd(t, "history", "interlok-autoscaler", "-n", "default", "--since", "10m")
	t.Logf("history:\n%s", out)
	if code != 0 || !strings.HasPrefix(out, "default/interlok-autoscaler over the last 10m0s: ") || !strings.Contains(out, "→ 2 replicas") {
		t.Errorf("history: exit %d, the answer is not first", code)
	}
}

func last(ps []history.Point) float64 {
	if len(ps) == 0 {
		return -1
	}
	return ps[len(ps)-1].V
}
