package grafana

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"
)

func mustDecode(t *testing.T, s string) map[string]any {
	t.Helper()
	body, err := decodeDashboard([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestCompareDashboard(t *testing.T) {
	const want = `{"uid":"d","title":"t","schemaVersion":39,"refresh":"30s","panels":[{"id":1,"gridPos":{"h":8}}]}`
	tests := []struct {
		name      string
		live      string
		equal     bool
		diffLines []string
	}{
		{"fields Grafana sets", `{"id":7,"version":3,"iteration":1700000000000,"uid":"d","title":"t","schemaVersion":39,"refresh":"30s","panels":[{"id":1,"gridPos":{"h":8}}]}`, true, nil},
		{"number spelling", `{"uid":"d","title":"t","schemaVersion":39.0,"refresh":"30s","panels":[{"id":1,"gridPos":{"h":8.0}}]}`, true, nil},
		{"schemaVersion raised by Grafana", `{"uid":"d","title":"t","schemaVersion":41,"refresh":"30s","panels":[{"id":1,"gridPos":{"h":8}}]}`, true, nil},
		{"schemaVersion lower", `{"uid":"d","title":"t","schemaVersion":16,"refresh":"30s","panels":[{"id":1,"gridPos":{"h":8}}]}`, false, []string{`-  "schemaVersion": 16`, `+  "schemaVersion": 39`}},
		{"changed by a person", `{"uid":"d","title":"t","schemaVersion":39,"refresh":"5s","panels":[{"id":1,"gridPos":{"h":8}}]}`, false, []string{`-  "refresh": "5s"`, `+  "refresh": "30s"`}},
		{"field added in Grafana", `{"uid":"d","title":"t","schemaVersion":39,"refresh":"30s","panels":[{"id":1,"gridPos":{"h":8}}],"editable":false}`, false, []string{`-  "editable": false`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CompareDashboard(mustDecode(t, tt.live), mustDecode(t, want))
			if got.Equal != tt.equal || (got.Diff == "") != tt.equal {
				t.Fatalf("Equal %v, want %v; diff:\n%s", got.Equal, tt.equal, got.Diff)
			}
			for _, line := range append(tt.diffLines, "--- live/dashboards/d.json", "+++ desired/dashboards/d.json") {
				if !tt.equal && !strings.Contains(got.Diff, line) {
					t.Errorf("diff lacks %q:\n%s", line, got.Diff)
				}
			}
		})
	}
	created := CompareDashboard(nil, mustDecode(t, want))
	if created.Equal || !strings.Contains(created.Diff, `+  "title": "t"`) {
		t.Errorf("against nothing: %+v", created)
	}
}

func TestCompareDataSource(t *testing.T) {
	want := DataSource{UID: "prom", Name: "Prometheus", URL: "http://p:9090", JSONData: map[string]any{"timeInterval": "30s"}}
	live := func(edit func(ds *models.DataSource)) *models.DataSource {
		ds := &models.DataSource{UID: "prom", Name: "Prometheus", Type: "prometheus", URL: "http://p:9090", Access: "proxy",
			JSONData: map[string]any{"timeInterval": "30s"}, ID: 4, Version: 9, OrgID: 1, TypeLogoURL: "x.svg"}
		edit(ds)
		return ds
	}
	tests := []struct {
		name  string
		live  *models.DataSource
		equal bool
		line  string
	}{
		{"same, Grafana's own fields ignored", live(func(*models.DataSource) {}), true, ""},
		{"other jsonData keys ignored", live(func(ds *models.DataSource) { ds.JSONData.(map[string]any)["httpMethod"] = "GET" }), true, ""},
		{"jsonData key differs", live(func(ds *models.DataSource) { ds.JSONData = map[string]any{"timeInterval": "1m"} }), false, `-    "timeInterval": "1m"`},
		{"jsonData key missing", live(func(ds *models.DataSource) { ds.JSONData = nil }), false, `+  "jsonData": {`},
		{"url", live(func(ds *models.DataSource) { ds.URL = "http://old:9090" }), false, `-  "url": "http://old:9090"`},
		{"access", live(func(ds *models.DataSource) { ds.Access = "direct" }), false, `-  "access": "direct"`},
		{"default", live(func(ds *models.DataSource) { ds.IsDefault = true }), false, `-  "isDefault": true`},
		{"name", live(func(ds *models.DataSource) { ds.Name = "Prom" }), false, `-  "name": "Prom"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CompareDataSource(tt.live, want)
			if got.Equal != tt.equal || !strings.Contains(got.Diff, tt.line) {
				t.Errorf("Equal %v (want %v), diff lacks %q:\n%s", got.Equal, tt.equal, tt.line, got.Diff)
			}
		})
	}
}

func TestCompareFolder(t *testing.T) {
	want := Folder{UID: "f", Title: "metricscale", ParentUID: "root"}
	tests := []struct {
		name  string
		live  *models.Folder
		equal bool
	}{
		{"same", &models.Folder{UID: "f", Title: "metricscale", ParentUID: "root", ID: 3, Version: 2, URL: "/dashboards/f/f/"}, true},
		{"title", &models.Folder{UID: "f", Title: "old", ParentUID: "root"}, false},
		{"parent", &models.Folder{UID: "f", Title: "metricscale"}, false},
		{"missing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompareFolder(tt.live, want); got.Equal != tt.equal {
				t.Errorf("Equal = %v, want %v:\n%s", got.Equal, tt.equal, got.Diff)
			}
		})
	}
}

func TestCompareExactDataSource(t *testing.T) {
	want := DataSource{UID: "l", Name: "Loki", Type: "loki", Access: "proxy", Exact: true, BasicAuth: true, BasicAuthUser: "u",
		JSONData: map[string]any{"maxLines": 10}, SecureJSONData: Secrets{"basicAuthPassword": "s3cret"}}
	live := func(edit func(ds *models.DataSource)) *models.DataSource {
		ds := &models.DataSource{UID: "l", Name: "Loki", Type: "loki", Access: "proxy", BasicAuth: true, BasicAuthUser: "u",
			JSONData: map[string]any{"maxLines": 10}, SecureJSONFields: map[string]bool{"basicAuthPassword": true, "other": true}, ID: 2, Version: 3}
		edit(ds)
		return ds
	}
	tests := []struct {
		name  string
		live  *models.DataSource
		equal bool
		line  string
	}{
		{"same; a secret Grafana has besides is not compared", live(func(*models.DataSource) {}), true, ""},
		{"a jsonData key added in Grafana", live(func(ds *models.DataSource) { ds.JSONData.(map[string]any)["x"] = 1 }), false, `-    "x": 1`},
		{"a secret missing in Grafana", live(func(ds *models.DataSource) { ds.SecureJSONFields = nil }), false, `+  "secureJsonFields": [`},
		{"basic auth off", live(func(ds *models.DataSource) { ds.BasicAuth = false }), false, `-  "basicAuth": false`},
		{"user", live(func(ds *models.DataSource) { ds.User = "x" }), false, `-  "user": "x"`},
		{"database", live(func(ds *models.DataSource) { ds.Database = "db" }), false, `-  "database": "db"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CompareDataSource(tt.live, want)
			if got.Equal != tt.equal || !strings.Contains(got.Diff, tt.line) || strings.Contains(got.Diff, "s3cret") {
				t.Errorf("Equal %v (want %v), diff lacks %q or shows the secret:\n%s", got.Equal, tt.equal, tt.line, got.Diff)
			}
		})
	}
}
