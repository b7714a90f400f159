// Command metricscale-sidecar keeps Grafana's dashboards converged with
// labelled ConfigMaps and Secrets; a drop-in for the Grafana chart's sidecar.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/metricscale/kubectl-metricscale/pkg/sidecar"
)

func main() {
	// SIGTERM (a pod's stop) ends the watches and the pass in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := sidecar.NewCmdSidecar(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
}
