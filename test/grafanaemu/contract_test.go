package grafanaemu

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// The provisioned objects the recorded Grafana 7.5 had: a data source (so
// the one created gets id 2) and a dashboard in its own folder (ids 1 and
// 2, so the folder created gets 3 and the dashboard 4).
var recordedProvisioning = Provisioned{
	DataSources: []map[string]any{{"uid": "prom-files", "name": "Prometheus (files)", "type": "prometheus", "access": "proxy", "url": "http://127.0.0.1:19090"}},
	Dashboards: []ProvisionedDashboard{{FolderUID: "metricscale-files", FolderTitle: "metricscale-files",
		Dashboard: map[string]any{"uid": "metricscale-file", "title": "metricscale from file", "tags": []any{"metricscale"}}}},
}

// replayStep is what the test sends for a recorded section, and how the
// answer is held against the recording.
type replayStep struct {
	calls func(c client) []replayCall
	// how: "exact" (same keys, same values but valueFree), "project" (the
	// recorded keys only, elementwise for arrays), "status" (code only),
	// or "check" (check does it: the section records no answer to compare).
	how       string
	valueFree []string
	check     func(t *testing.T, c client)
}

type replayCall struct {
	method, path string
	body         any
	c            *client // another identity than the admin
}

// TestTranscript75 replays the calls recorded from Grafana 7.5 against the
// emulator in 7.5 mode: the status codes and the fields come from the
// transcript itself.
func TestTranscript75(t *testing.T) {
	raw, err := os.ReadFile("testdata/transcript-grafana-7.5-api.txt")
	if err != nil {
		t.Fatal(err)
	}
	sections, err := parseTranscript(raw)
	if err != nil {
		t.Fatal(err)
	}
	recordedProm := sectionValue(t, sections, "datasource proxy query")
	var upstreamPath, upstreamAuth string
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamPath, upstreamAuth = r.URL.Path+"?"+r.URL.RawQuery, r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(jsonText(recordedProm)))
	}))
	defer prom.Close()
	promAddr := strings.TrimPrefix(prom.URL, "http://")

	_, admin := newEmulator(t, Options{Mode: ModeV75, Provisioned: recordedProvisioning,
		Resolve: func(hostPort string) (string, error) {
			if hostPort == "127.0.0.1:19090" { // the recorded data source's URL
				return promAddr, nil
			}
			return hostPort, nil
		}})
	modern := readJSONFile(t, "testdata/modern-dashboard.json")
	v2 := canonical(modern).(map[string]any)
	v2["title"], v2["version"] = "metricscale overview v2", 1
	var apiKey string

	dsBody := map[string]any{"uid": "prom-main", "name": "Prometheus", "type": "prometheus", "access": "proxy",
		"url": "http://127.0.0.1:19090", "isDefault": true, "jsonData": map[string]any{"httpMethod": "POST", "timeInterval": "30s"}}
	dash := func(title string, version any) map[string]any {
		return map[string]any{"dashboard": map[string]any{"uid": "metricscale-overview", "title": title, "tags": []any{"metricscale"}, "version": version},
			"folderId": 3, "folderUid": "metricscale"}
	}
	one := func(method, path string, body any) func(client) []replayCall {
		return func(client) []replayCall { return []replayCall{{method: method, path: path, body: body}} }
	}
	table := map[string]replayStep{
		// The recording's version (5.0.0) and commit are its build's, not 7.5's.
		"health":                {calls: one("GET", "/api/health", nil), how: "exact", valueFree: []string{"version", "commit"}},
		"create datasource":     {calls: one("POST", "/api/datasources", dsBody), how: "exact"},
		"duplicate datasource":  {calls: one("POST", "/api/datasources", dsBody), how: "status"},
		"get datasource by uid": {calls: one("GET", "/api/datasources/uid/prom-main", nil), how: "exact"},
		"create folder":         {calls: one("POST", "/api/folders", map[string]any{"uid": "metricscale", "title": "metricscale"}), how: "exact", valueFree: []string{"created", "updated"}},
		"create dashboard with uid, folderId=3 and folderUid":                                {calls: one("POST", "/api/dashboards/db", dash("metricscale overview", nil)), how: "exact"},
		"update dashboard without overwrite, stale version 0 -> expect 412 version-mismatch": {calls: one("POST", "/api/dashboards/db", dash("metricscale overview", 0)), how: "exact"},
		"update dashboard with current version 1":                                            {calls: one("POST", "/api/dashboards/db", map[string]any{"dashboard": v2, "folderId": 3}), how: "exact"},
		"get dashboard by uid (meta)": {how: "check", check: func(t *testing.T, c client) {
			got := c.mustDo(200, "GET", "/api/dashboards/uid/metricscale-overview", nil)
			if d := diffProjected(got["meta"], sectionValue(t, sections, "get dashboard by uid (meta)")); len(d) > 0 {
				t.Errorf("meta: %v", d)
			}
		}},
		// "identical": what was saved comes back, but for what Grafana sets.
		"round trip: fields lost by server?": {how: "check", check: func(t *testing.T, c client) {
			got := c.mustDo(200, "GET", "/api/dashboards/uid/metricscale-overview", nil)
			want := canonical(v2).(map[string]any)
			want["id"], want["version"] = 4, 2
			if sectionText(t, sections, "round trip: fields lost by server?") != "identical" {
				t.Fatal("the recording no longer says identical")
			}
			if d := diffJSON(got["dashboard"], want); len(d) > 0 {
				t.Errorf("saved and read differ: %v", d)
			}
		}},
		"search":                         {calls: one("GET", "/api/search?query=metricscale&type=dash-db", nil), how: "project"},
		"search by tag":                  {calls: one("GET", "/api/search?tag=metricscale", nil), how: "project"},
		"folders":                        {calls: one("GET", "/api/folders", nil), how: "project"},
		"service account (Grafana >= 9)": {calls: one("POST", "/api/serviceaccounts", map[string]any{"name": "ci", "role": "Admin"}), how: "exact"},
		// The recorded key is redacted: its value is free.
		"api key (Grafana <= 11 legacy)": {how: "check", check: func(t *testing.T, c client) {
			got := c.mustDo(200, "POST", "/api/auth/keys", map[string]any{"name": "ci-24657", "role": "Admin"})
			if d := diffJSON(got, sectionValue(t, sections, "api key (Grafana <= 11 legacy)"), "key"); len(d) > 0 {
				t.Errorf("api key: %v", d)
			}
			apiKey, _ = got["key"].(string)
		}},
		// The recording shows only its script's failure; what it tried was
		// to use the key as a Bearer token.
		"bearer token": {how: "check", check: func(t *testing.T, c client) {
			if apiKey == "" {
				t.Fatal("no API key from the section before")
			}
			c.bearer(apiKey).mustDo(200, "GET", "/api/search?query=metricscale", nil)
			c.bearer(apiKey+"x").mustDo(401, "GET", "/api/search?query=metricscale", nil)
		}},
		"no auth": {calls: func(c client) []replayCall {
			anon := c.anonymous()
			return []replayCall{{method: "GET", path: "/api/search", c: &anon}}
		}, how: "status"},
		"datasource proxy query": {calls: one("GET", "/api/datasources/proxy/uid/prom-main/api/v1/query?query=up", nil), how: "exact"},
		"provisioning reload": {calls: func(client) []replayCall {
			return []replayCall{{method: "POST", path: "/api/admin/provisioning/dashboards/reload"}, {method: "POST", path: "/api/admin/provisioning/datasources/reload"}}
		}, how: "exact"},
	}
	for _, sec := range sections {
		step, ok := table[sec.title]
		if !ok {
			t.Errorf("recorded section %q has no replay in this test", sec.title)
			continue
		}
		delete(table, sec.title)
		t.Run(sec.title, func(t *testing.T) {
			admin := admin
			admin.t = t
			if step.how == "check" {
				step.check(t, admin)
				return
			}
			calls := step.calls(admin)
			wantStatus := sec.status
			if wantStatus == 0 {
				wantStatus = http.StatusOK
			}
			var got []any
			for _, call := range calls {
				c := admin
				if call.c != nil {
					c = *call.c
					c.t = t
				}
				code, v := c.do(call.method, call.path, call.body)
				if code != wantStatus {
					t.Errorf("%s %s: %d, recorded %d: %v", call.method, call.path, code, wantStatus, v)
				}
				got = append(got, v)
			}
			switch step.how {
			case "exact":
				if len(got) != len(sec.values) {
					t.Fatalf("%d answers, recorded %d", len(got), len(sec.values))
				}
				for i := range got {
					if d := diffJSON(got[i], sec.values[i], step.valueFree...); len(d) > 0 {
						t.Errorf("answer %d: %v", i, d)
					}
				}
			case "project":
				// The recording is one value per element, or one array.
				want := sec.values
				if len(want) == 1 {
					if l, ok := want[0].([]any); ok {
						want = l
					}
				}
				list, _ := got[0].([]any)
				if len(list) != len(want) {
					t.Fatalf("%d elements, recorded %d: %v", len(list), len(want), jsonText(list))
				}
				for i := range want {
					if d := diffProjected(list[i], want[i]); len(d) > 0 {
						t.Errorf("element %d: %v", i, d)
					}
				}
			}
		})
	}
	for title := range table {
		t.Errorf("replay %q matches no recorded section", title)
	}
	if upstreamPath != "/api/v1/query?query=up" || upstreamAuth != "" {
		t.Errorf("the proxy sent %q with Authorization %q to Prometheus, want /api/v1/query?query=up and none", upstreamPath, upstreamAuth)
	}
}

func sectionValue(t *testing.T, sections []transcriptSection, title string) any {
	t.Helper()
	for _, s := range sections {
		if s.title == title && len(s.values) == 1 {
			return s.values[0]
		}
	}
	t.Fatalf("no section %q with one value", title)
	return nil
}

func sectionText(t *testing.T, sections []transcriptSection, title string) string {
	t.Helper()
	for _, s := range sections {
		if s.title == title {
			return s.text
		}
	}
	t.Fatalf("no section %q", title)
	return ""
}
