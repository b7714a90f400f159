package hpainput

import (
	"context"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/history"
)

// TestMemoryAsksPrometheusOnlyWhenItMatters: an HPA the controller never
// synced has a known memory, and Prometheus is not looked for; a synced
// one without Prometheus keeps its memory unknown and says why.
func TestMemoryAsksPrometheusOnlyWhenItMatters(t *testing.T) {
	now := time.Unix(1000, 0)
	asked := 0
	prom := func() (history.RangeQuerier, string) { asked++; return nil, "no URL" }
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	never := decision.Input{HPA: hpa, Now: now}
	if _, note := Memory(context.Background(), prom, never, 15*time.Second, decision.DefaultConfig()); asked != 0 || !strings.Contains(note, "not synced") {
		t.Errorf("never synced: asked %d times, note %q", asked, note)
	}
	synced := decision.Input{HPA: hpa, Now: now, History: decision.History{KnownSince: now}}
	in, note := Memory(context.Background(), prom, synced, 15*time.Second, decision.DefaultConfig())
	if asked != 1 || !in.History.KnownSince.Equal(now) || !strings.Contains(note, "not known (no URL)") {
		t.Errorf("synced without Prometheus: asked %d times, known since %s, note %q", asked, in.History.KnownSince, note)
	}
}
