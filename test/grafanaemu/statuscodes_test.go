package grafanaemu

import (
	"net/http"
	"os"
	"slices"
	"testing"
)

// currentGrafanaOverrides are where the recorded current-rules side (B) is
// not what current Grafana does, each with the source that says so.
var currentGrafanaOverrides = struct {
	status map[string]int
	// fields B lacked that current Grafana sends, and the emulator keeps
	present map[string][]string
}{
	// Same title in the same folder under another uid: 412 name-exists only
	// before Grafana 11.3 (grafana/grafana PR #90687); since then 200.
	status: map[string]int{"dash.samename": http.StatusOK},
	// B's list lost the jsonData saved with the data source; Grafana's
	// list returns each data source's jsonData as saved.
	present: map[string][]string{"ds.list": {"[].jsonData.timeInterval"}},
}

// TestStatusCodes sends status-codes-7.5.txt's 17 calls, in its order, to
// the emulator in each mode: 7.5 must answer what real Grafana 7.5 did (A)
// with A's fields, current what the current-rules side did (B) with B's,
// but for the overrides above.
func TestStatusCodes(t *testing.T) {
	raw, err := os.ReadFile("testdata/status-codes-7.5.txt")
	if err != nil {
		t.Fatal(err)
	}
	calls, err := parseStatusCodes(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModeV75, ModeCurrent} {
		t.Run(string(mode), func(t *testing.T) {
			_, admin := newEmulator(t, Options{Mode: mode})
			var folderID any
			ds := map[string]any{"uid": "prom-main", "name": "Prometheus", "type": "prometheus", "access": "proxy",
				"url": "http://127.0.0.1:19090", "isDefault": true, "jsonData": map[string]any{"httpMethod": "POST", "timeInterval": "30s"}}
			save := func(uid, title string, version any) map[string]any {
				d := map[string]any{"uid": uid, "tags": []any{"metricscale"}, "version": version}
				if title != "" {
					d["title"] = title
				}
				return map[string]any{"dashboard": d, "folderUid": "metricscale", "folderId": folderID}
			}
			requests := map[string]func() (string, string, any){
				"ds.create":      func() (string, string, any) { return "POST", "/api/datasources", ds },
				"ds.dup":         func() (string, string, any) { return "POST", "/api/datasources", ds },
				"ds.get.uid":     func() (string, string, any) { return "GET", "/api/datasources/uid/prom-main", nil },
				"ds.get.name":    func() (string, string, any) { return "GET", "/api/datasources/name/Prometheus", nil },
				"ds.list":        func() (string, string, any) { return "GET", "/api/datasources", nil },
				"ds.get.missing": func() (string, string, any) { return "GET", "/api/datasources/uid/no-such-uid", nil },
				"folder.create": func() (string, string, any) {
					return "POST", "/api/folders", map[string]any{"uid": "metricscale", "title": "metricscale"}
				},
				"folder.get": func() (string, string, any) { return "GET", "/api/folders/metricscale", nil },
				"dash.create": func() (string, string, any) {
					return "POST", "/api/dashboards/db", save("overview", "metricscale overview", nil)
				},
				"dash.stale": func() (string, string, any) {
					return "POST", "/api/dashboards/db", save("overview", "metricscale overview", 0)
				},
				"dash.samename": func() (string, string, any) {
					return "POST", "/api/dashboards/db", save("overview-copy", "metricscale overview", nil)
				},
				"dash.notitle":     func() (string, string, any) { return "POST", "/api/dashboards/db", save("untitled", "", nil) },
				"dash.get":         func() (string, string, any) { return "GET", "/api/dashboards/uid/overview", nil },
				"dash.get.missing": func() (string, string, any) { return "GET", "/api/dashboards/uid/no-such-uid", nil },
				"search":           func() (string, string, any) { return "GET", "/api/search?query=metricscale", nil },
				"dash.delete":      func() (string, string, any) { return "DELETE", "/api/dashboards/uid/overview", nil },
				"noauth":           func() (string, string, any) { return "GET", "/api/search", nil },
			}
			for _, call := range calls {
				req, ok := requests[call.name]
				if !ok {
					t.Errorf("recorded call %q has no request in this test", call.name)
					continue
				}
				delete(requests, call.name)
				c := admin
				if call.name == "noauth" {
					c = admin.anonymous()
				}
				method, path, body := req()
				code, v := c.do(method, path, body)
				if call.name == "folder.create" {
					folderID = v.(map[string]any)["id"]
				}
				want, present, absent := call.a, call.onlyInA, call.onlyInB
				if mode == ModeCurrent {
					want, present, absent = call.b, call.onlyInB, call.onlyInA
					if o, ok := currentGrafanaOverrides.status[call.name]; ok {
						want = o
					}
				}
				if want == 0 { // not recorded: a create succeeds with 200
					want = http.StatusOK
				}
				if code != want {
					t.Errorf("%s (%s %s): %d, want %d: %v", call.name, method, path, code, want, v)
				}
				paths := jsonPaths(v)
				for _, p := range present {
					if !paths[p] {
						t.Errorf("%s: the answer lacks %s: %s", call.name, p, jsonText(v))
					}
				}
				for _, p := range absent {
					if mode == ModeCurrent && slices.Contains(currentGrafanaOverrides.present[call.name], p) {
						if !paths[p] {
							t.Errorf("%s: the answer lacks %s, which current Grafana keeps", call.name, p)
						}
						continue
					}
					if paths[p] {
						t.Errorf("%s: the answer has %s, which %s Grafana does not send: %s", call.name, p, mode, jsonText(v))
					}
				}
			}
			for name := range requests {
				t.Errorf("request %q matches no recorded call", name)
			}
		})
	}
}
