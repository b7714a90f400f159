package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseSmapsRollup(t *testing.T) {
	data := []byte(`55d0c0a00000-7ffd4b5fe000 ---p 00000000 00:00 0                          [rollup]
Rss:               98632 kB
Pss:               97100 kB
Pss_Anon:          41216 kB
Anonymous:         41216 kB
AnonHugePages:     20480 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:     47104 kB
Swap:                  0 kB
`)
	got := parseSmapsRollup(data)
	want := memSample{Rss: 98632, Anonymous: 41216, AnonHugePages: 20480, FilePmdMapped: 47104}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.File() != 98632-41216 {
		t.Fatalf("File() = %d", got.File())
	}
	if z := parseSmapsRollup(nil); z != (memSample{}) {
		t.Fatalf("empty rollup: %+v", z)
	}
}

func TestParseGCTrace(t *testing.T) {
	stderr := []byte(`gc 1 @0.010s 3%: 0.016+1.1+0.021 ms clock, 0.033+0.20/0.92/0.42+0.043 ms cpu, 3->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
warning: something else
gc 2 @0.051s 4%: 0.021+2.0+0.004 ms clock, 0.043+0.31/1.5/0.33+0.009 ms cpu, 12->13->9 MB, 14 MB goal, 0 MB stacks, 1 MB globals, 2 P
gc 3 @0.090s 4%: 0.021+2.0+0.004 ms clock, 0.043+0.31/1.5/0.33+0.009 ms cpu, 17->17->6 MB, 18 MB goal, 0 MB stacks, 1 MB globals, 2 P (forced)
`)
	got := parseGCTrace(stderr)
	want := gcStats{HeapAtGC: 17, Live: 9, Goal: 18, GCs: 3}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// The sampler reads a live process and stops when told.
func TestSampleMemory(t *testing.T) {
	cmd := exec.Command("sleep", "1")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	stop := make(chan struct{})
	peak := sampleMemory(cmd.Process.Pid, 20*time.Millisecond, stop)
	_ = cmd.Wait()
	close(stop)
	p := <-peak
	if p.samples == 0 || p.at.Rss == 0 {
		t.Fatalf("no sample of a running process: %+v", p)
	}
}

func TestInspectPageCache(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	st, err := inspectPageCache(exe)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size == 0 || st.Cached == 0 || st.Cached > st.Size+int64(os.Getpagesize()) {
		t.Fatalf("implausible state of a running executable: %+v", st)
	}
	t.Log(st)
}
