package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceVariable is the dashboard variable every panel and query takes its
// Prometheus data source from. Left alone, Grafana resolves it to the default
// Prometheus data source; the provision command may replace DatasourceUID with
// a concrete data source's uid.
const DatasourceVariable = "DS_PROMETHEUS"

// DatasourceUID is how panels and queries name the data source: the
// variable's reference, the one string a provisioner rewrites.
const DatasourceUID = "${" + DatasourceVariable + "}"

// Dashboard is one built dashboard: its stable uid, its title and its JSON
// (indented, ending in a newline, the bytes written to dashboards/).
type Dashboard struct {
	UID   string
	Title string
	JSON  []byte
}

// FileName is the dashboard's file under dashboards/.
func (d Dashboard) FileName() string { return d.UID + ".json" }

// All builds every dashboard metricscale ships, in a fixed order.
func All() ([]Dashboard, error) { return Build(Options{}) }

// Build builds every dashboard metricscale ships, shaped by o.
func Build(o Options) ([]Dashboard, error) {
	chain, err := build(autoscalingChain(o))
	if err != nil {
		return nil, err
	}
	return []Dashboard{chain}, nil
}

// build runs the dashboard builder and encodes its result.
func build(b *dashboard.DashboardBuilder) (Dashboard, error) {
	board, err := b.Build()
	if err != nil {
		return Dashboard{}, fmt.Errorf("building dashboard: %w", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// PromQL's label matchers (=~, <) stay readable in the committed files.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(board); err != nil {
		return Dashboard{}, fmt.Errorf("encoding dashboard %q: %w", *board.Title, err)
	}
	return Dashboard{UID: *board.Uid, Title: *board.Title, JSON: buf.Bytes()}, nil
}

// newDashboard starts a dashboard with what every metricscale dashboard shares:
// uid, tags, time range, refresh and the data source variable.
func newDashboard(uid, title string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Tags(append([]string{"metricscale"}, tags...)).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		Refresh("30s").
		WithVariable(dashboard.NewDatasourceVariableBuilder(DatasourceVariable).
			Label("Prometheus").
			Type("prometheus"))
}

// datasource is the reference to the data source variable.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(DatasourceUID)}
}

// query is one PromQL target with its legend.
func query(refID, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().
		Datasource(datasource()).
		RefId(refID).
		Expr(expr).
		LegendFormat(legend).
		Range().
		EditorMode(prometheus.QueryEditorModeCode)
}

// timeSeries starts a time series panel on the data source variable, with
// the legend and tooltip every metricscale graph has.
func timeSeries(title string) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Datasource(datasource()).
		Legend(legend()).
		Tooltip(tooltip())
}

// tooltip lists every series at the cursor, highest first.
func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().
		Mode(common.TooltipDisplayModeMulti).
		Sort(common.SortOrderDescending)
}

// legend is the legend every time series panel shows: a table with the last
// and the highest value, so a series' current value reads without hovering.
func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementBottom).
		ShowLegend(true).
		Calcs([]string{"lastNotNull", "max"})
}

// valueText maps a value to a text and a color (a value mapping).
func valueText(options map[string]dashboard.ValueMappingResult) dashboard.ValueMapping {
	return dashboard.ValueMapping{ValueMap: &dashboard.ValueMap{
		Type:    dashboard.MappingTypeValueToText,
		Options: options,
	}}
}

// shown is a mapping result: the text shown and its color.
func shown(text, color string) dashboard.ValueMappingResult {
	return dashboard.ValueMappingResult{Text: cog.ToPtr(text), Color: cog.ToPtr(color)}
}

// dashed draws a series as a dashed line: bounds and targets, not values.
func dashed() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{
		Id:    "custom.lineStyle",
		Value: common.LineStyle{Fill: cog.ToPtr(common.LineStyleFillDash), Dash: []float64{10, 10}},
	}}
}
