package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func desiredSet(t *testing.T) Desired {
	t.Helper()
	raw, err := os.ReadFile("testdata/modern-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	return Desired{
		DataSources: []DataSource{{UID: "prom-main", Name: "Prometheus", URL: "http://127.0.0.1:19090", IsDefault: true,
			JSONData: map[string]any{"httpMethod": "POST", "timeInterval": "30s"}}},
		// Child before parent: Converge creates the parent first.
		Folders:    []Folder{{UID: "ms-hpa", Title: "HPAs", ParentUID: "ms"}, {UID: "ms", Title: "metricscale"}},
		Dashboards: []Dashboard{{UID: "metricscale-overview", FolderUID: "ms", Body: raw}},
	}
}

func verbs(actions []Action) string {
	var out []string
	for _, a := range actions {
		out = append(out, fmt.Sprintf("%s/%s=%s", a.Kind, a.UID, a.Action))
	}
	return strings.Join(out, " ")
}

func TestConvergeCreatesThenWritesNothing(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			f, srv := newFakeGrafana(t)
			f.legacy = legacy
			c := testClient(t, srv.URL, TokenCredentials(testToken))
			ctx := context.Background()

			actions, err := Converge(ctx, c, desiredSet(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := "datasource/prom-main=created folder/ms=created folder/ms-hpa=created dashboard/metricscale-overview=created"
			if got := verbs(actions); got != want {
				t.Fatalf("first run: %s\nwant %s", got, want)
			}
			if d := actions[3]; d.Folder != "metricscale" || d.URL != srv.URL+"/d/metricscale-overview/slug" || d.Diff != "" {
				t.Errorf("dashboard action = %+v", d)
			}
			version := f.dashboards["metricscale-overview"].version

			before := c.Requests()
			actions, err = Converge(ctx, c, desiredSet(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			// 7.5 has no nested folders: the child lands at the root and is
			// reported, not moved.
			want = "datasource/prom-main=unchanged folder/ms=unchanged folder/ms-hpa=unchanged dashboard/metricscale-overview=unchanged"
			if legacy {
				want = strings.Replace(want, "ms-hpa=unchanged", "ms-hpa=skipped", 1)
			}
			if got := verbs(actions); got != want {
				t.Errorf("second run: %s\nwant %s", got, want)
			}
			after := c.Requests()
			if after.Writes != before.Writes {
				t.Errorf("second run wrote %d times: %v", after.Writes-before.Writes, f.writes())
			}
			if f.dashboards["metricscale-overview"].version != version {
				t.Errorf("dashboard version churned")
			}
		})
	}
}

func TestConvergeDryRunWritesNothing(t *testing.T) {
	f, srv := newFakeGrafana(t)
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	actions, err := Converge(context.Background(), c, desiredSet(t), Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := verbs(actions); strings.Count(got, "=created") != 4 {
		t.Errorf("dry run: %s, want four creations", got)
	}
	if w := f.writes(); len(w) != 0 || c.Requests().Writes != 0 {
		t.Errorf("dry run wrote: %v", w)
	}
	for _, a := range actions {
		if a.Diff == "" {
			t.Errorf("%s %s has no diff", a.Kind, a.UID)
		}
	}
}

func TestConvergeUpdatesOnlyWhatDiffers(t *testing.T) {
	f, srv := newFakeGrafana(t)
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	ctx := context.Background()
	if _, err := Converge(ctx, c, desiredSet(t), Options{}); err != nil {
		t.Fatal(err)
	}
	want := desiredSet(t)
	want.Dashboards[0].Body = []byte(strings.Replace(string(want.Dashboards[0].Body), `"refresh": "30s"`, `"refresh": "1m"`, 1))
	want.Folders[1].Title = "metricscale HPAs"
	want.DataSources[0].JSONData["timeInterval"] = "15s"
	f.dataSources["prom-main"]["jsonData"].(map[string]any)["keptKey"] = "set by a person"
	// A dry run says what would change, with diffs; a real run carries none
	// (what it wrote is in Grafana).
	dry, err := Converge(ctx, c, want, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := dry[3].Diff; !strings.Contains(d, `-  "refresh": "30s"`) || !strings.Contains(d, `+  "refresh": "1m"`) {
		t.Errorf("dashboard diff:\n%s", d)
	}
	f.requests = nil

	actions, err := Converge(ctx, c, want, Options{Message: "from test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := verbs(actions); got != "datasource/prom-main=updated folder/ms=updated folder/ms-hpa=unchanged dashboard/metricscale-overview=updated" {
		t.Fatalf("actions: %s", got)
	}
	if d := actions[3].Diff; d != "" {
		t.Errorf("a real run's action carries a diff:\n%s", d)
	}
	var save struct {
		Overwrite bool   `json:"overwrite"`
		FolderUID string `json:"folderUid"`
		FolderID  int64  `json:"folderId"`
		Message   string `json:"message"`
	}
	_ = json.Unmarshal(f.saves[len(f.saves)-1], &save)
	if !save.Overwrite || save.FolderUID != "ms" || save.FolderID == 0 || save.Message != "from test" {
		t.Errorf("update sent %+v, want overwrite, the folder's uid and id, the message", save)
	}
	ds := f.dataSources["prom-main"]["jsonData"].(map[string]any)
	if ds["timeInterval"] != "15s" || ds["keptKey"] != "set by a person" {
		t.Errorf("data source jsonData after update: %v", ds)
	}
	if got := strings.Join(f.writes(), ", "); got != "PUT /api/datasources/uid/prom-main, PUT /api/folders/ms, POST /api/dashboards/db" {
		t.Errorf("writes: %s", got)
	}
}

func TestConvergeKeepsTheFolderWhenNoneIsGiven(t *testing.T) {
	f, srv := newFakeGrafana(t)
	f.addFolder("people", "moved by a person")
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	want := desiredSet(t)
	want.Dashboards[0].FolderUID, want.Dashboards[0].UID = "", "d"
	want.Dashboards[0].Body = []byte(`{"uid":"d","title":"t","panels":[]}`)
	f.dashboards["d"] = &fakeDashboard{body: []byte(`{"uid":"d","title":"t","panels":[{"id":1}],"id":3,"version":4}`), version: 4, folderUID: "people"}
	actions, err := Converge(context.Background(), c, Desired{Dashboards: want.Dashboards}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if actions[0].Action != Updated || f.dashboards["d"].folderUID != "people" || actions[0].Folder != "moved by a person" {
		t.Errorf("action %+v, folder now %q", actions[0], f.dashboards["d"].folderUID)
	}
}

func TestConvergeSkipsProvisioned(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeGrafana)
		kind  Kind
	}{
		{"data source readOnly", func(f *fakeGrafana) {
			f.dataSources["prom-main"] = map[string]any{"uid": "prom-main", "name": "Prometheus", "type": "prometheus", "url": "http://old:9090", "readOnly": true, "version": 1}
		}, KindDataSource},
		{"data source PUT 403 read-only", func(f *fakeGrafana) {
			f.readOnlyPut = true
			f.dataSources["prom-main"] = map[string]any{"uid": "prom-main", "name": "Prometheus", "type": "prometheus", "url": "http://old:9090", "version": 1}
		}, KindDataSource},
		{"dashboard meta.provisioned", func(f *fakeGrafana) {
			f.dashboards["metricscale-overview"] = &fakeDashboard{body: []byte(`{"uid":"metricscale-overview","title":"from a file"}`), version: 1, provisioned: true}
		}, KindDashboard},
		{"dashboard save 400 provisioned", func(f *fakeGrafana) { f.provisionedSave = true }, KindDashboard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGrafana(t)
			tt.setup(f)
			c := testClient(t, srv.URL, TokenCredentials(testToken))
			actions, err := Converge(context.Background(), c, desiredSet(t), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range actions {
				if a.Kind != tt.kind {
					continue
				}
				if a.Action != Skipped || !strings.Contains(a.Reason, "provisioning file") {
					t.Errorf("%s: %+v, want skipped because of its provisioning file", a.Kind, a)
				}
			}
			switch tt.kind {
			case KindDataSource:
				if f.dataSources["prom-main"]["url"] != "http://old:9090" {
					t.Errorf("the provisioned data source was changed")
				}
			case KindDashboard:
				if d := f.dashboards["metricscale-overview"]; d != nil && strings.Contains(string(d.body), "metricscale overview") {
					t.Errorf("the provisioned dashboard was overwritten")
				}
			}
		})
	}
}

func TestConvergeUsesExistingPrometheusAtSameURL(t *testing.T) {
	f, srv := newFakeGrafana(t)
	f.dataSources["theirs"] = map[string]any{"uid": "theirs", "name": "Cluster Prometheus", "type": "prometheus", "url": "http://127.0.0.1:19090/", "version": 1}
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	actions, err := Converge(context.Background(), c, desiredSet(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := actions[0]
	if ds.Action != Skipped || ds.UID != "theirs" || !strings.Contains(ds.Reason, `"Cluster Prometheus" (uid theirs)`) {
		t.Errorf("data source action: %+v", ds)
	}
	if len(f.dataSources) != 1 {
		t.Errorf("a duplicate data source was added")
	}
	stored := string(f.dashboards["metricscale-overview"].body)
	if strings.Contains(stored, "prom-main") || !strings.Contains(stored, `"uid":"theirs"`) {
		t.Errorf("the dashboard does not point at the existing data source: %s", stored)
	}
}

func TestConvergeDataSourceNameTaken(t *testing.T) {
	f, srv := newFakeGrafana(t)
	f.dataSources["other"] = map[string]any{"uid": "other", "name": "Prometheus", "type": "prometheus", "url": "http://elsewhere:9090", "version": 1}
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	actions, err := Converge(context.Background(), c, Desired{DataSources: desiredSet(t).DataSources}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := actions[0]; a.Action != Failed || !strings.Contains(a.Reason, "another name") {
		t.Errorf("action: %+v", a)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("wrote %v", w)
	}
}

func TestConvergeStopsOnRefusedCredentials(t *testing.T) {
	tests := []struct {
		name   string
		creds  Credentials
		viewer bool
		is     error
		reads  int64
	}{
		{"wrong token", TokenCredentials("wrong-" + testToken), false, ErrUnauthorized, 1},
		{"wrong password", BasicCredentials(testUser, "wrong-"+testPassword), false, ErrUnauthorized, 1},
		// A viewer reads, then its first write is refused: nothing after it.
		{"viewer", TokenCredentials(testToken), true, ErrForbidden, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGrafana(t)
			f.viewer = tt.viewer
			c := testClient(t, srv.URL, tt.creds)
			actions, err := Converge(context.Background(), c, desiredSet(t), Options{})
			if !errors.Is(err, tt.is) {
				t.Fatalf("Converge: %v, want %v", err, tt.is)
			}
			if len(actions) != 1 || actions[0].Action != Failed {
				t.Errorf("actions: %s", verbs(actions))
			}
			if got := c.Requests(); got.Reads != tt.reads || len(f.dashboards)+len(f.folders)+len(f.dataSources) != 0 {
				t.Errorf("requests %+v after refusal, store not empty: %v", got, f.requests)
			}
			assertNoSecret(t, err.Error())
			assertNoSecret(t, fmt.Sprintf("%+v", actions))
		})
	}
}

func TestConvergeUnreachable(t *testing.T) {
	_, srv := newFakeGrafana(t)
	srv.Close()
	c := testClient(t, srv.URL, TokenCredentials(testToken))
	if _, err := Converge(context.Background(), c, desiredSet(t), Options{}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Converge: %v, want ErrUnreachable", err)
	}
}

func TestConvergeRejectsBadInputBeforeSending(t *testing.T) {
	tests := []struct {
		name string
		edit func(d *Desired)
		want string
	}{
		{"data source without uid", func(d *Desired) { d.DataSources[0].UID = "" }, "a data source has no uid"},
		{"data source without URL", func(d *Desired) { d.DataSources[0].URL = "" }, `data source "prom-main" has no URL`},
		{"folder without title", func(d *Desired) { d.Folders[0].Title = "" }, `folder "ms-hpa" has no title`},
		{"long uid", func(d *Desired) { d.Folders[0].UID = strings.Repeat("x", 41) }, "longer than Grafana's 40 characters"},
		{"duplicate", func(d *Desired) { d.Folders[1].UID = "ms-hpa" }, `folder uid "ms-hpa" is given twice`},
		{"not JSON", func(d *Desired) { d.Dashboards[0].Body = []byte("{") }, "not a JSON object"},
		{"two uids", func(d *Desired) { d.Dashboards[0].UID = "other" }, `its JSON says uid "metricscale-overview"`},
		{"no title", func(d *Desired) { d.Dashboards[0].Body = []byte(`{"uid":"x"}`); d.Dashboards[0].UID = "" }, `dashboard "x" has no title`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeGrafana(t)
			c := testClient(t, srv.URL, TokenCredentials(testToken))
			want := desiredSet(t)
			tt.edit(&want)
			_, err := Converge(context.Background(), c, want, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Converge: %v, want %q", err, tt.want)
			}
			if len(f.requests) != 0 {
				t.Errorf("sent %v", f.requests)
			}
		})
	}
}
