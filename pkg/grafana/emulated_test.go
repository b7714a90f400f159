package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"

	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

// emulated is a client of a fresh Grafana emulator with opts and the test's admin.
func emulated(t *testing.T, opts grafanaemu.Options) (*Client, *grafanaemu.Server) {
	t.Helper()
	opts.AdminUser, opts.AdminPassword = testUser, testPassword
	emu := grafanaemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Credentials: BasicCredentials(testUser, testPassword)})
	if err != nil {
		t.Fatal(err)
	}
	return c, emu
}

func TestConvergeOwnerTag(t *testing.T) {
	ctx := context.Background()
	c, emu := emulated(t, grafanaemu.Options{})
	foreign := map[string]any{"uid": "taken", "title": "made by hand", "tags": []any{"team-a"}}
	if _, err := c.SaveDashboard(ctx, DashboardSave{Body: foreign}); err != nil {
		t.Fatal(err)
	}
	want := Desired{Dashboards: []Dashboard{
		{Body: []byte(`{"uid":"taken","title":"from a ConfigMap"}`)},
		{Body: []byte(`{"uid":"mine","title":"mine","tags":["x"]}`)},
	}}
	opts := Options{OwnerTag: "owner"}

	actions, err := Converge(ctx, c, want, opts)
	if err != nil {
		t.Fatal(err)
	}
	verbs := map[string]Verb{}
	for _, a := range actions {
		verbs[a.UID] = a.Action
	}
	if verbs["taken"] != Foreign || verbs["mine"] != Created {
		t.Fatalf("actions = %+v, want taken foreign and mine created", actions)
	}
	live, err := c.Dashboard(ctx, "taken")
	if err != nil {
		t.Fatal(err)
	}
	if live.Body["title"] != "made by hand" {
		t.Errorf("the foreign dashboard was overwritten: %v", live.Body)
	}
	mine, err := c.Dashboard(ctx, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if !hasTag(mine.Body, "owner") || !hasTag(mine.Body, "x") {
		t.Errorf("tags of the written dashboard = %v, want x and owner", mine.Body["tags"])
	}

	// A second run writes nothing: the owner tag is part of what is compared.
	emu.ResetStats()
	actions, err = Converge(ctx, c, want, opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := emu.Stats().Writes; w != 0 {
		t.Errorf("second run made %d writes (%+v), want 0", w, actions)
	}
}

// Adopt takes over an unmarked dashboard and data source under a wanted
// uid, saying so, and never one another owner marked.
func TestConvergeAdopt(t *testing.T) {
	ctx := context.Background()
	c, emu := emulated(t, grafanaemu.Options{})
	if _, err := c.SaveDashboard(ctx, DashboardSave{Body: map[string]any{"uid": "old", "title": "from k8s-sidecar's file"}}); err != nil {
		t.Fatal(err)
	}
	for uid, jsonData := range map[string]map[string]any{"old-ds": nil, "other-ds": {DataSourceOwnerKey: "another-sidecar"}} {
		if _, err := c.CreateDataSource(ctx, &models.AddDataSourceCommand{UID: uid, Name: uid, Type: "loki", URL: "http://l", JSONData: jsonData}); err != nil {
			t.Fatal(err)
		}
	}
	want := Desired{Dashboards: []Dashboard{{Body: []byte(`{"uid":"old","title":"from a ConfigMap"}`)}},
		DataSources: []DataSource{{UID: "old-ds", Name: "old-ds", Type: "loki", URL: "http://l2", Exact: true}, {UID: "other-ds", Name: "other-ds", Type: "loki", URL: "http://l2", Exact: true}}}
	opts := Options{OwnerTag: "owner", Adopt: true}
	actions, err := Converge(ctx, c, want, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range actions {
		got[a.UID] = string(a.Action) + ": " + a.Reason
	}
	adopted := string(Updated) + ": " + adoptedReason
	if got["old"] != adopted || got["old-ds"] != adopted || !strings.HasPrefix(got["other-ds"], string(Foreign)) {
		t.Fatalf("actions %v: want old and old-ds adopted, other-ds (another owner's) foreign", got)
	}
	if live, err := c.Dashboard(ctx, "old"); err != nil || !hasTag(live.Body, "owner") || live.Body["title"] != "from a ConfigMap" {
		t.Errorf("the adopted dashboard: %v, %v", live, err)
	}
	emu.ResetStats()
	if _, err := Converge(ctx, c, want, opts); err != nil || emu.Stats().Writes != 0 {
		t.Errorf("a second run: %v, %d writes; want none, what was adopted is owned", err, emu.Stats().Writes)
	}
}

// A data source whose file gave no uid is matched by name, as Grafana's
// provisioning matches it: the uid Grafana gave it stays, this owner's is
// converged, an unmarked one only with --adopt, and a read-only one is
// said, never written.
func TestConvergeDataSourceByName(t *testing.T) {
	cases := []struct {
		name     string
		live     map[string]any // jsonData of the data source named "team"; nil: none
		readOnly bool
		derived  bool
		adopt    bool
		want     Verb
		reason   string
		liveURL  string // the URL Grafana has after the run
	}{
		{name: "unmarked, --adopt", live: map[string]any{}, derived: true, adopt: true, want: Updated, reason: "adopted by name: Grafana had it under uid grafana-made", liveURL: "http://new"},
		{name: "unmarked, no --adopt", live: map[string]any{}, derived: true, want: Failed, reason: "or run with --adopt to take it over", liveURL: "http://old"},
		{name: "this owner's", live: map[string]any{DataSourceOwnerKey: "owner"}, derived: true, want: Updated, liveURL: "http://new"},
		{name: "another owner's, --adopt", live: map[string]any{DataSourceOwnerKey: "other"}, derived: true, adopt: true, want: Failed, reason: "give this one another name", liveURL: "http://old"},
		{name: "a uid the file gave", live: map[string]any{}, adopt: true, want: Failed, reason: "or set its uid to grafana-made", liveURL: "http://old"},
		{name: "read-only", readOnly: true, derived: true, adopt: true, want: Skipped, reason: "from its provisioning files", liveURL: "http://old"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			opts := grafanaemu.Options{}
			if tc.readOnly {
				opts.Provisioned.DataSources = []map[string]any{{"uid": "grafana-made", "name": "team", "type": "loki", "url": "http://old"}}
			}
			c, emu := emulated(t, opts)
			if tc.live != nil {
				if _, err := c.CreateDataSource(ctx, &models.AddDataSourceCommand{UID: "grafana-made", Name: "team", Type: "loki", URL: "http://old", JSONData: tc.live}); err != nil {
					t.Fatal(err)
				}
			}
			want := Desired{DataSources: []DataSource{{UID: "derived-uid", UIDDerived: tc.derived, Name: "team", Type: "loki", URL: "http://new", Exact: true}}}
			conv := Options{OwnerTag: "owner", Adopt: tc.adopt}
			actions, err := Converge(ctx, c, want, conv)
			if err != nil {
				t.Fatal(err)
			}
			a := actions[len(actions)-1]
			if a.Action != tc.want || !strings.Contains(a.Reason, tc.reason) {
				t.Fatalf("%s: %q, want %s with %q", a.Action, a.Reason, tc.want, tc.reason)
			}
			live, err := c.DataSource(ctx, "grafana-made")
			if err != nil || live.URL != tc.liveURL {
				t.Fatalf("data source grafana-made: %+v, %v; want it kept at %s", live, err, tc.liveURL)
			}
			if tc.want != Updated {
				return
			}
			if a.UID != "grafana-made" {
				t.Errorf("the action's uid %s, want the one Grafana gave, grafana-made", a.UID)
			}
			emu.ResetStats()
			if again, err := Converge(ctx, c, want, conv); err != nil || emu.Stats().Writes != 0 || again[len(again)-1].Action != Unchanged {
				t.Errorf("a second run: %v, %d writes, %+v; want it unchanged, now owned", err, emu.Stats().Writes, again)
			}
		})
	}
}

func TestDashboardsByTagAndDelete(t *testing.T) {
	ctx := context.Background()
	c, _ := emulated(t, grafanaemu.Options{})
	for _, b := range []map[string]any{
		{"uid": "a", "title": "A", "tags": []any{"owner"}},
		{"uid": "b", "title": "B", "tags": []any{"owner", "other"}},
		{"uid": "c", "title": "C", "tags": []any{"other"}},
	} {
		if _, err := c.SaveDashboard(ctx, DashboardSave{Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := c.DashboardsByTag(ctx, "owner")
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, r := range refs {
		uids = append(uids, r.UID)
	}
	if len(uids) != 2 || uids[0] != "a" || uids[1] != "b" {
		t.Fatalf("tagged owner: %v, want [a b]", uids)
	}
	if err := c.DeleteDashboard(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dashboard(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete, get = %v, want ErrNotFound", err)
	}
	if err := c.DeleteDashboard(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
}

func TestDeleteProvisionedDashboard(t *testing.T) {
	c, _ := emulated(t, grafanaemu.Options{Provisioned: grafanaemu.Provisioned{Dashboards: []grafanaemu.ProvisionedDashboard{
		{Dashboard: map[string]any{"uid": "file", "title": "from a file"}},
	}}})
	if err := c.DeleteDashboard(context.Background(), "file"); !errors.Is(err, ErrProvisioned) {
		t.Errorf("delete of a provisioned dashboard = %v, want ErrProvisioned", err)
	}
}

func TestRootFolders(t *testing.T) {
	ctx := context.Background()
	c, _ := emulated(t, grafanaemu.Options{})
	for _, f := range []Folder{{UID: "a", Title: "A"}, {UID: "b", Title: "B"}, {UID: "child", Title: "C", ParentUID: "a"}} {
		if _, err := c.CreateFolder(ctx, f.UID, f.Title, f.ParentUID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.RootFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, f := range got {
		uids = append(uids, f.UID+"="+f.Title)
	}
	if strings.Join(uids, ",") != "a=A,b=B" {
		t.Errorf("root folders: %v, want a=A,b=B", uids)
	}
}

// An exact data source with secrets, written with an owner tag: created
// with its secrets, unchanged without a write, its secrets written again
// only when one changes or Grafana lacks one; a foreign data source under
// its uid is left alone.
func TestConvergeExactDataSource(t *testing.T) {
	ctx := context.Background()
	c, emu := emulated(t, grafanaemu.Options{})
	if _, err := c.CreateDataSource(ctx, &models.AddDataSourceCommand{UID: "taken", Name: "by hand", Type: "loki", URL: "http://loki"}); err != nil {
		t.Fatal(err)
	}
	loki := DataSource{UID: "loki", Name: "Loki", Type: "loki", URL: "http://loki:3100", Exact: true,
		BasicAuth: true, BasicAuthUser: "reader", JSONData: map[string]any{"maxLines": 1000},
		SecureJSONData: Secrets{"basicAuthPassword": "s3cret"}}
	clash := DataSource{UID: "taken", Name: "mine", Type: "tempo", URL: "http://tempo", Exact: true}
	opts := Options{OwnerTag: "owner"}
	run := func(want ...DataSource) string {
		t.Helper()
		actions, err := Converge(ctx, c, Desired{DataSources: want}, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range actions {
			if strings.Contains(a.Diff+a.Reason, "s3cret") || strings.Contains(a.Diff+a.Reason, "n3w") {
				t.Errorf("an action shows a secret: %+v", a)
			}
		}
		return verbs(actions)
	}
	secret := func() string {
		v, _ := emu.DataSourceSecret("loki", "basicAuthPassword")
		return v
	}

	if got := run(loki, clash); got != "datasource/loki=created datasource/taken=foreign" {
		t.Fatalf("first run: %s", got)
	}
	live, err := c.DataSource(ctx, "loki")
	if err != nil {
		t.Fatal(err)
	}
	jsonData := live.JSONData.(map[string]any)
	if jsonData[DataSourceOwnerKey] != "owner" || jsonData[SecureDigestKey] == nil || !live.BasicAuth || live.BasicAuthUser != "reader" || secret() != "s3cret" {
		t.Errorf("created: %+v, secret %q", live, secret())
	}
	if strings.Contains(fmt.Sprint(jsonData[SecureDigestKey]), "s3cret") {
		t.Error("the digest shows the secret")
	}
	if other, _ := c.DataSource(ctx, "taken"); other.Name != "by hand" {
		t.Errorf("the foreign data source was overwritten: %+v", other)
	}

	emu.ResetStats()
	if got := run(loki); got != "datasource/loki=unchanged" || emu.Stats().Writes != 0 {
		t.Errorf("second run: %s, %d writes", got, emu.Stats().Writes)
	}

	changed := loki
	changed.SecureJSONData = Secrets{"basicAuthPassword": "n3w"}
	if got := run(changed); got != "datasource/loki=updated" || secret() != "n3w" {
		t.Errorf("changed secret: %s, Grafana holds %q", got, secret())
	}

	// A field the file does not set is cleared; jsonData is replaced whole.
	plain := loki
	plain.SecureJSONData, plain.BasicAuth, plain.BasicAuthUser, plain.JSONData = changed.SecureJSONData, false, "", nil
	if got := run(plain); got != "datasource/loki=updated" {
		t.Errorf("fields removed: %s", got)
	}
	live, _ = c.DataSource(ctx, "loki")
	if live.BasicAuth || live.BasicAuthUser != "" || live.JSONData.(map[string]any)["maxLines"] != nil {
		t.Errorf("after removing fields: %+v", live)
	}
	emu.ResetStats()
	if got := run(plain); got != "datasource/loki=unchanged" || emu.Stats().Writes != 0 {
		t.Errorf("again: %s, %d writes", got, emu.Stats().Writes)
	}

	refs, err := c.DataSourceRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, r := range refs {
		owners[r.UID] = r.Owner
	}
	if owners["loki"] != "owner" || owners["taken"] != "" {
		t.Errorf("owners = %v", owners)
	}
	if err := c.DeleteDataSource(ctx, "loki"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDataSource(ctx, "loki"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
}

func TestSecretsHideTheirValues(t *testing.T) {
	s := Secrets{"password": "s3cret"}
	ds := DataSource{UID: "x", SecureJSONData: s}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, ds, ds, s, s)} {
		if strings.Contains(out, "s3cret") {
			t.Errorf("printed: %s", out)
		}
	}
}

// A data source is updated on 7.5 (by its numeric id: 7.5 has no uid route)
// and on current Grafana (by uid), the version read from /api/health.
func TestConvergeUpdatesADataSourceOnEachVersion(t *testing.T) {
	for _, mode := range []grafanaemu.Mode{grafanaemu.ModeV75, grafanaemu.ModeCurrent} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			c, _ := emulated(t, grafanaemu.Options{Mode: mode})
			for _, url := range []string{"http://a:9090", "http://b:9090"} {
				want := Desired{DataSources: []DataSource{{UID: "team-prom", Name: "team-prom", Type: "prometheus", URL: url, Exact: true}}}
				if actions, err := Converge(ctx, c, want, Options{OwnerTag: "owner"}); err != nil || actions[0].Action == Failed {
					t.Fatalf("converge to %s: %+v, %v", url, actions, err)
				}
			}
			if ds, err := c.DataSource(ctx, "team-prom"); err != nil || ds.URL != "http://b:9090" {
				t.Errorf("Grafana %s holds %+v, %v; want the updated URL", mode, ds, err)
			}
		})
	}
}

func TestDialectOf(t *testing.T) {
	for version, byID := range map[string]bool{"7.5.17": true, "8.5.27": true, "9.0.0": false, "11.6.0": false, "13.0.1-security-01": false, "": false, "main": false} {
		if got := dialectOf(version).updateDataSourceByID; got != byID {
			t.Errorf("%q: update by id %v, want %v", version, got, byID)
		}
	}
}

// v2Resource is a dashboard.grafana.app resource of the v2 schema.
func v2Resource(apiVersion, uid, title string, tags ...string) []byte {
	spec := map[string]any{"title": title, "elements": map[string]any{}, "layout": map[string]any{"kind": "GridLayout", "spec": map[string]any{"items": []any{}}}}
	if len(tags) > 0 {
		spec["tags"] = tags
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": apiVersion, "kind": "Dashboard", "metadata": map[string]any{"name": uid}, "spec": spec})
	return b
}

// On Grafana 12 and 13 the folder and the dashboards, classic and v2, go
// through /apis, none through the legacy routes; a second run reads only;
// a v2 dashboard someone made under a wanted uid is foreign.
func TestConvergeThroughAPIs(t *testing.T) {
	for mode, v2 := range map[grafanaemu.Mode]string{grafanaemu.ModeV12: "v2beta1", grafanaemu.ModeV13: "v2"} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			c, emu := emulated(t, grafanaemu.Options{Mode: mode})
			apiVersion := DashboardGroup + "/" + v2
			hand := DashboardSave{UID: "hand", Body: map[string]any{"title": "made by hand", "elements": map[string]any{}, "layout": map[string]any{"kind": "GridLayout"}},
				Schema: DashboardSchema{V2: true, APIVersion: apiVersion}}
			if _, err := c.SaveDashboard(ctx, hand); err != nil {
				t.Fatal(err)
			}
			want := Desired{Folders: []Folder{{UID: "ms", Title: "metricscale"}}, Dashboards: []Dashboard{
				{Body: []byte(`{"uid":"classic","title":"Classic","panels":[]}`), FolderUID: "ms"},
				{Body: v2Resource(apiVersion, "dyn", "Dynamic"), FolderUID: "ms"},
				{UID: "bare", Body: []byte(`{"title":"Bare v2","elements":{},"layout":{"kind":"GridLayout","spec":{"items":[]}}}`)},
				{Body: v2Resource(apiVersion, "hand", "not the hand-made one")},
			}}
			opts := Options{OwnerTag: "owner"}
			emu.ResetStats()
			actions, err := Converge(ctx, c, want, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Verb{}
			for _, a := range actions {
				got[a.UID] = a.Action
			}
			if got["ms"] != Created || got["classic"] != Created || got["dyn"] != Created || got["bare"] != Created || got["hand"] != Foreign {
				t.Fatalf("actions %v", got)
			}
			st := emu.Stats()
			for route := range st.ByRoute {
				if strings.HasPrefix(route, "POST /api/dashboards") || strings.HasPrefix(route, "POST /api/folders") {
					t.Errorf("a legacy write: %s (%v)", route, st.ByRoute)
				}
			}
			for uid, version := range map[string]string{"dyn": v2, "bare": v2, "classic": "v1beta1"} {
				live, err := c.Dashboard(ctx, uid)
				if err != nil || (version != "v1beta1") != live.Schema.V2 || !hasTag(live.Body, "owner") {
					t.Errorf("dashboard %s: %+v, %v; want it stored in the schema it was given, tagged", uid, live, err)
				}
			}
			if live, _ := c.Dashboard(ctx, "hand"); live == nil || live.Body["title"] != "made by hand" {
				t.Errorf("the hand-made v2 dashboard: %+v", live)
			}
			emu.ResetStats()
			again, err := Converge(ctx, c, want, opts)
			t.Logf("Grafana %s, second run: %d reads", mode, emu.Stats().Reads)
			if err != nil || emu.Stats().Writes != 0 {
				t.Errorf("a second run: %v, %d writes; want none: %+v", err, emu.Stats().Writes, again)
			}
		})
	}
}

// Grafana 11 takes no v2 dashboard: that one fails, saying what Grafana it
// needs, and the classic one beside it is created.
func TestConvergeV2OnGrafana11(t *testing.T) {
	ctx := context.Background()
	c, _ := emulated(t, grafanaemu.Options{Mode: grafanaemu.ModeV11})
	want := Desired{Dashboards: []Dashboard{
		{Body: []byte(`{"uid":"classic","title":"Classic","panels":[]}`)},
		{Body: v2Resource(DashboardGroup+"/v2", "dyn", "Dynamic")},
	}}
	actions, err := Converge(ctx, c, want, Options{OwnerTag: "owner"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		switch {
		case a.UID == "classic" && a.Action != Created:
			t.Errorf("classic: %s %s", a.Action, a.Reason)
		case a.UID == "dyn" && (a.Action != Failed || !strings.Contains(a.Reason, "Grafana 12.2 or later") || !strings.Contains(a.Reason, "11.6.0")):
			t.Errorf("v2 on Grafana 11: %s %q, want failed, naming the Grafana it needs", a.Action, a.Reason)
		}
	}
}

// Config.Namespace is the namespace of every /apis call: another
// organisation's is refused by Grafana, and said so.
func TestAPIsNamespace(t *testing.T) {
	emu := grafanaemu.New(grafanaemu.Options{Mode: grafanaemu.ModeV13, AdminUser: testUser, AdminPassword: testPassword})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, Credentials: BasicCredentials(testUser, testPassword), Namespace: "org-2"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Dashboard(context.Background(), "d")
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "org-2") {
		t.Fatalf("a dashboard in namespace org-2: %v, want Grafana's refusal naming it", err)
	}
}

// Through /apis a replace at a resourceVersion Grafana no longer has is a
// conflict, and an unconditional one goes through.
func TestSaveThroughAPIsConflict(t *testing.T) {
	ctx := context.Background()
	c, _ := emulated(t, grafanaemu.Options{Mode: grafanaemu.ModeV13})
	save := DashboardSave{Body: map[string]any{"uid": "d", "title": "one"}}
	if _, err := c.SaveDashboard(ctx, save); err != nil {
		t.Fatal(err)
	}
	read, err := c.Dashboard(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	save.Body["title"], save.Overwrite = "two", true
	if _, err := c.SaveDashboard(ctx, save); err != nil {
		t.Fatal(err)
	}
	save.Body["title"], save.ResourceVersion = "three", read.ResourceVersion
	if _, err := c.SaveDashboard(ctx, save); !errors.Is(err, ErrConflict) {
		t.Fatalf("a save at the stale resourceVersion %s: %v, want ErrConflict", read.ResourceVersion, err)
	}
	if live, _ := c.Dashboard(ctx, "d"); live == nil || live.Body["title"] != "two" {
		t.Errorf("after the refused save: %+v", live)
	}
}

// A dry run through /apis reads only and shows the diff of what changed,
// classic and v2 alike.
func TestDryRunThroughAPIs(t *testing.T) {
	ctx := context.Background()
	c, emu := emulated(t, grafanaemu.Options{Mode: grafanaemu.ModeV13})
	want := func(title string) Desired {
		return Desired{Dashboards: []Dashboard{
			{Body: []byte(`{"uid":"classic","title":"` + title + `","panels":[]}`)},
			{Body: v2Resource(DashboardGroup+"/v2", "dyn", title)},
		}}
	}
	if _, err := Converge(ctx, c, want("one"), Options{OwnerTag: "o"}); err != nil {
		t.Fatal(err)
	}
	emu.ResetStats()
	actions, err := Converge(ctx, c, want("two"), Options{OwnerTag: "o", DryRun: true})
	if err != nil || emu.Stats().Writes != 0 {
		t.Fatalf("dry run: %v, %d writes", err, emu.Stats().Writes)
	}
	for _, a := range actions {
		if a.Action != Updated || !strings.Contains(a.Diff, `-  "title": "one"`) || !strings.Contains(a.Diff, `+  "title": "two"`) {
			t.Errorf("%s: %s, diff:\n%s", a.UID, a.Action, a.Diff)
		}
	}
}
