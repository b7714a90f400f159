// Command kubectl-metricscale is the kubectl plugin: `kubectl metricscale ...`.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

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
	root := cmd.NewCmdMetricscale(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(cmd.ExitCode(err))
	}
}
