package sidecar

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestCoalesce(t *testing.T) {
	tests := []struct {
		name      string
		kicks     int
		every     time.Duration // between kicks
		quiet     time.Duration
		maxWait   time.Duration
		minPasses int
		maxPasses int
	}{
		{name: "one kick, one pass", kicks: 1, quiet: 20 * time.Millisecond, maxWait: time.Second, minPasses: 1, maxPasses: 1},
		{name: "a burst of 20, one pass", kicks: 20, every: time.Millisecond, quiet: 100 * time.Millisecond, maxWait: 5 * time.Second, minPasses: 1, maxPasses: 1},
		// 40 kicks 10ms apart last 400ms; with maxWait 150ms a pass still runs every ~150ms.
		{name: "a steady stream still converges at maxWait", kicks: 40, every: 10 * time.Millisecond, quiet: 100 * time.Millisecond, maxWait: 150 * time.Millisecond, minPasses: 2, maxPasses: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var passes atomic.Int32
			k := newKicker()
			done := make(chan struct{})
			go func() {
				defer close(done)
				coalesce(ctx, k, tt.quiet, tt.maxWait, func(context.Context) { passes.Add(1) })
			}()
			for i := 0; i < tt.kicks; i++ {
				k.kick()
				time.Sleep(tt.every)
			}
			time.Sleep(tt.quiet * 3)
			cancel()
			<-done
			if n := int(passes.Load()); n < tt.minPasses || n > tt.maxPasses {
				t.Errorf("%d passes, want %d to %d", n, tt.minPasses, tt.maxPasses)
			}
		})
	}
}

func TestCoalesceEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		coalesce(ctx, newKicker(), time.Hour, time.Hour, func(context.Context) { t.Error("ran without a kick") })
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("coalesce did not return when its context ended")
	}
}
