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
	clientfeatures "k8s.io/client-go/features"

	"github.com/metricscale/kubectl-metricscale/pkg/sidecar"
)

// streamingLists turns client-go's WatchListClient on unless
// KUBE_FEATURE_WatchListClient says otherwise: informers then fill their
// caches from a stream of objects instead of one list response held whole,
// which with hundreds of 50 KB ConfigMaps is most of the peak memory. An
// API server without streaming lists gets a plain list (client-go falls
// back).
type streamingLists struct{ clientfeatures.Gates }

func (g streamingLists) Enabled(key clientfeatures.Feature) bool {
	if _, set := os.LookupEnv("KUBE_FEATURE_" + string(clientfeatures.WatchListClient)); key == clientfeatures.WatchListClient && !set {
		return true
	}
	return g.Gates.Enabled(key)
}

func main() {
	clientfeatures.ReplaceFeatureGates(streamingLists{clientfeatures.FeatureGates()})
	// SIGTERM (a pod's stop) ends the watches and the pass in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := sidecar.NewCmdSidecar(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
}
