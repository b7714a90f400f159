// Command metricscale-sidecar keeps Grafana's dashboards converged with
// labelled ConfigMaps and Secrets; a drop-in for the Grafana chart's sidecar.
// The command itself is pkg/sidecar's; this main sets the process-wide
// settings a long-running cache needs (GOGC, client-go's streaming lists).
// make build links it statically.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	// Mozilla's root CAs, used only where the system has none: the image
	// holds the binary alone, and a Grafana behind a public CA must verify.
	_ "golang.org/x/crypto/x509roots/fallback"
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

// gcPercent is the sidecar's GOGC unless the environment sets one: its live
// heap is small (the cached objects) while a pass decodes and drops every
// dashboard it compares, so collecting at half the default growth keeps the
// peak under the Deployment's limit at no visible cost (500 dashboards of
// 50 KB: 109 → 95 MB peak RSS, the same 2 s to converge; make bench).
const gcPercent = 50

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
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
