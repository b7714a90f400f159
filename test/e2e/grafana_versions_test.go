package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

const versionsPassword = "e2e-versions-password"

// emulatedGrafana starts an emulator of Grafana in mode on loopback for
// one test, and points the plugin's GRAFANA_* at it.
func emulatedGrafana(t *testing.T, mode grafanaemu.Mode) (*grafanaemu.Server, grafanaTarget) {
	t.Helper()
	emu := grafanaemu.New(grafanaemu.Options{Mode: mode, AdminUser: "admin", AdminPassword: versionsPassword})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	t.Setenv("GRAFANA_URL", srv.URL)
	t.Setenv("GRAFANA_USER", "admin")
	t.Setenv("GRAFANA_PASSWORD", versionsPassword)
	t.Setenv("GRAFANA_TOKEN", "")
	return emu, grafanaTarget{srv.URL, "admin", versionsPassword}
}

// routesWith counts the requests of stats whose route starts with prefix.
func routesWith(st grafanaemu.Stats, prefix string) int {
	n := 0
	for route, count := range st.ByRoute {
		if strings.HasPrefix(route, prefix) {
			n += count
		}
	}
	return n
}

// TestGrafanaProvisionThroughAPIs: against Grafana 12 and 13, provision
// writes its folder and dashboards through /apis (dashboard.grafana.app,
// folder.grafana.app) and none through the legacy /api, the data source
// through /api; a second run reads only. The request counts are printed.
func TestGrafanaProvisionThroughAPIs(t *testing.T) {
	needSandbox(t)
	for _, mode := range []grafanaemu.Mode{grafanaemu.ModeV12, grafanaemu.ModeV13} {
		t.Run(string(mode), func(t *testing.T) {
			emu, _ := emulatedGrafana(t, mode)
			out, errOut, code := runCmd(t, "grafana", "provision", "-o", "json")
			p := parseProvision(t, out)
			if code != 0 || len(p.Actions) == 0 {
				t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
			}
			for _, a := range p.Actions {
				if a.Action != "created" {
					t.Errorf("first run: %s %s %s (%s), want created", a.Kind, a.Object, a.Action, a.Reason)
				}
			}
			st := emu.Stats()
			t.Logf("Grafana %s, first run: %d reads, %d writes; /apis dashboard writes %d, folder writes %d", mode, st.Reads, st.Writes,
				routesWith(st, "POST /apis/dashboard.grafana.app")+routesWith(st, "PUT /apis/dashboard.grafana.app"),
				routesWith(st, "POST /apis/folder.grafana.app"))
			if routesWith(st, "POST /api/dashboards/db")+routesWith(st, "POST /api/folders") > 0 {
				t.Errorf("a legacy dashboard or folder write on Grafana %s: %v", mode, st.ByRoute)
			}
			if routesWith(st, "POST /apis/dashboard.grafana.app") == 0 || routesWith(st, "POST /apis/folder.grafana.app") != 1 {
				t.Errorf("want the dashboards and the one folder created through /apis: %v", st.ByRoute)
			}

			emu.ResetStats()
			out, errOut, code = runCmd(t, "grafana", "provision", "-o", "json")
			p = parseProvision(t, out)
			st = emu.Stats()
			t.Logf("Grafana %s, second run: %d reads, %d writes", mode, st.Reads, st.Writes)
			if code != 0 || st.Writes != 0 || p.Requests.Writes != 0 {
				t.Fatalf("second run: exit %d, %d writes (the plugin counted %d); want none\n%s%s", code, st.Writes, p.Requests.Writes, out, errOut)
			}
		})
	}
}

// TestGrafanaProvisionDataSourceURL: on Grafana 7.5 (a data source is
// updated by its numeric id) and 13 (by its uid only), a changed
// --datasource-url is one write, and the same one again none.
func TestGrafanaProvisionDataSourceURL(t *testing.T) {
	needSandbox(t)
	for _, mode := range []grafanaemu.Mode{grafanaemu.ModeV75, grafanaemu.ModeV13} {
		t.Run(string(mode), func(t *testing.T) {
			emu, g := emulatedGrafana(t, mode)
			if _, errOut, code := runCmd(t, "grafana", "provision", "-o", "json"); code != 0 {
				t.Fatalf("first run: exit %d\n%s", code, errOut)
			}
			for i, want := range []int{1, 0} {
				emu.ResetStats()
				out, errOut, code := runCmd(t, "grafana", "provision", "-o", "json", "--datasource-url", "http://prometheus-moved.monitoring:9090")
				st := emu.Stats()
				t.Logf("Grafana %s, --datasource-url run %d: exit %d, %d writes %v", mode, i+1, code, st.Writes, st.ByRoute)
				if code != 0 || st.Writes != want {
					t.Fatalf("run %d: exit %d, %d writes, want %d\n%s%s", i+1, code, st.Writes, want, out, errOut)
				}
			}
			_, body := grafanaDoAt(t, g, http.MethodGet, "/api/datasources", nil)
			if !strings.Contains(string(body), "http://prometheus-moved.monitoring:9090") {
				t.Errorf("Grafana %s's data sources: %s; want the moved URL", mode, body)
			}
		})
	}
}

// v2Dashboard is a dashboard.grafana.app/v2 resource (dynamic dashboards'
// schema, as Grafana 13 exports it) with one text panel.
func v2Dashboard(apiVersion, uid, title string) string {
	return fmt.Sprintf(`{"apiVersion":%q,"kind":"Dashboard","metadata":{"name":%q},
"spec":{"title":%q,"cursorSync":"Off","preload":false,"links":[],"annotations":[],"variables":[],
"elements":{"panel-1":{"kind":"Panel","spec":{"id":1,"title":"Notes","description":"","links":[],
 "data":{"kind":"QueryGroup","spec":{"queries":[],"transformations":[],"queryOptions":{}}},
 "vizConfig":{"kind":"VizConfig","group":"text","version":"13.0.0","spec":{"options":{},"fieldConfig":{"defaults":{},"overrides":[]}}}}}},
"layout":{"kind":"GridLayout","spec":{"items":[{"kind":"GridLayoutItem","spec":{"x":0,"y":0,"width":12,"height":8,"element":{"kind":"ElementReference","name":"panel-1"}}}]}},
"timeSettings":{"timezone":"browser","from":"now-6h","to":"now"}}}`, apiVersion, uid, title)
}

// apisDashboard reads a dashboard through /apis at version; nil when
// Grafana has none.
func apisDashboard(t *testing.T, g grafanaTarget, version, uid string) map[string]any {
	t.Helper()
	code, body := grafanaDoAt(t, g, http.MethodGet, "/apis/dashboard.grafana.app/"+version+"/namespaces/default/dashboards/"+uid, nil)
	if code == http.StatusNotFound {
		return nil
	}
	var obj map[string]any
	if code != http.StatusOK || json.Unmarshal(body, &obj) != nil {
		t.Fatalf("GET dashboard %s at %s: %d %s", uid, version, code, body)
	}
	return obj
}

func specTitle(obj map[string]any) string {
	spec, _ := obj["spec"].(map[string]any)
	title, _ := spec["title"].(string)
	return title
}

// TestSidecarV2Dashboards: on Grafana 12 and 13 the sidecar turns a
// ConfigMap holding a v2 dashboard into a v2 dashboard through /apis,
// updates it and deletes it with its ConfigMap, beside a classic one; a v2
// dashboard made by hand under a uid a key also gives is foreign and
// survives.
func TestSidecarV2Dashboards(t *testing.T) {
	needSandbox(t)
	for mode, version := range map[grafanaemu.Mode]string{grafanaemu.ModeV12: "v2beta1", grafanaemu.ModeV13: "v2"} {
		t.Run(string(mode), func(t *testing.T) { sidecarV2(t, mode, version) })
	}
}

func sidecarV2(t *testing.T, mode grafanaemu.Mode, version string) {
	ctx := context.Background()
	_, g := emulatedGrafana(t, mode)
	ns, suffix := testNamespace(t, "sidecar-v2-")
	uid, handUID, classicUID := "e2e-v2-"+suffix, "e2e-v2-hand-"+suffix, "e2e-v1-"+suffix
	apiVersion := "dashboard.grafana.app/" + version
	createV2(t, g, apiVersion, handUID, "made by hand")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "v2", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
		Data: map[string]string{"v2.json": v2Dashboard(apiVersion, uid, "v2 one"), "hand.json": v2Dashboard(apiVersion, handUID, "not the hand-made one"),
			"classic.json": fmt.Sprintf(`{"uid":%q,"title":"classic one","panels":[]}`, classicUID)}}
	startSidecarFor(t, ns, g)
	start := time.Now()
	if _, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the v2 dashboard in Grafana", func(context.Context) error {
		if obj := apisDashboard(t, g, version, uid); obj == nil || specTitle(obj) != "v2 one" {
			return fmt.Errorf("not yet: %v", obj)
		}
		return nil
	})
	t.Logf("Grafana %s: the v2 ConfigMap was a v2 dashboard after %s", mode, time.Since(start).Round(time.Millisecond))
	if apisDashboard(t, g, "v1beta1", classicUID) == nil {
		t.Error("the classic dashboard of the same ConfigMap is missing")
	}
	if code, body := grafanaDoAt(t, g, http.MethodGet, "/api/dashboards/uid/"+uid, nil); code != http.StatusNotAcceptable {
		t.Errorf("a legacy read of the v2 dashboard: %d %s, want 406 (it is stored as v2)", code, body)
	}
	waitEvent(t, ns, "ConfigMap", "v2", "ForeignDashboard")
	if obj := apisDashboard(t, g, version, handUID); specTitle(obj) != "made by hand" {
		t.Errorf("the hand-made v2 dashboard was overwritten: %v", obj)
	}

	cm.Data["v2.json"] = v2Dashboard(apiVersion, uid, "v2 one, renamed")
	if _, err := env.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the v2 dashboard updated", func(context.Context) error {
		if title := specTitle(apisDashboard(t, g, version, uid)); title != "v2 one, renamed" {
			return fmt.Errorf("title %q", title)
		}
		return nil
	})
	if err := env.client.CoreV1().ConfigMaps(ns).Delete(ctx, "v2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the v2 dashboard deleted with its ConfigMap", func(context.Context) error {
		if apisDashboard(t, g, version, uid) != nil {
			return fmt.Errorf("still there")
		}
		return nil
	})
	if specTitle(apisDashboard(t, g, version, handUID)) != "made by hand" {
		t.Error("the hand-made v2 dashboard did not survive")
	}
}

// createV2 makes a v2 dashboard through /apis, as a person would.
func createV2(t *testing.T, g grafanaTarget, apiVersion, uid, title string) {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(v2Dashboard(apiVersion, uid, title)), &obj); err != nil {
		t.Fatal(err)
	}
	if code, body := grafanaDoAt(t, g, http.MethodPost, "/apis/"+apiVersion+"/namespaces/default/dashboards", obj); code != http.StatusCreated {
		t.Fatalf("creating v2 dashboard %s: %d %s", uid, code, body)
	}
}

// TestSidecarV2DashboardOnGrafana11: Grafana 11 takes no v2 dashboard: the
// key is refused with an Event naming the Grafana it needs, and the classic
// dashboard beside it converges.
func TestSidecarV2DashboardOnGrafana11(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	_, g := emulatedGrafana(t, grafanaemu.ModeV11)
	ns, suffix := testNamespace(t, "sidecar-v2-11-")
	classicUID := "e2e-v1-" + suffix
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mixed", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
		Data: map[string]string{"v2.json": v2Dashboard("dashboard.grafana.app/v2", "e2e-v2-"+suffix, "v2 one"),
			"classic.json": fmt.Sprintf(`{"uid":%q,"title":"classic one","panels":[]}`, classicUID)}}
	startSidecarFor(t, ns, g)
	if _, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, ns, "ConfigMap", "mixed", "GrafanaRefused")
	t.Logf("Event: %s", ev.Message)
	if !strings.Contains(ev.Message, "Grafana 12.2") || !strings.Contains(ev.Message, "11.6.0") {
		t.Errorf("the Event %q does not say which Grafana a v2 dashboard needs", ev.Message)
	}
	eventually(t, 10*time.Second, "the classic dashboard", func(context.Context) error {
		if code, body := grafanaDoAt(t, g, http.MethodGet, "/api/dashboards/uid/"+classicUID, nil); code != http.StatusOK {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
}

// TestSidecarDataSourceUpdateByVersion: on Grafana 7.5 (updated by numeric
// id) and 13 (by uid; the numeric-id routes are off) a data source whose
// ConfigMap changes is updated by the sidecar: one write, then none. A
// classic dashboard's ConfigMap beside it converges on both.
func TestSidecarDataSourceUpdateByVersion(t *testing.T) {
	needSandbox(t)
	for _, mode := range []grafanaemu.Mode{grafanaemu.ModeV75, grafanaemu.ModeV13} {
		t.Run(string(mode), func(t *testing.T) {
			ctx := context.Background()
			emu, g := emulatedGrafana(t, mode)
			ns, suffix := testNamespace(t, "sidecar-ds-version-")
			uid := "e2e-ds-" + suffix
			file := func(url string) map[string]string {
				return map[string]string{"ds.yaml": fmt.Sprintf("apiVersion: 1\ndatasources:\n- {name: team %s, type: prometheus, uid: %s, url: %q}\n", suffix, uid, url)}
			}
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: ns, Labels: map[string]string{testDataSourceLabel: "1"}}, Data: file("http://old:9090")}
			dash := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dash", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
				Data: map[string]string{"d.json": fmt.Sprintf(`{"uid":"e2e-classic-%s","title":"classic","panels":[]}`, suffix)}}
			for _, c := range []*corev1.ConfigMap{cm, dash} {
				if _, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, c, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			startSidecarFor(t, ns, g)
			eventually(t, 10*time.Second, "the classic dashboard", func(context.Context) error {
				if code, body := grafanaDoAt(t, g, http.MethodGet, "/api/dashboards/uid/e2e-classic-"+suffix, nil); code != http.StatusOK {
					return fmt.Errorf("%d %s", code, body)
				}
				return nil
			})
			urlIs := func(want string) func(context.Context) error {
				return func(context.Context) error {
					code, body := grafanaDoAt(t, g, http.MethodGet, "/api/datasources/uid/"+uid, nil)
					if code != http.StatusOK || !strings.Contains(string(body), want) {
						return fmt.Errorf("%d %s", code, body)
					}
					return nil
				}
			}
			eventually(t, 10*time.Second, "the data source created", urlIs("http://old:9090"))
			time.Sleep(time.Second) // the first pass's writes are over
			emu.ResetStats()
			cm.Data = file("http://new:9090")
			if _, err := env.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the data source updated", urlIs("http://new:9090"))
			time.Sleep(time.Second) // room for a wrong second write
			st := emu.Stats()
			t.Logf("Grafana %s: the change took %d writes: %v", mode, st.Writes, st.ByRoute)
			if st.Writes != 1 {
				t.Errorf("%d writes for one changed data source, want 1: %v", st.Writes, st.ByRoute)
			}
		})
	}
}
