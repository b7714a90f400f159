package watch

import (
	"context"
	"time"
)

// Source is where rows come from: Live, or a fake in tests.
type Source interface {
	Start(ctx context.Context) error
	Changed() <-chan struct{}
	Poll(ctx context.Context) error
	Rows() []Row
	Status() string
}

// Outcome is how a watch ended.
type Outcome int

const (
	// Interrupted: the context ended (Ctrl-C) without --until.
	Interrupted Outcome = iota
	// Met: the --until condition held.
	Met
	// TimedOut: --timeout passed before the condition held.
	TimedOut
)

// redrawEvery coalesces redraws caused by watched changes.
const redrawEvery = 200 * time.Millisecond

// RunOptions control the loop.
type RunOptions struct {
	Interval time.Duration
	Until    *Condition
	Timeout  time.Duration // 0: none
	// RetryBase is the first wait after a failed poll (1s when 0); it
	// doubles with each failure, up to Interval.
	RetryBase time.Duration
	Now       func() time.Time
}

// Run polls values every interval (sooner after a failure, with back-off),
// redraws on every poll and on every watched change, and ends when the
// condition holds, the timeout passes, or ctx ends.
func Run(ctx context.Context, src Source, p Printer, o RunOptions) (Outcome, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	var deadline <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	if err := src.Start(ctx); err != nil {
		return Interrupted, err
	}
	base := o.RetryBase
	if base <= 0 {
		base = time.Second
	}
	retry := base
	polled := false
	next := time.NewTimer(0)
	defer next.Stop()
	redraw := time.NewTimer(time.Hour)
	redraw.Stop()
	defer redraw.Stop()
	redrawPending := false
	show := func() (bool, error) {
		rows := src.Rows()
		if err := p.Update(now(), rows, src.Status()); err != nil {
			return false, err
		}
		return o.Until != nil && o.Until.HoldsForAll(rows), nil
	}
	for {
		select {
		case <-ctx.Done():
			return Interrupted, nil
		case <-deadline:
			return TimedOut, nil
		case <-next.C:
			wait := o.Interval
			if err := src.Poll(ctx); err != nil {
				// A source that fails is asked again sooner, backing off
				// to the normal interval.
				wait = min(retry, o.Interval)
				retry *= 2
			} else {
				retry = base
			}
			next.Reset(wait)
			polled = true
		case <-src.Changed():
			// Many HPAs change status all the time: redraw at most every
			// redrawEvery, with every change of that span at once.
			if polled && !redrawPending {
				redrawPending = true
				redraw.Reset(redrawEvery)
			}
			continue
		case <-redraw.C:
			redrawPending = false
		}
		met, err := show()
		if err != nil {
			return Interrupted, err
		}
		if met {
			return Met, nil
		}
	}
}
