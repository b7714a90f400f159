package hpainput

import (
	"context"
	"fmt"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/history"
)

// Memory gives in the controller's memory of an HPA it has synced before
// (Read leaves it unknown): the recommendations of its syncs over the
// stabilization window, recomputed from the HPA's status as
// kube-state-metrics exported it to Prometheus every step
// (history.Syncs, decision.Remember). prometheus is asked for only when the
// memory matters; it returns nil and why when Prometheus is not reachable.
// The string says, for a person, what the memory is.
func Memory(ctx context.Context, prometheus func() (history.RangeQuerier, string), in decision.Input, step time.Duration, cfg decision.Config) (decision.Input, string) {
	window := decision.Window(in.HPA, cfg)
	unknown := func(why string) string {
		return fmt.Sprintf("the controller's recommendations of the last %s are not known (%s): a higher one may hold a scale-down until the window has passed", window, why)
	}
	switch {
	case in.History.KnownSince.IsZero():
		return in, "the controller has not synced the HPA yet: its memory starts with the replicas it finds"
	case window == 0:
		return in, "no stabilization window: the controller's earlier recommendations do not count"
	}
	p, missing := prometheus()
	if p == nil {
		return in, unknown(missing)
	}
	past, err := history.Syncs(ctx, p, in.HPA, in.Now.Add(-window), in.Now, step)
	if err != nil {
		return in, unknown(err.Error())
	}
	in.History = decision.Remember(in.HPA, past, step, cfg, in.Now)
	note := fmt.Sprintf("the controller's recommendations of the last %s are recomputed from the HPA's status in Prometheus (kube-state-metrics), each pod taken as reading the average; a restart of the controller is not seen", window)
	if k := in.History.KnownSince; !k.IsZero() {
		note += fmt.Sprintf("; Prometheus has them from %s only", k.Format(time.TimeOnly))
	}
	return in, note
}
