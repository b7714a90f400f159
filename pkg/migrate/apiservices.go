package migrate

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// APIServiceState is a metrics APIService as found: whether it exists, its
// Service and who that is.
type APIServiceState struct {
	Name    string             `json:"name"`
	Present bool               `json:"present"`
	Service string             `json:"service,omitempty"`
	Backend apiservice.Backend `json:"backend,omitempty"`
}

// HPAUse is what one HPA reads from the metrics APIs. Resource and
// ContainerResource metrics read metrics.k8s.io, which neither the adapter
// nor KEDA serves and migrate never touches: they count for neither.
type HPAUse struct {
	// Key is namespace/name.
	Key string
	// Custom: a Pods or Object metric (custom.metrics.k8s.io); External: an
	// External metric (external.metrics.k8s.io).
	Custom, External bool
	// KEDAOwned: a ScaledObject controls the HPA, so its External metrics
	// are KEDA's.
	KEDAOwned bool
}

// UsesOf reads what each HPA reads from the metrics APIs.
func UsesOf(hpas []autoscalingv2.HorizontalPodAutoscaler) []HPAUse {
	out := make([]HPAUse, 0, len(hpas))
	for i := range hpas {
		h := &hpas[i]
		u := HPAUse{Key: h.Namespace + "/" + h.Name, KEDAOwned: keda.Owner(h) != ""}
		for _, m := range h.Spec.Metrics {
			switch m.Type {
			case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType:
				u.Custom = true
			case autoscalingv2.ExternalMetricSourceType:
				u.External = true
			}
		}
		out = append(out, u)
	}
	return out
}

// APIServiceAction is what a migration does with a metrics APIService.
type APIServiceAction string

const (
	// APIServiceStays: left as it is.
	APIServiceStays APIServiceAction = "stays"
	// APIServiceMoves: pointed at KEDA's metrics server (created if absent).
	APIServiceMoves APIServiceAction = "moves-to-keda"
	// APIServiceKEDAs: KEDA's metrics server serves it already.
	APIServiceKEDAs APIServiceAction = "already-keda"
	// APIServiceUnneeded: left as it is, because the HPAs migrated now
	// read no External metric from KEDA (cpu and memory triggers only).
	APIServiceUnneeded APIServiceAction = "not-needed"
)

// APIServiceStep is the plan for one APIService: what happens to it, the
// HPAs that keep it where it is, and why.
type APIServiceStep struct {
	APIServiceState `json:",inline"`
	Action          APIServiceAction `json:"action"`
	HeldBy          []string         `json:"heldBy,omitempty"`
	Why             string           `json:"why"`
}

// APIServicePlan is the plan for both metrics APIServices.
type APIServicePlan struct {
	Custom   APIServiceStep `json:"custom"`
	External APIServiceStep `json:"external"`
}

// KEDAUnreachable says whether the migrated HPAs would be left unable to
// read KEDA's values: the external APIService stays elsewhere.
func (p APIServicePlan) KEDAUnreachable() bool { return p.External.Action == APIServiceStays }

// PlanAPIServices decides, for the HPAs in hpas (every HPA of the cluster)
// of which migrating (namespace/name) are migrated now, what becomes of
// the two metrics APIServices. The custom one stays with the adapter (KEDA
// serves no custom metrics), held by the HPAs left reading Pods or Object
// metrics. The external one moves to KEDA when nothing holds it: an HPA
// neither migrated now nor owned by a ScaledObject that reads an External
// metric reads it from the adapter, and would fail once KEDA serves it.
// When every HPA migrated now has Resource or ContainerResource metrics
// only, their ScaledObjects have cpu and memory triggers alone, which KEDA
// serves through no API: the external one is left alone.
func PlanAPIServices(custom, external APIServiceState, hpas []HPAUse, migrating []string) APIServicePlan {
	var customHeld, externalHeld []string
	needsKEDA := len(migrating) == 0
	for _, key := range migrating {
		i := slices.IndexFunc(hpas, func(h HPAUse) bool { return h.Key == key })
		needsKEDA = needsKEDA || i < 0 || hpas[i].Custom || hpas[i].External
	}
	for _, h := range hpas {
		if slices.Contains(migrating, h.Key) {
			continue
		}
		if h.Custom {
			customHeld = append(customHeld, h.Key)
		}
		if h.External && !h.KEDAOwned {
			externalHeld = append(externalHeld, h.Key)
		}
	}
	slices.Sort(customHeld)
	slices.Sort(externalHeld)
	plan := APIServicePlan{Custom: planCustom(custom, customHeld), External: planExternal(external, externalHeld)}
	if !needsKEDA && plan.External.Action != APIServiceKEDAs {
		plan.External.Action, plan.External.HeldBy = APIServiceUnneeded, nil
		plan.External.Why = "left alone: the HPAs migrated read cpu or memory only, from the resource metrics API (metrics.k8s.io), and no External metric from KEDA"
	}
	return plan
}

func planCustom(s APIServiceState, held []string) APIServiceStep {
	step := APIServiceStep{APIServiceState: s, Action: APIServiceStays, HeldBy: held}
	switch {
	case !s.Present && len(held) == 0:
		step.Why = "absent, and no HPA left reads a Pods or Object metric"
	case !s.Present:
		step.Why = "absent, although HPAs read Pods or Object metrics from it: run kubectl metricscale doctor"
	case s.Backend != apiservice.Adapter:
		step.Why = fmt.Sprintf("points at %s, not prometheus-adapter: migrate leaves it alone", s.Service)
	case len(held) > 0:
		step.Why = fmt.Sprintf("stays with the adapter: %d HPA(s) not migrated read Pods or Object metrics from it", len(held))
	default:
		step.Why = "stays with the adapter (KEDA serves no custom metrics); no HPA left reads it: it can go when the adapter is retired"
	}
	return step
}

func planExternal(s APIServiceState, held []string) APIServiceStep {
	step := APIServiceStep{APIServiceState: s, HeldBy: held}
	switch {
	case s.Present && s.Backend == apiservice.KEDA:
		step.Action = APIServiceKEDAs
		step.Why = "KEDA's metrics server serves it already"
		if len(held) > 0 {
			step.Why += fmt.Sprintf("; %d HPA(s) not owned by a ScaledObject read External metrics from it and get none: migrate them too", len(held))
		}
	case !s.Present:
		step.Action = APIServiceMoves
		step.Why = "absent: KEDA's is created, as KEDA's release registers it"
	case s.Backend != apiservice.Adapter:
		step.Action = APIServiceStays
		step.Why = fmt.Sprintf("points at %s, neither prometheus-adapter nor KEDA: migrate does not move it, and the migrated HPAs cannot read KEDA's values until it points at KEDA's metrics server", s.Service)
	case len(held) > 0:
		step.Action = APIServiceStays
		step.Why = fmt.Sprintf("stays with the adapter: HPA(s) %s read External metrics from it and would fail on KEDA's; migrate them in the same run, or pass --force to leave the APIService alone (the migrated HPAs then cannot read KEDA's values)",
			strings.Join(held, ", "))
	default:
		step.Action = APIServiceMoves
		step.Why = "no HPA left reads an External metric from the adapter: it moves to KEDA's metrics server"
	}
	return step
}
