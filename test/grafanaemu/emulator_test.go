package grafanaemu

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCurrentRules walks current Grafana's rules, one call after another
// on one emulator; each step names the rule it checks.
func TestCurrentRules(t *testing.T) {
	_, admin := newEmulator(t, Options{
		Tokens: map[string]Role{"viewer-token": RoleViewer, "editor-token": RoleEditor},
		Provisioned: Provisioned{
			DataSources: []map[string]any{{"uid": "prov-ds", "name": "Provisioned", "type": "prometheus", "url": "http://127.0.0.1:1"}},
			Dashboards:  []ProvisionedDashboard{{FolderUID: "files", Dashboard: map[string]any{"uid": "prov-dash", "title": "From file"}}},
		},
	})
	viewer, editor := admin.bearer("viewer-token"), admin.bearer("editor-token")
	long := strings.Repeat("u", 41)
	steps := []struct {
		rule         string
		c            client
		method, path string
		body         any
		want         int
		wantFields   map[string]any // projected onto the answer
	}{
		{"health needs no credentials", admin.anonymous(), "GET", "/api/health", nil, 200, map[string]any{"database": "ok", "version": "11.6.0"}},
		{"wrong password is 401", admin.bearer("nope"), "GET", "/api/folders", nil, 401, nil},
		{"a viewer may not write", viewer, "POST", "/api/folders", map[string]any{"title": "x"}, 403, nil},
		{"an editor may not add data sources", editor, "POST", "/api/datasources", map[string]any{"name": "x"}, 403, nil},
		{"folder create", editor, "POST", "/api/folders", map[string]any{"uid": "a", "title": "A"}, 200, map[string]any{"uid": "a", "version": 1}},
		{"folder exists: 409", admin, "POST", "/api/folders", map[string]any{"uid": "a", "title": "A again"}, 409, nil},
		{"nested folder", admin, "POST", "/api/folders", map[string]any{"uid": "b", "title": "B", "parentUid": "a"}, 200, map[string]any{"parentUid": "a"}},
		{"parent must exist", admin, "POST", "/api/folders", map[string]any{"uid": "c", "title": "C", "parentUid": "zz"}, 404, nil},
		{"folder PUT without version or overwrite: 412", admin, "PUT", "/api/folders/a", map[string]any{"title": "A2"}, 412, map[string]any{"status": "version-mismatch"}},
		{"folder PUT with a stale version: 412", admin, "PUT", "/api/folders/a", map[string]any{"title": "A2", "version": 7}, 412, nil},
		{"folder PUT with the version", admin, "PUT", "/api/folders/a", map[string]any{"title": "A2", "version": 1}, 200, map[string]any{"title": "A2", "version": 2}},
		{"folder PUT with overwrite", admin, "PUT", "/api/folders/a", map[string]any{"title": "A", "overwrite": true}, 200, map[string]any{"version": 3}},
		{"dashboard without title: 400", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d"}}, 400, map[string]any{"status": "empty-name"}},
		{"uid over 40 characters: 400", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": long, "title": "T"}}, 400, nil},
		{"folderUid wins over folderId", editor, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d", "title": "D"}, "folderUid": "b", "folderId": 1}, 200, map[string]any{"folderUid": "b", "version": 1}},
		{"stale version without overwrite: 412", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d", "title": "D"}, "folderUid": "b"}, 412, map[string]any{"status": "version-mismatch"}},
		{"an update naming no folder moves to General", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d", "title": "D", "version": 1}}, 200, map[string]any{"folderUid": "", "version": 2}},
		{"overwrite ignores the version", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d", "title": "D"}, "folderUid": "a", "overwrite": true}, 200, map[string]any{"folderUid": "a", "version": 3}},
		{"same title twice is allowed since 11.3", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d2", "title": "D", "tags": []any{"t"}}, "folderUid": "a"}, 200, nil},
		{"unknown folderUid: 400", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "d3", "title": "D3"}, "folderUid": "zz"}, 400, nil},
		{"provisioned dashboard cannot be saved", admin, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "prov-dash", "title": "X"}, "overwrite": true}, 400, map[string]any{"message": "Cannot save provisioned dashboard"}},
		{"provisioned dashboard cannot be deleted", admin, "DELETE", "/api/dashboards/uid/prov-dash", nil, 400, nil},
		{"get by uid carries folder meta", viewer, "GET", "/api/dashboards/uid/prov-dash", nil, 200, nil},
		{"read-only data source cannot be updated", admin, "PUT", "/api/datasources/uid/prov-ds", map[string]any{"name": "Provisioned"}, 403, map[string]any{"message": "Cannot update read-only data source"}},
		{"read-only data source cannot be deleted", admin, "DELETE", "/api/datasources/uid/prov-ds", nil, 403, nil},
		{"data source create", admin, "POST", "/api/datasources", map[string]any{"uid": "p", "name": "P", "type": "prometheus", "url": "http://127.0.0.1:1", "secureJsonData": map[string]any{"httpHeaderValue1": "hidden"}}, 200, map[string]any{"id": 2}},
		{"same uid: 409", admin, "POST", "/api/datasources", map[string]any{"uid": "p", "name": "Q"}, 409, nil},
		{"same name: 409", admin, "POST", "/api/datasources", map[string]any{"uid": "q", "name": "P"}, 409, nil},
		{"stale data source version: 409", admin, "PUT", "/api/datasources/uid/p", map[string]any{"name": "P", "version": 5}, 409, nil},
		{"data source update", admin, "PUT", "/api/datasources/uid/p", map[string]any{"name": "P", "type": "prometheus", "version": 1}, 200, nil},
		{"missing data source: 404", admin, "GET", "/api/datasources/uid/zz", nil, 404, nil},
		{"API keys are gone", admin, "POST", "/api/auth/keys", map[string]any{"name": "k", "role": "Admin"}, 404, nil},
	}
	for _, s := range steps {
		code, v := s.c.do(s.method, s.path, s.body)
		if code != s.want {
			t.Errorf("%s: %s %s = %d, want %d: %v", s.rule, s.method, s.path, code, s.want, v)
			continue
		}
		if d := diffProjected(v, s.wantFields); len(d) > 0 {
			t.Errorf("%s: %v", s.rule, d)
		}
	}

	ds := admin.mustDo(200, "GET", "/api/datasources/uid/p", nil)
	if d := diffProjected(ds, map[string]any{"version": 2, "secureJsonFields": map[string]any{"httpHeaderValue1": true}}); len(d) > 0 || ds["secureJsonData"] != nil {
		t.Errorf("data source after update: %v (secureJsonData %v must not come back)", d, ds["secureJsonData"])
	}
	meta := admin.mustDo(200, "GET", "/api/dashboards/uid/prov-dash", nil)["meta"]
	if d := diffProjected(meta, map[string]any{"provisioned": true, "folderUid": "files", "folderTitle": "files"}); len(d) > 0 {
		t.Errorf("provisioned dashboard meta: %v", d)
	}
	_, roots := admin.do("GET", "/api/folders", nil)
	_, children := admin.do("GET", "/api/folders?parentUid=a", nil)
	if got := uids(roots) + " / " + uids(children); got != "a,files / b" {
		t.Errorf("folders: root and children of a = %s, want a,files / b", got)
	}
}

// uids joins the uid of each element of a list answer.
func uids(v any) string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, e.(map[string]any)["uid"].(string))
	}
	return strings.Join(out, ",")
}

func TestSearchFilters(t *testing.T) {
	for _, mode := range []Mode{ModeCurrent, ModeV75} {
		_, c := newEmulator(t, Options{Mode: mode})
		c.mustDo(200, "POST", "/api/folders", map[string]any{"uid": "f", "title": "F"})
		c.mustDo(200, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "in-f", "title": "Alpha", "tags": []any{"x", "y"}}, "folderUid": "f", "folderId": 1})
		c.mustDo(200, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "root", "title": "Beta", "tags": []any{"x"}}})
		tests := []struct {
			query string
			want  map[Mode]string
		}{
			{"", map[Mode]string{ModeCurrent: "f,in-f,root", ModeV75: "f,in-f,root"}},
			{"query=alp", map[Mode]string{ModeCurrent: "in-f", ModeV75: "in-f"}},
			{"tag=x&tag=y", map[Mode]string{ModeCurrent: "in-f", ModeV75: "in-f"}},
			{"type=dash-folder", map[Mode]string{ModeCurrent: "f", ModeV75: "f"}},
			{"dashboardUIDs=root", map[Mode]string{ModeCurrent: "root", ModeV75: "root"}},
			{"folderIds=1", map[Mode]string{ModeCurrent: "in-f", ModeV75: "in-f"}},
			// 7.5 does not know folderUIDs and ignores it.
			{"folderUIDs=f&type=dash-db", map[Mode]string{ModeCurrent: "in-f", ModeV75: "in-f,root"}},
			{"folderUIDs=general&type=dash-db", map[Mode]string{ModeCurrent: "root", ModeV75: "in-f,root"}},
		}
		for _, tt := range tests {
			_, v := c.do("GET", "/api/search?"+tt.query, nil)
			if got := uids(v); got != tt.want[mode] {
				t.Errorf("%s: search?%s = %s, want %s", mode, tt.query, got, tt.want[mode])
			}
		}
	}
}

// TestFolderIDIgnoredFrom13: Grafana 13 drops folderId on save; 11 and 12
// still take it when folderUid is empty.
func TestFolderIDIgnoredFrom13(t *testing.T) {
	for version, want := range map[string]string{"11.6.0": "f", "13.0.0": ""} {
		_, c := newEmulator(t, Options{Version: version})
		f := c.mustDo(200, "POST", "/api/folders", map[string]any{"uid": "f", "title": "F"})
		got := c.mustDo(200, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"title": "D"}, "folderId": f["id"]})
		if got["folderUid"] != want {
			t.Errorf("%s: saved with folderId only, folderUid %q, want %q", version, got["folderUid"], want)
		}
	}
}

// TestRoundTripAndVersions: the modern dashboard comes back JSON-equal but
// for id, uid and version, which go up by one per save.
func TestRoundTripAndVersions(t *testing.T) {
	_, c := newEmulator(t, Options{})
	body := readJSONFile(t, "testdata/modern-dashboard.json")
	for want := 1; want <= 3; want++ {
		got := c.mustDo(200, "POST", "/api/dashboards/db", map[string]any{"dashboard": body, "overwrite": true, "message": "v"})
		if d := diffProjected(got, map[string]any{"version": want, "uid": "metricscale-overview", "id": 1}); len(d) > 0 {
			t.Fatalf("save %d: %v", want, d)
		}
	}
	got := c.mustDo(200, "GET", "/api/dashboards/uid/metricscale-overview", nil)
	want := canonical(body).(map[string]any)
	want["id"], want["version"] = 1, 3
	if d := diffJSON(got["dashboard"], want); len(d) > 0 {
		t.Errorf("round trip: %v", d)
	}
}

func TestStatsCountWrites(t *testing.T) {
	s, c := newEmulator(t, Options{})
	run := func() {
		_, v := c.do("GET", "/api/folders/f", nil)
		if m, _ := v.(map[string]any); m["uid"] != "f" {
			c.mustDo(200, "POST", "/api/folders", map[string]any{"uid": "f", "title": "F"})
		}
	}
	run()
	if st := s.Stats(); st.Writes != 1 || st.Reads != 1 || st.ByRoute["POST /api/folders"] != 1 {
		t.Fatalf("first run: %+v", st)
	}
	s.ResetStats()
	run()
	got := c.mustDo(200, "GET", "/emulator/stats", nil)
	if d := diffProjected(got, map[string]any{"writes": 0, "reads": 1, "byRoute": map[string]any{"GET /api/folders/{uid}": 1}}); len(d) > 0 {
		t.Errorf("second run: %v", d)
	}
}

func TestServiceAccountTokens(t *testing.T) {
	_, c := newEmulator(t, Options{})
	sa := c.mustDo(201, "POST", "/api/serviceaccounts", map[string]any{"name": "provisioner", "role": "Editor"})
	tok := c.mustDo(200, "POST", "/api/serviceaccounts/"+jsonText(sa["id"])+"/tokens", map[string]any{"name": "t"})
	key, _ := tok["key"].(string)
	if !strings.HasPrefix(key, "glsa_") {
		t.Fatalf("token %v", tok)
	}
	c.bearer(key).mustDo(200, "POST", "/api/folders", map[string]any{"title": "F"})
	c.bearer(key).mustDo(403, "POST", "/api/datasources", map[string]any{"name": "x"})
}

func TestProxy(t *testing.T) {
	var seen *http.Request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		_, _ = w.Write([]byte(`{"status":"success"}`))
	}))
	defer upstream.Close()
	addr := strings.TrimPrefix(upstream.URL, "http://")
	_, c := newEmulator(t, Options{Resolve: func(hostPort string) (string, error) {
		if hostPort == "prometheus-server.monitoring.svc:9090" {
			return addr, nil
		}
		return hostPort, nil
	}})
	c.mustDo(200, "POST", "/api/datasources", map[string]any{"uid": "in", "name": "in-cluster", "type": "prometheus", "url": "http://prometheus-server.monitoring.svc:9090/prom"})
	c.mustDo(200, "POST", "/api/datasources", map[string]any{"uid": "out", "name": "elsewhere", "type": "prometheus", "url": "http://192.0.2.1:9090"})
	c.mustDo(200, "POST", "/api/datasources/proxy/uid/in/api/v1/query?query=up", nil)
	if seen == nil || seen.URL.Path != "/prom/api/v1/query" || seen.URL.RawQuery != "query=up" || seen.Header.Get("Authorization") != "" {
		t.Fatalf("upstream saw %v", seen)
	}
	c.mustDo(502, "GET", "/api/datasources/proxy/uid/out/api/v1/query", nil)
	c.mustDo(404, "GET", "/api/datasources/proxy/uid/none/api/v1/query", nil)
	c.anonymous().mustDo(401, "GET", "/api/datasources/proxy/uid/in/api/v1/query", nil)
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := New(Options{AdminUser: "a", AdminPassword: "p"})
	if _, err := s.Start(ctx, "0.0.0.0:0"); err == nil {
		t.Error("Start on 0.0.0.0 succeeded")
	}
	base, err := s.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(base + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("health: %d", resp.StatusCode)
	}
}

// A data source is updated by uid from Grafana 9.0 on (grafana/grafana#49396);
// 7.5 serves only the numeric id's route and answers the uid's 404.
func TestDataSourceUpdateRoutes(t *testing.T) {
	for _, tc := range []struct {
		mode     Mode
		wantByID int
		wantUID  int
	}{{ModeV75, 200, 404}, {ModeCurrent, 200, 200}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			_, c := newEmulator(t, Options{Mode: tc.mode})
			code, created := c.do(http.MethodPost, "/api/datasources", map[string]any{"uid": "p", "name": "P", "type": "prometheus", "url": "http://a", "access": "proxy"})
			if code != http.StatusOK {
				t.Fatalf("create: %d %v", code, created)
			}
			id := created.(map[string]any)["id"]
			body := map[string]any{"uid": "p", "name": "P", "type": "prometheus", "url": "http://b", "access": "proxy"}
			if code, got := c.do(http.MethodPut, fmt.Sprintf("/api/datasources/%v", id), body); code != tc.wantByID {
				t.Errorf("PUT by id: %d %v, want %d", code, got, tc.wantByID)
			}
			if code, got := c.do(http.MethodPut, "/api/datasources/uid/p", body); code != tc.wantUID {
				t.Errorf("PUT by uid: %d %v, want %d", code, got, tc.wantUID)
			}
		})
	}
}
