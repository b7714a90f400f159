package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

// grafanaGet GETs path from Grafana at base as the sandbox's admin and
// decodes the JSON answer into v.
func grafanaGet(t *testing.T, base, path string, v any) {
	t.Helper()
	pass, err := env.info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	if err := grafanaAs(grafanaTarget{base, env.info.GrafanaUser, pass}, path, v); err != nil {
		t.Fatal(err)
	}
}

// grafanaAs GETs path from g as its admin and decodes the JSON into v.
func grafanaAs(g grafanaTarget, path string, v any) error {
	return grafanaemu.Get(g.url, g.user, g.password, path, v)
}

// panelQueries are the PromQL expressions of every panel of a dashboard
// (rows' panels included), by panel title.
func panelQueries(dash map[string]any) map[string][]string {
	out := map[string][]string{}
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			pm, _ := p.(map[string]any)
			if pm == nil {
				continue
			}
			title, _ := pm["title"].(string)
			targets, _ := pm["targets"].([]any)
			for _, tg := range targets {
				if expr, _ := tg.(map[string]any)["expr"].(string); expr != "" {
					out[title] = append(out[title], expr)
				}
			}
			if nested, ok := pm["panels"].([]any); ok {
				walk(nested)
			}
		}
	}
	panels, _ := dash["panels"].([]any)
	walk(panels)
	return out
}

// withVariables sets a dashboard query's variables as Grafana would for
// the Interlok HPA.
func withVariables(expr string) string {
	return strings.NewReplacer(
		"${namespace}", "default", "$namespace", "default",
		"${hpa}", "interlok-autoscaler", "$hpa", "interlok-autoscaler",
		"${__rate_interval}", "1m", "$__rate_interval", "1m",
		"${__interval}", "15s", "$__interval", "15s",
		"${__range}", "5m", "$__range", "5m",
	).Replace(expr)
}

// provision runs grafana provision against the sandbox's Grafana with the
// admin's credentials from the environment, as the sandbox's env file sets
// them.
func provision(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	pass, err := env.info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GRAFANA_URL", env.info.GrafanaURL)
	t.Setenv("GRAFANA_USER", env.info.GrafanaUser)
	t.Setenv("GRAFANA_PASSWORD", pass)
	t.Setenv("GRAFANA_TOKEN", "")
	out, errOut, code := runCmd(t, append([]string{"grafana", "provision"}, args...)...)
	t.Logf("$ kubectl metricscale grafana provision %s (exit %d)\n%s%s", strings.Join(args, " "), code, out, errOut)
	if strings.Contains(out+errOut, pass) {
		t.Fatal("the output shows the Grafana password")
	}
	return out, errOut, code
}

type provisionOutput struct {
	Actions []struct {
		Object, UID, Kind, Action, Folder, Reason string
	} `json:"actions"`
	Requests struct{ Reads, Writes int } `json:"requests"`
}

func parseProvision(t *testing.T, out string) provisionOutput {
	t.Helper()
	var p provisionOutput
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("provision -o json: %v\n%s", err, out)
	}
	return p
}

// TestGrafanaProvision: on the Interlok chain, provision writes the data
// source the adapter reads, the folder, the shipped dashboards and the
// --from-cluster one into the sandbox's Grafana (an emulator of its HTTP
// API); every panel query, with the variables set to the Interlok HPA, run
// through Grafana's data source proxy against the real Prometheus returns
// series; a second run writes nothing; a changed HPA target updates exactly
// the --from-cluster dashboard; refused credentials exit 2 and write nothing.
func TestGrafanaProvision(t *testing.T) {
	needSandbox(t)
	healthyInterlok(t, 100)
	ctx := context.Background()

	out, _, code := provision(t, "-n", "default", "--from-cluster")
	if code != 0 {
		t.Fatalf("provision: exit %d", code)
	}
	for _, want := range []string{"Prometheus (prometheus-adapter)  datasource  created", "Autoscaling chain", "HPA metrics", "Autoscaling"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the table lacks %q", want)
		}
	}

	// Every panel query returns series through Grafana's data source proxy.
	var search []struct{ UID, Title string }
	grafanaGet(t, env.info.GrafanaURL, "/api/search?type=dash-db&query=", &search)
	// prometheus-adapter v0.12.0 registers its Prometheus client's latency
	// histogram only when its config has resourceRules (it serves the
	// resource metrics API then); the sandbox's config has none.
	const needsResourceRules = "prometheus_adapter_prometheus_client_request_duration_seconds"
	checked, empty := 0, 0
	for _, d := range search {
		var got struct{ Dashboard map[string]any }
		grafanaGet(t, env.info.GrafanaURL, "/api/dashboards/uid/"+d.UID, &got)
		for title, exprs := range panelQueries(got.Dashboard) {
			for _, expr := range exprs {
				q := withVariables(expr)
				if strings.Contains(q, needsResourceRules) {
					t.Logf("%s / %s: not checked, the sandbox's adapter has no resourceRules: %s", d.Title, title, q)
					empty++
					continue
				}
				var res struct {
					Status string
					Data   struct{ Result []json.RawMessage }
				}
				eventually(t, time.Minute, fmt.Sprintf("%s / %s returns series", d.Title, title), func(ctx context.Context) error {
					grafanaGet(t, env.info.GrafanaURL, "/api/datasources/proxy/uid/metricscale-prometheus/api/v1/query?query="+url.QueryEscape(q), &res)
					if res.Status != "success" || len(res.Data.Result) == 0 {
						return fmt.Errorf("%s: %d series", q, len(res.Data.Result))
					}
					return nil
				})
				t.Logf("%s / %s: %d series from %s", d.Title, title, len(res.Data.Result), q)
				checked++
			}
		}
	}
	if checked == 0 || empty > 2 {
		t.Fatalf("%d panel queries checked, %d not checked", checked, empty)
	}

	// A second run writes nothing.
	out, _, code = provision(t, "-n", "default", "--from-cluster", "-o", "json")
	second := parseProvision(t, out)
	if code != 0 || second.Requests.Writes != 0 {
		t.Fatalf("second run: exit %d, %d writes", code, second.Requests.Writes)
	}
	for _, a := range second.Actions {
		if a.Action != "unchanged" {
			t.Fatalf("second run: %s %s %s", a.Kind, a.Object, a.Action)
		}
	}

	// A changed target changes exactly the --from-cluster dashboard.
	patch := `[{"op":"replace","path":"/spec/metrics/0/pods/target/averageValue","value":"120"}]`
	if _, err := env.client.AutoscalingV2().HorizontalPodAutoscalers("default").Patch(ctx, "interlok-autoscaler", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var before struct{ Meta struct{ Version int } }
	grafanaGet(t, env.info.GrafanaURL, "/api/dashboards/uid/metricscale-hpa-metrics", &before)
	// --dry-run shows the change in a line and writes nothing; --diff shows its JSON.
	out, _, code = provision(t, "-n", "default", "--from-cluster", "--dry-run")
	if code != 0 || !strings.Contains(out, "would be updated") || !strings.Contains(out, "dry run, nothing written") ||
		!regexp.MustCompile(`: panels: 0 added, [1-9]\d* changed \([^)]+\), 0 removed`).MatchString(out) ||
		strings.Contains(out, "+++ ") || !strings.Contains(out, " 0 writes)") {
		t.Fatalf("--dry-run: exit %d, want the update summarised in a line and 0 writes:\n%s", code, out)
	}
	out, _, code = provision(t, "-n", "default", "--from-cluster", "--dry-run", "--diff")
	if code != 0 || !strings.Contains(out, "+++ desired/dashboards/metricscale-hpa-metrics.json") || !strings.Contains(out, " 0 writes)") {
		t.Fatalf("--dry-run --diff: exit %d, want the update shown with its diff and 0 writes:\n%s", code, out)
	}
	out, _, code = provision(t, "-n", "default", "--from-cluster", "-o", "json")
	third := parseProvision(t, out)
	var after struct{ Meta struct{ Version int } }
	grafanaGet(t, env.info.GrafanaURL, "/api/dashboards/uid/metricscale-hpa-metrics", &after)
	for _, a := range third.Actions {
		want := "unchanged"
		if a.UID == "metricscale-hpa-metrics" {
			want = "updated"
		}
		if a.Action != want {
			t.Fatalf("after the target change: %s %s %s, want %s", a.Kind, a.Object, a.Action, want)
		}
	}
	if code != 0 || third.Requests.Writes != 1 || after.Meta.Version != before.Meta.Version+1 {
		t.Fatalf("after the target change: exit %d, %d writes, version %d → %d", code, third.Requests.Writes, before.Meta.Version, after.Meta.Version)
	}

	// Refused credentials: exit 2 with the reason, nothing written.
	t.Setenv("GRAFANA_TOKEN", "not-a-token")
	_, errOut, code := runCmd(t, "grafana", "provision", "-n", "default")
	if code != 2 || !strings.Contains(errOut, "service-account token") || !strings.Contains(errOut, "401") || strings.Contains(errOut, "not-a-token") {
		t.Fatalf("a refused token: exit %d\n%s", code, errOut)
	}
}

// TestGrafanaProvisionOtherGrafanas: a Grafana whose data source of the
// same uid comes from provisioning files skips it (exit 1) and still
// provisions the rest; a Grafana 7.5 (folderId only) gets the dashboards in
// the folder. Both are emulators started by the test, their data source
// proxy reaching the sandbox's Prometheus.
func TestGrafanaProvisionOtherGrafanas(t *testing.T) {
	needSandbox(t)
	start := func(opts grafanaemu.Options) string {
		opts.AdminUser, opts.AdminPassword = "admin", "e2e-admin-password"
		srv := httptest.NewServer(grafanaemu.New(opts))
		t.Cleanup(srv.Close)
		t.Setenv("GRAFANA_URL", srv.URL)
		t.Setenv("GRAFANA_USER", "admin")
		t.Setenv("GRAFANA_PASSWORD", "e2e-admin-password")
		t.Setenv("GRAFANA_TOKEN", "")
		return srv.URL
	}

	start(grafanaemu.Options{Provisioned: grafanaemu.Provisioned{DataSources: []map[string]any{{
		"uid": "metricscale-prometheus", "name": "Prometheus (from files)", "type": "prometheus", "url": "http://prometheus.example:9090", "access": "proxy"}}}})
	out, errOut, code := runCmd(t, "grafana", "provision", "-o", "json")
	t.Logf("read-only data source (exit %d):\n%s%s", code, out, errOut)
	p := parseProvision(t, out)
	if code != 1 || len(p.Actions) == 0 || p.Actions[0].Kind != "datasource" || p.Actions[0].Action != "skipped" {
		t.Fatalf("the read-only data source must be skipped with exit 1: exit %d, %+v", code, p.Actions)
	}
	for _, a := range p.Actions[1:] {
		if a.Action != "created" {
			t.Fatalf("%s %s %s, want created", a.Kind, a.Object, a.Action)
		}
	}

	base := start(grafanaemu.Options{Mode: grafanaemu.ModeV75})
	out, errOut, code = runCmd(t, "grafana", "provision", "-o", "json")
	t.Logf("Grafana 7.5 (exit %d):\n%s%s", code, out, errOut)
	if code != 0 {
		t.Fatalf("Grafana 7.5: exit %d", code)
	}
	var search []struct {
		UID       string
		FolderUID string `json:"folderUid"`
		FolderID  int    `json:"folderId"`
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/search?type=dash-db", nil)
	req.SetBasicAuth("admin", "e2e-admin-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&search); err != nil {
		t.Fatal(err)
	}
	if len(search) == 0 {
		t.Fatal("Grafana 7.5 has no dashboard")
	}
	for _, d := range search {
		if d.FolderID == 0 {
			t.Fatalf("Grafana 7.5: dashboard %s is in General, not in the folder", d.UID)
		}
	}
}
