package doctor

import (
	"context"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/metricscale/kubectl-metricscale/pkg/decision"
	"github.com/metricscale/kubectl-metricscale/pkg/hpainput"
)

// Inputs reads what the HPA controller reads for one HPA at a sync (its
// scale, pods and metric values), for the decision doctor explains.
type Inputs interface {
	Read(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (decision.Input, error)
}

// liveInputs reads them from the cluster with the command's clients.
type liveInputs struct {
	env *Env
	now time.Time
}

func (l liveInputs) Read(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (decision.Input, error) {
	return hpainput.Read(ctx, l.env, hpa, l.now)
}

// decide is the controller's decision for h in one sentence, or "" when
// doctor does not read the inputs (-A) or cannot.
func (w *walker) decide(ctx context.Context, h *autoscalingv2.HorizontalPodAutoscaler) string {
	if w.inputs == nil || len(h.Spec.Metrics) == 0 {
		return ""
	}
	in, err := w.inputs.Read(ctx, h)
	if err != nil {
		return "unknown: " + err.Error()
	}
	cfg := decision.DefaultConfig()
	return decision.Explain(h, decision.Decide(in, cfg), cfg)
}
