package hpareq

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"

	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Series is the selector of the series the adapter reads to answer the
// request, served by m: the rule's series name with the labels its
// resources map to, the HPA's namespace and the described object, and the
// metric selector's matchers, built with the adapter's own helpers. It is
// not pinned to pods, which come and go; an External metric's is its
// query. Absent, the HPA reads no value.
func (r Request) Series(m *simulate.Metric) (prom.Selector, error) {
	if m == nil || m.Rule == nil || m.Rule.Namer == nil {
		return "", fmt.Errorf("no rule serves %s", r.Metric)
	}
	if r.Type == autoscalingv2.ExternalMetricSourceType {
		return r.Query(m, nil)
	}
	var exprs []string
	if r.Namespace != "" && !r.namespaceMetric() {
		lbl, err := m.Rule.Namer.LabelForResource(naming.NsGroupResource)
		if err != nil {
			return "", err
		}
		exprs = append(exprs, prom.LabelEq(string(lbl), r.Namespace))
	}
	if r.Type == autoscalingv2.ObjectMetricSourceType {
		lbl, err := m.Rule.Namer.LabelForResource(r.Resource)
		if err != nil {
			return "", err
		}
		exprs = append(exprs, prom.LabelEq(string(lbl), r.Name))
	}
	exprs = append(exprs, selectorMatchers(r.MetricSelector)...)
	return prom.MatchSeries(m.SeriesName, exprs...), nil
}

// selectorMatchers are a label selector's requirements as PromQL matchers.
func selectorMatchers(sel labels.Selector) []string {
	if sel == nil {
		return nil
	}
	reqs, _ := sel.Requirements()
	var out []string
	for _, req := range reqs {
		values := req.Values().List()
		switch req.Operator() {
		case selection.Equals, selection.DoubleEquals:
			out = append(out, prom.LabelEq(req.Key(), values[0]))
		case selection.NotEquals:
			out = append(out, prom.LabelNeq(req.Key(), values[0]))
		case selection.In:
			out = append(out, prom.LabelMatches(req.Key(), strings.Join(values, "|")))
		case selection.NotIn:
			out = append(out, prom.LabelNotMatches(req.Key(), strings.Join(values, "|")))
		case selection.Exists:
			out = append(out, prom.LabelNeq(req.Key(), ""))
		case selection.DoesNotExist:
			out = append(out, prom.LabelEq(req.Key(), ""))
		}
	}
	return out
}
