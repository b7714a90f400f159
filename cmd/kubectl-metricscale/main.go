// Command kubectl-metricscale is the kubectl plugin: `kubectl metricscale ...`.
// It builds the root command (pkg/cmd), runs it with a context that Ctrl-C or
// SIGTERM cancels, and maps its error to the exit code (0 ok, 1 findings or
// not served, 2 could not run).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/cmd"
)

func main() {
	// The commands hold little (doctor keeps about 10 MB for 1,000 HPAs) but
	// read list pages, series and metric values that are garbage at once; at
	// the default GOGC=100 the heap grows to twice what is live before each
	// collection. At 50, doctor's peak RSS on 1,000 HPAs (make bench) is about
	// 5 MB lower for a few hundredths of a second more CPU. GOGC in the
	// environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	// Ctrl-C (or a SIGTERM) cancels the commands' context: each stops at its
	// next request and says so; add-rule finishes putting back a config it
	// wrote before it stops.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := cmd.NewCmdMetricscale(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(cmd.ExitCode(err))
	}
}
