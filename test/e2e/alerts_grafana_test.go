package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/alerts"
	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
	pkgprovision "github.com/metricscale/kubectl-metricscale/pkg/provision"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

// pagedGrafanaURL is the Grafana URL the alerts of TestAlertsOnTheSandbox
// link to (a name only: nothing dials it).
const pagedGrafanaURL = "https://grafana.example.com"

// firingAnnotations are the annotations of the firing alert of that name
// whose labels include want, from Prometheus's alerts API.
func firingAnnotations(ctx context.Context, name, want string) (map[string]string, error) {
	pc, err := promapi.NewClient(promapi.Config{Address: env.info.PrometheusURL})
	if err != nil {
		return nil, err
	}
	res, err := promv1.NewAPI(pc).Alerts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range res.Alerts {
		if string(a.Labels["alertname"]) == name && a.State == promv1.AlertStateFiring && strings.Contains(a.Labels.String(), want) {
			out := map[string]string{}
			for k, v := range a.Annotations {
				out[string(k)] = string(v)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no firing %s with %s among %d alerts", name, want, len(res.Alerts))
}

// pagedToDashboard: the firing alert of hpa (namespace ns) links to the
// chain's dashboard with its HPA chosen; grafana provision --alerts puts
// that dashboard into Grafana (twice: the second run writes nothing), and
// its "Chain alerts" table and annotation, run through Grafana's data
// source proxy on the sandbox's Prometheus, show the alert.
func pagedToDashboard(t *testing.T, alert, ns, hpa string) {
	t.Helper()
	annotations, err := firingAnnotations(context.Background(), alert, `horizontalpodautoscaler="`+hpa+`"`)
	want := dashboards.ChainURL(pagedGrafanaURL, ns, hpa)
	if err != nil || annotations[alerts.AnnotationDashboardURL] != want {
		t.Fatalf("%s's dashboard_url: %v (%v), want %s", alert, annotations, err, want)
	}
	t.Logf("%s of %s/%s links to %s", alert, ns, hpa, want)
	emu, g := emulatedGrafana(t, grafanaemu.ModeV11)
	for i, writes := range []bool{true, false} {
		emu.ResetStats()
		out, errOut, code := runCmd(t, "grafana", "provision", "--alerts", "--datasource-url", env.info.PrometheusURL, "-o", "json")
		st := emu.Stats()
		if code != 0 || (st.Writes > 0) != writes {
			t.Fatalf("grafana provision --alerts, run %d: exit %d, %d writes\n%s%s", i+1, code, st.Writes, out, errOut)
		}
		t.Logf("grafana provision --alerts, run %d: %d reads, %d writes", i+1, st.Reads, st.Writes)
	}
	code, body := grafanaDoAt(t, g, http.MethodGet, "/api/dashboards/uid/"+dashboards.ChainUID, nil)
	if code != http.StatusOK {
		t.Fatalf("the chain dashboard: %d %s", code, body)
	}
	for what, expr := range alertQueries(t, body) {
		rows := proxyQuery(t, g, expr)
		if !strings.Contains(rows, `"alertname":"`+alert+`"`) || !strings.Contains(rows, `"horizontalpodautoscaler":"`+hpa+`"`) {
			t.Errorf("the dashboard's %s (%s) through Grafana: %s; want %s of %s", what, expr, rows, alert, hpa)
			continue
		}
		t.Logf("the dashboard's %s (%s) through Grafana's data source proxy shows %s of %s", what, expr, alert, hpa)
	}
}

// alertQueries are the queries of the chain dashboard's "Chain alerts"
// table and of its annotation of the alerts.
func alertQueries(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var d struct {
		Dashboard struct {
			Annotations struct{ List []struct{ Name, Expr string } }
			Panels      []struct {
				Title   string
				Targets []struct{ Expr string }
			}
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range d.Dashboard.Annotations.List {
		out["annotation "+a.Name] = a.Expr
	}
	for _, p := range d.Dashboard.Panels {
		if p.Title == "Chain alerts" && len(p.Targets) == 1 {
			out["table"] = p.Targets[0].Expr
		}
	}
	if len(out) != 2 {
		t.Fatalf("the chain dashboard has %v; want the alerts' table and annotation", out)
	}
	return out
}

// proxyQuery runs an instant query through Grafana's proxy of the
// provisioned data source, as a panel does, and returns its result.
func proxyQuery(t *testing.T, g grafanaTarget, expr string) string {
	t.Helper()
	path := "/api/datasources/proxy/uid/" + pkgprovision.DefaultDataSourceUID + "/api/v1/query?query=" + url.QueryEscape(expr)
	code, body := grafanaDoAt(t, g, http.MethodGet, path, nil)
	if code != http.StatusOK {
		t.Fatalf("%s through Grafana: %d %s", expr, code, body)
	}
	return string(body)
}
