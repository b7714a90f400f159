package grafana

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

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
