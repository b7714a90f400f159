package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// waitFor polls check every interval until it reports done. It prints what
// it waits for with its bound, then the state check reports whenever it
// changes (at most every 5 s, and at least every 30 s). When the bound
// passes it fails with the last state and what why says about it.
func waitFor(ctx context.Context, what string, bound, interval time.Duration,
	check func(context.Context) (done bool, state string, err error), why func(context.Context) string) error {
	fmt.Printf("  waiting up to %s for %s\n", bound.Round(time.Second), what)
	start := time.Now()
	var last string
	var printed time.Time
	for {
		done, state, err := check(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
		if err != nil {
			state = "error: " + err.Error()
		}
		elapsed := time.Since(start)
		if done {
			fmt.Printf("    %s after %.1fs\n", state, elapsed.Seconds())
			return nil
		}
		if (state != last && time.Since(printed) >= 5*time.Second) || time.Since(printed) >= 30*time.Second {
			fmt.Printf("    %s (%.0fs)\n", state, elapsed.Seconds())
			last, printed = state, time.Now()
		}
		if elapsed > bound {
			msg := fmt.Sprintf("%s after %s", state, bound.Round(time.Second))
			if why != nil {
				if w := why(ctx); w != "" {
					msg += ": " + w
				}
			}
			return fmt.Errorf("waiting for %s: %s", what, msg)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// parallel calls fn for 0..n-1 on workers goroutines and returns the first
// error; after an error or the end of ctx no new call starts.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		// the caller's context ended (not an error of fn)
		return context.Cause(ctx)
	}
	return first
}
