package dashboards

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// sampleValues replace the dashboard variables and Grafana's built-in
// intervals in a query before it is parsed, as Grafana does before sending it.
var sampleValues = strings.NewReplacer(
	"$namespace", "default",
	"$hpa", "interlok-autoscaler",
	"$__rate_interval", "5m", // at least four scrape intervals, as Grafana makes it
	"$__interval", "15s",
	"$__range", "1h",
)

// board is the part of a dashboard's JSON the query tests read.
type board struct {
	Panels      []panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name       string `json:"name"`
			Expr       string `json:"expr"`
			Datasource *struct {
				Type string `json:"type"`
				UID  string `json:"uid"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Type       string `json:"type"`
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// every dashboard metricscale writes: the shipped ones and a --from-cluster one.
func everyDashboard(t *testing.T) map[string][]byte {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	boards := map[string][]byte{}
	for _, d := range all {
		boards[d.FileName()] = d.JSON
	}
	fromCluster, err := ChainDashboard(sampleHPAMetrics, Options{})
	if err != nil {
		t.Fatal(err)
	}
	boards["from cluster"] = fromCluster
	withAlerts, err := Build(Options{Alerts: testAlerts})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range withAlerts {
		boards[d.FileName()+" with alerts"] = d.JSON
	}
	if boards["from cluster with alerts"], err = ChainDashboard(sampleHPAMetrics, Options{Alerts: testAlerts}); err != nil {
		t.Fatal(err)
	}
	return boards
}

// testAlerts are the chain's alerts as kubectl metricscale alerts labels them.
var testAlerts = &Alerts{Selector: `metricscale_code!=""`, CodeLabel: "metricscale_code"}

// TestQueriesParse parses every panel query and every variable's series
// selector with Prometheus's own PromQL parser, the variables replaced by
// sample values; a variable the test does not know fails it too.
func TestQueriesParse(t *testing.T) {
	labelValues := regexp.MustCompile(`^label_values\((.+), ([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	for name, raw := range everyDashboard(t) {
		t.Run(name, func(t *testing.T) {
			var b board
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			parse := func(where, query string) {
				expr := sampleValues.Replace(query)
				if strings.Contains(expr, "$") {
					t.Errorf("%s: %q uses a variable this test has no sample value for", where, query)
					return
				}
				if _, err := parser.ParseExpr(expr); err != nil {
					t.Errorf("%s: %q (as %q) does not parse: %v", where, query, expr, err)
				}
			}
			queries := 0
			for _, p := range b.Panels {
				if p.Type == "row" {
					continue
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				for _, target := range p.Targets {
					queries++
					parse("panel "+p.Title, target.Expr)
				}
			}
			for _, a := range b.Annotations.List {
				parse("annotation "+a.Name, a.Expr)
			}
			for _, v := range b.Templating.List {
				if v.Type != "query" {
					continue
				}
				m := labelValues.FindStringSubmatch(v.Definition)
				if m == nil {
					t.Errorf("variable %s: %q is not label_values(series, label)", v.Name, v.Definition)
					continue
				}
				parse("variable "+v.Name, m[1])
			}
			if queries == 0 {
				t.Error("no panel queries found")
			}
		})
	}
}

// TestDatasourceThroughVariable checks that every panel and query names its
// data source through the variable, the one reference a provisioner rewrites.
func TestDatasourceThroughVariable(t *testing.T) {
	for name, raw := range everyDashboard(t) {
		var b board
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		for _, p := range b.Panels {
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != DatasourceUID {
				t.Errorf("%s: panel %q: data source %+v, want prometheus %s", name, p.Title, p.Datasource, DatasourceUID)
			}
			for _, target := range p.Targets {
				if target.Datasource.UID != DatasourceUID {
					t.Errorf("%s: panel %q: query %q: data source uid %q, want %s", name, p.Title, target.Expr, target.Datasource.UID, DatasourceUID)
				}
			}
		}
		for _, a := range b.Annotations.List {
			if a.Datasource == nil || a.Datasource.UID != DatasourceUID {
				t.Errorf("%s: annotation %q: data source %+v, want %s", name, a.Name, a.Datasource, DatasourceUID)
			}
		}
	}
}

// panel is one panel of a board as the query tests read it.
type panel struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []target `json:"targets"`
}

// target is one query of a panel.
type target struct {
	Expr       string `json:"expr"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
}

// withAnnotations are the board's panels and its annotations, each as a
// panel of one query.
func (b board) withAnnotations() []panel {
	out := append([]panel(nil), b.Panels...)
	for _, a := range b.Annotations.List {
		out = append(out, panel{Title: "annotation " + a.Name, Targets: []target{{Expr: a.Expr}}})
	}
	return out
}
