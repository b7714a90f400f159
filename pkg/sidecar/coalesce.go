package sidecar

import (
	"context"
	"time"
)

// kicker collects "something changed" signals; many before a pass count as one.
type kicker chan struct{}

func newKicker() kicker { return make(kicker, 1) }

// kick asks for a pass; it never blocks (a pass is already asked for when full).
func (k kicker) kick() {
	select {
	case k <- struct{}{}:
	default:
	}
}

// coalesce calls run once per burst of kicks: when quiet has passed without
// a kick, or maxWait after the burst's first kick (a steady stream of
// changes must not postpone Grafana forever). Kicks during run start the
// next burst. It returns when ctx ends.
func coalesce(ctx context.Context, kicks kicker, quiet, maxWait time.Duration, run func(context.Context)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-kicks:
		}
		deadline := time.Now().Add(maxWait)
		timer := time.NewTimer(quiet)
	burst:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-kicks:
				wait := min(quiet, time.Until(deadline))
				timer.Reset(max(wait, 0))
			case <-timer.C:
				break burst
			}
		}
		run(ctx)
	}
}
