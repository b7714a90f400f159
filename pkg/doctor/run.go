package doctor

import (
	"context"
	"time"

	adapterchain "github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// Env is how doctor reaches the cluster.
type Env = kube.Clients

// Options select what doctor looks at.
type Options struct {
	Namespace     string // ignored with AllNamespaces
	AllNamespaces bool
	HPANames      []string
	Selector      string // a label selector on the HPAs, without HPANames
	// Chain says where the adapter and Prometheus are (empty: found as
	// the adapter is found through its APIService).
	Chain adapterchain.Options
	// SeriesWindow is how far back doctor looks for series the adapter's
	// window no longer sees (default 1h).
	SeriesWindow time.Duration
	Now          time.Time
}

// Run inspects the chain and returns the report: Collect reads the
// cluster, Prometheus and the metrics APIs, Diagnose judges what was read.
// An error means doctor could not run at all (the API server is
// unreachable, an HPA named on the command line does not exist).
func Run(ctx context.Context, env Env, o Options) (*Report, error) {
	in, err := Collect(ctx, env, o)
	if err != nil {
		return nil, err
	}
	return Diagnose(ctx, in)
}
