package sidecar

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

func dataSourceConfig() Config {
	cfg := testConfig()
	cfg.DataSourceSelector = "grafana_datasource"
	return cfg
}

func dataSourceConfigMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: types.UID("uid-" + name),
		Labels: map[string]string{"grafana_datasource": "1"}}, Data: data}
}

func (r *running) dataSource(uid string) *models.DataSource {
	ds, err := r.grafana.DataSource(context.Background(), uid)
	if err != nil {
		return nil
	}
	return ds
}

// events are the reasons of the Events on the objects of namespace team, as kind/name reason.
func (r *running) events(t *testing.T) map[string]string {
	t.Helper()
	list, err := r.kube.CoreV1().Events("team").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range list.Items {
		if strings.Contains(e.Message, "s3cret") {
			t.Errorf("an Event shows a secret: %s", e.Message)
		}
		out[e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+" "+e.Reason] = e.Message
	}
	return out
}

// TestSidecarDataSources: labelled data source objects become data
// sources (a Secret's secrets included) and follow changes; as with
// Grafana's provisioning, those of a file with prune: true go when their
// object goes and the others stay, and a deleteDatasources deletes the data
// source it names; a foreign data source under a wanted uid is left alone
// and reported; a key with an unknown field converges with a warning.
func TestSidecarDataSources(t *testing.T) {
	ctx := context.Background()
	r := start(t, dataSourceConfig())
	for _, foreign := range []*models.AddDataSourceCommand{
		{UID: "taken", Name: "by hand", Type: "loki", URL: "http://hand"},
		{UID: "old", Name: "Old", Type: "loki", URL: "http://old"},
	} {
		if _, err := r.grafana.CreateDataSource(ctx, foreign); err != nil {
			t.Fatal(err)
		}
	}
	cms := r.kube.CoreV1().ConfigMaps("team")
	if _, err := cms.Create(ctx, dataSourceConfigMap("ds", map[string]string{
		"prom.yaml":  "apiVersion: 1\nprune: true\ndatasources:\n- {name: Prometheus, type: prometheus, uid: prom, url: 'http://p:9090', isDefault: true, jsonData: {timeInterval: 30s}}\n",
		"clash.yaml": "apiVersion: 1\ndatasources:\n- {name: Mine, type: tempo, uid: taken, url: 'http://t'}\ndeleteDatasources:\n- {name: Old}\n",
		"typo.yaml":  "apiVersion: 1\ndatasources:\n- {name: Typo, type: loki, uid: typo, urll: 'http://x'}\n",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secrets := r.kube.CoreV1().Secrets("team")
	secret := func(password string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "loki", UID: "uid-loki", Labels: map[string]string{"grafana_datasource": "1"}},
			Data: map[string][]byte{"loki.yaml": []byte("apiVersion: 1\nprune: true\ndatasources:\n- name: Loki\n  type: loki\n  uid: loki\n  url: http://l:3100\n  basicAuth: true\n  basicAuthUser: reader\n  secureJsonData:\n    basicAuthPassword: " + password + "\n")}}
	}
	if _, err := secrets.Create(ctx, secret("s3cret"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "data sources prom and loki in Grafana", func() bool { return r.dataSource("prom") != nil && r.dataSource("loki") != nil })
	r.eventually(t, "ready", r.sidecar.Ready)
	if v, _ := r.emu.DataSourceSecret("loki", "basicAuthPassword"); v != "s3cret" {
		t.Errorf("Grafana holds %q as Loki's password", v)
	}
	if ds := r.dataSource("taken"); ds.Name != "by hand" {
		t.Errorf("the foreign data source was overwritten: %+v", ds)
	}
	r.eventually(t, "deleteDatasources' Old deleted, as Grafana deletes it", func() bool { return r.dataSource("old") == nil })
	if r.dataSource("typo") == nil {
		t.Error("the key with an unknown field gave no data source")
	}
	r.eventually(t, "Events for the foreign uid and the unknown field", func() bool {
		got := r.events(t)
		return strings.Contains(got["ConfigMap/ds "+ReasonForeignDataSource], "key clash.yaml") &&
			strings.Contains(got["ConfigMap/ds "+ReasonDataSourceWarning], "urll")
	})
	if got := r.events(t)["ConfigMap/ds "+ReasonForeignDataSource]; !strings.Contains(r.scrape(), `metricscale_sidecar_datasources{state="foreign"} 1`) || got == "" {
		t.Errorf("foreign data source not in /metrics or Events")
	}

	// Changed: updated, the new secret written; a no-op pass writes nothing.
	if _, err := secrets.Update(ctx, secret("n3w"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "the new password in Grafana", func() bool { v, _ := r.emu.DataSourceSecret("loki", "basicAuthPassword"); return v == "n3w" })
	// The update's pass may still be writing after the password shows: a
	// pass ends first, so the count below is the no-op pass's alone.
	settled := r.passes()
	r.sidecar.kicks.kick()
	r.eventually(t, "a pass after the update", func() bool { return r.passes() > settled })
	r.emu.ResetStats()
	passes := r.passes()
	r.sidecar.kicks.kick()
	r.eventually(t, "another pass", func() bool { return r.passes() > passes })
	if w := r.emu.Stats().Writes; w != 0 {
		t.Errorf("a pass with nothing changed made %d writes: %v", w, r.emu.Stats().ByRoute)
	}

	// The key with the typo fixed converges; the Secret deleted, Loki goes.
	fixed := dataSourceConfigMap("ds", map[string]string{
		"prom.yaml": "apiVersion: 1\nprune: true\ndatasources:\n- {name: Prometheus, type: prometheus, uid: prom, url: 'http://p:9091'}\n",
		"typo.yaml": "apiVersion: 1\ndatasources:\n- {name: Typo, type: loki, uid: typo, url: 'http://x'}\n",
	})
	if _, err := cms.Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Delete(ctx, "loki", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "typo converged, prom updated, loki deleted", func() bool {
		p := r.dataSource("prom")
		return r.dataSource("typo") != nil && p != nil && p.URL == "http://p:9091" && !p.IsDefault && r.dataSource("loki") == nil
	})
	if r.dataSource("taken") == nil {
		t.Error("a data source the sidecar did not create was deleted")
	}
	// The label goes: prom (prune: true) goes, typo (no prune) stays.
	fixed.Labels = nil
	if _, err := cms.Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.eventually(t, "prom deleted", func() bool { return r.dataSource("prom") == nil })
	passes = r.passes()
	r.sidecar.kicks.kick()
	r.eventually(t, "another pass", func() bool { return r.passes() > passes })
	if r.dataSource("typo") == nil {
		t.Error("typo, of a file without prune: true, was deleted; Grafana keeps it")
	}
	if !strings.Contains(r.scrape(), `metricscale_sidecar_actions_total{action="deleted",kind="datasource"} 3`) {
		t.Error("/metrics does not count 3 deleted data sources")
	}
}

// TestSidecarNestedFolders: team/payments is folder payments inside team
// on current Grafana; on 7.5 one root folder "team/payments", reported.
func TestSidecarNestedFolders(t *testing.T) {
	for _, mode := range []grafanaemu.Mode{grafanaemu.ModeCurrent, grafanaemu.ModeV75} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			emu := grafanaemu.New(grafanaemu.Options{Mode: mode, AdminUser: "admin", AdminPassword: "pw"})
			srv := httptest.NewServer(emu)
			t.Cleanup(srv.Close)
			r := startWith(t, testConfig(), srv.URL, emu)
			if _, err := r.kube.CoreV1().ConfigMaps("team").Create(ctx, dashboardConfigMap("cm", "team/payments", map[string]string{"p.json": `{"uid":"p","title":"Payments"}`}), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r.eventually(t, "dashboard p in Grafana", func() bool { return r.dashboard("p") != nil })
			folder, err := r.grafana.Folder(ctx, r.folderOf(t, "p"))
			if err != nil {
				t.Fatal(err)
			}
			if mode == grafanaemu.ModeV75 {
				if folder.Title != "team/payments" || folder.ParentUID != "" {
					t.Errorf("7.5: dashboard in %+v, want the root folder team/payments", folder)
				}
				r.eventually(t, "a NestedFolder Event", func() bool { return r.events(t)["ConfigMap/cm "+ReasonNestedFolder] != "" })
				return
			}
			parent, err := r.grafana.Folder(ctx, folder.ParentUID)
			if err != nil {
				t.Fatal(err)
			}
			if folder.Title != "payments" || parent.Title != "team" || parent.ParentUID != "" {
				t.Errorf("dashboard in %q under %q (its parent %q), want payments under team at the root", folder.Title, parent.Title, parent.ParentUID)
			}
		})
	}
}

// folderOf is the uid of the folder a dashboard is in (7.5 names only its id).
func (r *running) folderOf(t *testing.T, uid string) string {
	t.Helper()
	d := r.dashboard(uid)
	if d.Meta.FolderUID != "" {
		return d.Meta.FolderUID
	}
	roots, err := r.grafana.RootFolders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range roots {
		if f.ID == d.Meta.FolderID {
			return f.UID
		}
	}
	t.Fatalf("dashboard %s is in no folder Grafana lists", uid)
	return ""
}
