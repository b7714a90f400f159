package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// Options shape the dashboards beyond what is shipped.
type Options struct {
	// Alerts, when set, links the dashboards to the chain's alerts.
	Alerts *Alerts
}

// Alerts are alerting rules' alerts as Prometheus records them in its
// ALERTS series: which of them are the chain's, and the label naming each
// one's doctor check. The dashboards draw them from Prometheus, whoever
// evaluates the rules, on every Grafana version.
type Alerts struct {
	// Selector is the label matcher of the chain's alerts, e.g.
	// metricscale_code!="".
	Selector string
	// CodeLabel is the label that names the doctor check of an alert.
	CodeLabel string
}

// ChainURL is the "Autoscaling chain" dashboard under Grafana's base URL,
// with its namespace and HPA variables set when given; they are written as
// given, unescaped, so that a template (an alert's {{ $labels.namespace }})
// stays one.
func ChainURL(grafanaURL, namespace, hpa string) string {
	u := strings.TrimSuffix(grafanaURL, "/") + "/d/" + ChainUID
	var vars []string
	if namespace != "" {
		vars = append(vars, "var-namespace="+namespace)
	}
	if hpa != "" {
		vars = append(vars, "var-hpa="+hpa)
	}
	if len(vars) == 0 {
		return u
	}
	return u + "?" + strings.Join(vars, "&")
}

// alertLabels are the labels of the chain's alerts worth a column or a tag,
// after the alert's name and its code: what is in trouble.
var alertLabels = []string{"severity", "namespace", "horizontalpodautoscaler", "deployment", "name", "instance"}

// series is the ALERTS series of the chain's alerts, of one state or any.
func (a *Alerts) series(state string) string {
	if state == "" {
		return "ALERTS{" + a.Selector + "}"
	}
	return fmt.Sprintf(`ALERTS{%s, alertstate="%s"}`, a.Selector, state)
}

// withAlerts adds to a dashboard the annotation of the chain's alerts,
// when there are alerts to link to.
func withAlerts(b *dashboard.DashboardBuilder, a *Alerts) *dashboard.DashboardBuilder {
	if a == nil {
		return b
	}
	return b.Annotation(a.annotation())
}

// annotation marks on every graph when one of the chain's alerts fired.
func (a *Alerts) annotation() *dashboard.AnnotationQueryBuilder {
	return dashboard.NewAnnotationQueryBuilder().
		Name("metricscale alerts").
		Datasource(datasource()).
		Enable(true).
		IconColor("red").
		Expr(a.series("firing")).
		Step("60s").
		TitleFormat("{{alertname}}").
		TextFormat("doctor check {{" + a.CodeLabel + "}}").
		TagKeys(strings.Join(append([]string{a.CodeLabel}, alertLabels...), ","))
}

// table lists the chain's alerts firing or pending now, one row each; a
// row's link opens the rule in Grafana's alerting view, where its runbook
// and doctor command are.
func (a *Alerts) table() *table.PanelBuilder {
	columns := append([]string{"alertname", "alertstate", a.CodeLabel}, alertLabels...)
	order := map[string]int{}
	for i, c := range columns {
		order[c] = i
	}
	return table.NewPanelBuilder().
		Title("Chain alerts").
		Description("The alerts of kubectl metricscale alerts that are firing or pending, from Prometheus's ALERTS series. The code is the doctor check that explains the cause.").
		Datasource(datasource()).
		Height(6).Span(24).
		NoValue("no chain alert firing or pending").
		WithTarget(query("A", a.series(""), "").Instant().Format(prometheus.PromQueryFormatTable)).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{"Time": true, "Value": true, "__name__": true},
			"indexByName":   order,
		}}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			dashboard.NewDashboardLinkBuilder("The rule in Grafana's alerting (runbook, doctor command)").
				Url("/alerting/list?search=${__data.fields.alertname}"),
		})
}
