package decision

import (
	"errors"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// propose follows horizontal.go computeReplicasForMetric and the
// computeStatusFor*Metric functions: one metric's proposal.
func propose(spec autoscalingv2.MetricSpec, r Reading, in Input, cfg Config) MetricProposal {
	p := MetricProposal{Name: ControllerName(spec)}
	if r.Err != nil {
		p.Err = r.Err
		return p
	}
	switch spec.Type {
	case autoscalingv2.PodsMetricSourceType:
		if spec.Pods == nil || spec.Pods.Target.AverageValue == nil {
			p.Err = errors.New("invalid pods metric source: no average value target")
			return p
		}
		p.fromPods(plainMetricReplicas(r.Pods, in.SpecReplicas, spec.Pods.Target.AverageValue.MilliValue(), in.Pods, "", cfg, in.Now))
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			p.Err = errors.New("invalid resource metric source: no resource")
			return p
		}
		p.resource(spec.Resource.Name, "", spec.Resource.Target, r, in, cfg)
	case autoscalingv2.ContainerResourceMetricSourceType:
		if spec.ContainerResource == nil {
			p.Err = errors.New("invalid container resource metric source: no resource")
			return p
		}
		p.resource(spec.ContainerResource.Name, spec.ContainerResource.Container, spec.ContainerResource.Target, r, in, cfg)
	case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
		p.single(spec, r, in, cfg)
	default:
		p.Err = fmt.Errorf("unknown metric source type %q", string(spec.Type))
	}
	return p
}

// resource follows horizontal.go computeStatusForResourceMetricGeneric:
// an AverageValue target is a plain per-pod metric, a Utilization target
// is against the pods' requests.
func (p *MetricProposal) resource(name corev1.ResourceName, container string, target autoscalingv2.MetricTarget, r Reading, in Input, cfg Config) {
	switch {
	case target.AverageValue != nil:
		p.fromPods(plainMetricReplicas(r.Pods, in.SpecReplicas, target.AverageValue.MilliValue(), in.Pods, name, cfg, in.Now))
	case target.AverageUtilization != nil:
		p.fromPods(resourceUtilizationReplicas(r.Pods, in.SpecReplicas, *target.AverageUtilization, in.Pods, name, container, cfg, in.Now))
		p.Percent = true
	default:
		p.Err = fmt.Errorf("invalid resource metric source: neither a utilization target nor a value target was set")
	}
}

func (p *MetricProposal) fromPods(pp podsProposal, err error) {
	p.Replicas, p.Ratio, p.NewRatio, p.Usage, p.Raw = pp.replicas, pp.ratio, pp.newRatio, pp.usage, pp.raw
	g := pp.groups
	p.Groups, p.MissingAs, p.UnreadyAs, p.Rule, p.Err = &g, pp.missingAs, pp.unreadyAs, pp.rule, err
}

// single is an Object or External metric: one value against a Value or an
// AverageValue target.
func (p *MetricProposal) single(spec autoscalingv2.MetricSpec, r Reading, in Input, cfg Config) {
	target := objectOrExternalTarget(spec)
	if target == nil {
		p.Err = fmt.Errorf("invalid %s metric source: neither a value target nor an average value target was set", kindWord(spec))
		return
	}
	// computeStatusForObjectMetric tests Value first; the External one
	// AverageValue first.
	useValue := target.Value != nil && (spec.Type == autoscalingv2.ObjectMetricSourceType || target.AverageValue == nil)
	if spec.Type == autoscalingv2.ObjectMetricSourceType && target.Type != autoscalingv2.ValueMetricType {
		useValue = false
	}
	if useValue {
		p.Usage = r.Value
		p.Ratio = float64(r.Value) / float64(target.Value.MilliValue())
		p.Replicas, p.Rule, p.Err = valueReplicas(in.SpecReplicas, p.Ratio, in.Pods, cfg.Tolerance)
		return
	}
	if target.AverageValue == nil {
		p.Err = fmt.Errorf("invalid %s metric source: neither a value target nor an average value target was set", kindWord(spec))
		return
	}
	p.Replicas, p.Ratio, p.Usage, p.Rule = perPodReplicas(in.StatusReplicas, r.Value, target.AverageValue.MilliValue(), cfg.Tolerance)
}

func objectOrExternalTarget(spec autoscalingv2.MetricSpec) *autoscalingv2.MetricTarget {
	switch {
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		return &spec.Object.Target
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		return &spec.External.Target
	}
	return nil
}

func kindWord(spec autoscalingv2.MetricSpec) string {
	if spec.Type == autoscalingv2.ObjectMetricSourceType {
		return "object"
	}
	return "external"
}

// ControllerName is how the controller names a metric in its ScalingActive
// condition and rescale events (the computeStatusFor*Metric functions).
func ControllerName(spec autoscalingv2.MetricSpec) string {
	switch {
	case spec.Pods != nil:
		return "pods metric " + spec.Pods.Metric.Name
	case spec.Resource != nil:
		return fmt.Sprintf("%s resource", spec.Resource.Name)
	case spec.ContainerResource != nil:
		return fmt.Sprintf("%s container resource", spec.ContainerResource.Name)
	case spec.Object != nil && spec.Object.Target.Type == autoscalingv2.ValueMetricType:
		return fmt.Sprintf("%s metric %s", spec.Object.DescribedObject.Kind, spec.Object.Metric.Name)
	case spec.Object != nil:
		return fmt.Sprintf("external metric %s(%+v)", spec.Object.Metric.Name, spec.Object.Metric.Selector)
	case spec.External != nil:
		return fmt.Sprintf("external metric %s(%+v)", spec.External.Metric.Name, spec.External.Metric.Selector)
	}
	return string(spec.Type)
}
