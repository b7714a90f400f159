package cmd

import (
	"os"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
)

// TestLibraryLogging: what client-go logs (its "Unhandled Error" lines
// come through klog) reaches neither stdout nor stderr at the default
// level, and the command's stderr from -v 1 up; never the process's own
// stderr.
func TestLibraryLogging(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	real := os.Stderr
	os.Stderr = w
	t.Cleanup(func() { os.Stderr = real })
	for _, c := range []struct {
		args []string
		want bool
	}{{[]string{"version"}, false}, {[]string{"version", "-v", "2"}, true}} {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		root := NewCmdMetricscale(streams)
		root.SetArgs(c.args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		klog.ErrorS(nil, "Unhandled Error", "err", "stale GroupVersion discovery")
		klog.Flush()
		if got := strings.Contains(errOut.String(), "stale GroupVersion discovery"); got != c.want || strings.Contains(out.String(), "stale") {
			t.Fatalf("%v: stderr %q, stdout %q", c.args, errOut.String(), out.String())
		}
	}
	os.Stderr = real
	w.Close()
	leaked := make([]byte, 4096)
	if n, _ := r.Read(leaked); n > 0 {
		t.Fatalf("klog wrote to the process's stderr: %q", leaked[:n])
	}
}
