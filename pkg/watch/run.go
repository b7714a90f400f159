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
	var deadline <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	if err := src.Start(ctx); err != nil {
		return Interrupted, err
	}
	l := newLoop(src, p, o)
	defer l.stop()
	for {
		select {
		case <-ctx.Done():
			return Interrupted, nil
		case <-deadline:
			return TimedOut, nil
		case <-l.next.C:
			l.poll(ctx)
		case <-src.Changed():
			l.changed()
			continue
		case <-l.redraw.C:
			l.redrawPending = false
		}
		met, err := l.show()
		if err != nil {
			return Interrupted, err
		}
		if met {
			return Met, nil
		}
	}
}

// loop is Run's state between events: the poll timer with its back-off
// and the pending redraw.
type loop struct {
	src           Source
	p             Printer
	o             RunOptions
	now           func() time.Time
	base, retry   time.Duration
	polled        bool
	next, redraw  *time.Timer
	redrawPending bool
}

func newLoop(src Source, p Printer, o RunOptions) *loop {
	l := &loop{src: src, p: p, o: o, now: time.Now, base: o.RetryBase}
	if o.Now != nil {
		l.now = o.Now
	}
	if l.base <= 0 {
		l.base = time.Second
	}
	l.retry = l.base
	l.next = time.NewTimer(0)
	l.redraw = time.NewTimer(time.Hour)
	l.redraw.Stop()
	return l
}

func (l *loop) stop() {
	l.next.Stop()
	l.redraw.Stop()
}

// poll asks the source for values and sets the next poll: a source that
// fails is asked again sooner, backing off to the normal interval.
func (l *loop) poll(ctx context.Context) {
	wait := l.o.Interval
	if err := l.src.Poll(ctx); err != nil {
		wait = min(l.retry, l.o.Interval)
		l.retry *= 2
	} else {
		l.retry = l.base
	}
	l.next.Reset(wait)
	l.polled = true
}

// changed schedules a redraw for a watched change. Many HPAs change status
// all the time: redraw at most every redrawEvery, with every change of
// that span at once.
func (l *loop) changed() {
	if l.polled && !l.redrawPending {
		l.redrawPending = true
		l.redraw.Reset(redrawEvery)
	}
}

// show prints the rows and reports whether the --until condition holds.
func (l *loop) show() (bool, error) {
	rows := l.src.Rows()
	if err := l.p.Update(l.now(), rows, l.src.Status()); err != nil {
		return false, err
	}
	return l.o.Until != nil && l.o.Until.HoldsForAll(rows), nil
}
