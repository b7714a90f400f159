package alerts

import (
	"errors"
	"fmt"
	"maps"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// RuleFile is a Prometheus rules file (rule_files), field for field.
type RuleFile struct {
	Groups []Group `json:"groups"`
}

// Group is one rule group of a rules file.
type Group struct {
	Name  string      `json:"name"`
	Rules []RuleEntry `json:"rules"`
}

// RuleEntry is one alerting rule of a group, as Prometheus reads it.
type RuleEntry struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Labels and annotations every rule carries.
const (
	LabelSeverity        = "severity"
	LabelCode            = "metricscale_code"
	AnnotationRunbookURL = "runbook_url"
	AnnotationDoctor     = "doctor"
	// AnnotationDashboardURL is the chain's dashboard for the alert
	// (alerts --grafana-url).
	AnnotationDashboardURL = "dashboard_url"
)

// ChainGroup is the name of the group of ClusterRules.
const ChainGroup = "metricscale-chain"

// NewGroup renders rules as a group.
func NewGroup(name string, rules []Rule) Group {
	g := Group{Name: name, Rules: []RuleEntry{}}
	for _, r := range rules {
		e := RuleEntry{Alert: r.Alert, Expr: r.Expr,
			Labels: map[string]string{LabelSeverity: r.Severity, LabelCode: string(r.Code)},
			Annotations: map[string]string{"summary": r.Summary, "description": r.Description,
				AnnotationRunbookURL: Runbook(r.Code), AnnotationDoctor: r.Doctor}}
		if r.Dashboard != "" {
			e.Annotations[AnnotationDashboardURL] = r.Dashboard
		}
		maps.Copy(e.Labels, r.Labels)
		if r.For > 0 {
			e.For = model.Duration(r.For).String()
		}
		g.Rules = append(g.Rules, e)
	}
	return g
}

// Validate parses f with Prometheus's own rule parser, which checks every
// expression and template, and the names, as Prometheus does on load.
func Validate(f RuleFile) error {
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if _, errs := rulefmt.Parse(b, false); len(errs) > 0 {
		return fmt.Errorf("Prometheus's rule parser refuses the rules: %w", errors.Join(errs...))
	}
	return nil
}

// PrometheusRule is the Prometheus Operator's object holding f: the
// operator writes it into a rules file of every Prometheus whose
// ruleSelector matches its labels.
func PrometheusRule(name, namespace string, labels map[string]string, f RuleFile) (*unstructured.Unstructured, error) {
	b, err := yaml.Marshal(f)
	if err != nil {
		return nil, err
	}
	var spec map[string]any
	if err := yaml.Unmarshal(b, &spec); err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	obj.SetAPIVersion("monitoring.coreos.com/v1")
	obj.SetKind("PrometheusRule")
	obj.SetName(name)
	obj.SetNamespace(namespace)
	obj.SetLabels(labels)
	return obj, nil
}
