package main

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitForFailsWithWhatItWaitedFor(t *testing.T) {
	err := waitFor(context.Background(), "2000 bench pods to be Running", 30*time.Millisecond, 5*time.Millisecond,
		func(context.Context) (bool, string, error) { return false, "1998/2000 pods Running", nil },
		func(context.Context) string { return "kwok-node-1 is full (1000 pods)" })
	want := "waiting for 2000 bench pods to be Running: 1998/2000 pods Running after 0s: kwok-node-1 is full (1000 pods)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	n := 0
	if err := waitFor(context.Background(), "x", time.Second, time.Millisecond, func(context.Context) (bool, string, error) {
		n++
		return n == 3, "ok", nil
	}, nil); err != nil || n != 3 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := waitFor(ctx, "x", time.Minute, time.Millisecond, func(context.Context) (bool, string, error) { return false, "", nil }, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestParallelStopsAtTheFirstError(t *testing.T) {
	var calls atomic.Int32
	err := parallel(context.Background(), 1000, 4, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 10 {
			return errors.New("boom")
		}
		return nil
	})
	if err == nil || err.Error() != "boom" || calls.Load() >= 1000 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	if err := parallel(context.Background(), 50, 16, func(context.Context, int) error { calls.Add(1); return nil }); err != nil || calls.Load() != 50 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("5000, 1000", 200, 5)
	if err != nil || !reflect.DeepEqual(got, []int{1000, 5000}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, _ := parseSizes("", 200, 5); !reflect.DeepEqual(got, []int{1000}) {
		t.Fatalf("default: %v", got)
	}
	if _, err := parseSizes("1002", 200, 5); err == nil || !strings.Contains(err.Error(), "multiple") {
		t.Fatalf("1002: %v", err)
	}
}
