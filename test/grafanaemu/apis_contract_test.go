package grafanaemu

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// apisExample is a request whose answer Grafana (or upstream Kubernetes,
// whose apiserver Grafana runs) documents; testdata/apis.md lists the
// sources.
type apisExample struct {
	name, source string
	mode         Mode
	call         func(c client) (int, any) // after the folder fef30w4jaxla8b is made
	code         int
	doc          string // the documented answer, trimmed where the source trims it
	// how: "exact" (the same keys, and the same values but at valueFree)
	// or "shape" (the doc's keys are there). Either way the JSON types
	// must match.
	how       string
	valueFree []string
	// extra are the keys the emulator adds to the doc's, each with why.
	extra map[string]string
}

const exampleDashboards = "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards"

// create posts obj through path as a service account (the docs' examples
// were made by one), answering the status and the body.
func create(c client, path string, obj map[string]any) (int, any) {
	code, _, v := send(c.bearer("sa"), "POST", path, "application/json", obj)
	return code, v
}

func exampleDashboard(name string) map[string]any {
	return map[string]any{"apiVersion": "dashboard.grafana.app/v1beta1", "kind": "Dashboard",
		"metadata": map[string]any{"name": name, "annotations": map[string]any{annFolder: "fef30w4jaxla8b"}},
		"spec":     map[string]any{"title": "Example Dashboard", "schemaVersion": 41, "panels": []any{}}}
}

var apisExamples = []apisExample{{
	name: "v1beta1 create", source: "dashboard.md, create example (managedFields trimmed)", mode: ModeV12, code: 201,
	call: func(c client) (int, any) { return create(c, exampleDashboards, exampleDashboard("gdxccn")) },
	doc: `{"kind":"Dashboard","apiVersion":"dashboard.grafana.app/v1beta1",
	 "metadata":{"name":"gdxccn","namespace":"default","uid":"Cc7fA5ffHY94NnHZyMxXvFlpFtOmkK3qkBcVZPKSPXcX",
	   "resourceVersion":"1","generation":1,"creationTimestamp":"2025-04-24T20:35:29Z",
	   "labels":{"grafana.app/deprecatedInternalID":"11"},
	   "annotations":{"grafana.app/createdBy":"service-account:dejwtrofg77y8d","grafana.app/folder":"fef30w4jaxla8b"}},
	 "spec":{"title":"Example Dashboard","schemaVersion":41,"panels":[]},
	 "status":{}}`,
	how: "exact", valueFree: []string{"metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp",
		"metadata.labels.grafana.app/deprecatedInternalID", "metadata.annotations.grafana.app/createdBy"},
}, {
	name: "delete", source: "dashboard.md, delete example", mode: ModeV12, code: 200,
	call: func(c client) (int, any) {
		create(c, exampleDashboards, exampleDashboard("gdxccn"))
		code, _, v := send(c, "DELETE", exampleDashboards+"/gdxccn", "application/json", nil)
		return code, v
	},
	doc: `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",
	 "details":{"name":"gdxccn","group":"dashboard.grafana.app","kind":"dashboards","uid":"Cc7fA5ff"}}`,
	how: "exact", valueFree: []string{"details.uid"},
}, {
	name: "stale update", source: "upstream Kubernetes Conflict, as a Grafana client documents it", mode: ModeV12, code: 409,
	call: func(c client) (int, any) {
		create(c, exampleDashboards, exampleDashboard("abc123"))
		stale := exampleDashboard("abc123")
		stale["metadata"].(map[string]any)["resourceVersion"] = "999999"
		code, _, v := send(c, "PUT", exampleDashboards+"/abc123", "application/json", stale)
		return code, v
	},
	doc: `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
	 "message":"Operation cannot be fulfilled on dashboards.dashboard.grafana.app \"abc123\": the object has been modified; please apply your changes to the latest version and try again",
	 "reason":"Conflict","details":{"name":"abc123","group":"dashboard.grafana.app","kind":"dashboards"},"code":409}`,
	how: "exact",
}, {
	name: "not found", source: "upstream Kubernetes NotFound; message quoted by grafana/gcx", mode: ModeV13, code: 404,
	call: func(c client) (int, any) {
		code, _, v := send(c, "GET", "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards/my-dash", "", nil)
		return code, v
	},
	doc: `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"dashboards.dashboard.grafana.app \"my-dash\" not found",
	 "reason":"NotFound","details":{"name":"my-dash","group":"dashboard.grafana.app","kind":"dashboards"},"code":404}`,
	how: "exact",
}, {
	name: "folder v1 create", source: "folder.md example", mode: ModeV13, code: 201,
	call: func(c client) (int, any) {
		return create(c, "/apis/folder.grafana.app/v1/namespaces/default/folders", map[string]any{
			"metadata": map[string]any{"name": "aef30vrzxs3y8d", "annotations": map[string]any{annFolder: "fef30w4jaxla8b"}},
			"spec":     map[string]any{"title": "test"}})
	},
	doc: `{"kind":"Folder","apiVersion":"folder.grafana.app/v1",
	 "metadata":{"name":"aef30vrzxs3y8d","namespace":"default","uid":"KCtv1F","resourceVersion":"1741343686000",
	   "creationTimestamp":"2025-03-07T10:34:46Z",
	   "annotations":{"grafana.app/createdBy":"service-account:cef2t2rfm73lsb","grafana.app/folder":"fef30w4jaxla8b"}},
	 "spec":{"title":"test"}}`,
	how: "exact", valueFree: []string{"metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp", "metadata.annotations.grafana.app/createdBy"},
	extra: map[string]string{"metadata.generation": "the emulator gives folders a generation as apis.md's envelope lists it"},
}, {
	name: "legacy GET of a v2 dashboard", source: "pkg/api/dashboard.go GetDashboard; body from grafana/mcp-grafana tests", mode: ModeV12, code: 406,
	call: func(c client) (int, any) {
		create(c, "/apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards", v2Dashboard("v2beta1", "k8s-dashboard-uid", "V2").Object)
		return c.do("GET", "/api/dashboards/uid/k8s-dashboard-uid", nil)
	},
	doc: `{"message":"dashboard api version not supported, use /apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards/k8s-dashboard-uid instead"}`,
	how: "exact",
}, {
	name: "bare v2 on the legacy save", source: "pkg/api/dashboard.go postDashboard (PR #118665)", mode: ModeV13, code: 400,
	call: func(c client) (int, any) {
		return c.do("POST", "/api/dashboards/db", map[string]any{"dashboard": v2Dashboard("v2", "", "V2").Object["spec"]})
	},
	doc: `{"message":"dashboard appears to be in v2 format. Please use the /apis/dashboard.grafana.app/v2 API OR it should include a object wrapper with an explicit 'apiVersion' and move the body into a 'spec' element"}`,
	how: "exact",
}, {
	name: "minimal v2 envelope", source: "Pulumi apps/v2 dashboard and terraform grafana_apps_dashboard_dashboard_v2beta1 examples", mode: ModeV12, code: 201,
	call: func(c client) (int, any) {
		return create(c, "/apis/dashboard.grafana.app/v2beta1/namespaces/default/dashboards", map[string]any{
			"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard",
			"metadata": map[string]any{"name": "example-dashboard-v2", "annotations": map[string]any{annFolder: "fef30w4jaxla8b"}},
			"spec":     v2Dashboard("v2beta1", "", "Example Dashboard V2").Object["spec"]})
	},
	doc: `{"apiVersion":"dashboard.grafana.app/v2beta1","kind":"Dashboard",
	 "metadata":{"name":"example-dashboard-v2","annotations":{"grafana.app/folder":"fef30w4jaxla8b"}},
	 "spec":{"title":"Example Dashboard V2","cursorSync":"Off","elements":{},
	   "layout":{"kind":"GridLayout","spec":{"items":[]}},
	   "links":[],"preload":false,"annotations":[],"variables":[],
	   "timeSettings":{"timezone":"browser","from":"now-6h","to":"now"}},"status":{}}`,
	how: "shape",
}, {
	name: "list page", source: "dashboard.md, folder.md list examples", mode: ModeV12, code: 200,
	call: func(c client) (int, any) {
		create(c, exampleDashboards, exampleDashboard("one"))
		create(c, exampleDashboards, exampleDashboard("two"))
		return c.do("GET", exampleDashboards+"?limit=1", nil)
	},
	doc: `{"kind":"DashboardList","apiVersion":"dashboard.grafana.app/v1beta1",
	 "metadata":{"resourceVersion":"1761704224207189","continue":"eyJvIjoxNTIsInYiOjE3NjE3MDQyMjQyMDcxODksInMiOmZhbHNlfQ=="},
	 "items":[{"kind":"Dashboard","apiVersion":"dashboard.grafana.app/v1beta1","metadata":{"name":"one"},"spec":{"title":"Example Dashboard"}}]}`,
	how: "shape",
}, {
	name: "group list", source: "grafana/gcx and grafana/mcp-grafana tests (APIGroupList)", mode: ModeV12, code: 200,
	call: func(c client) (int, any) { return c.do("GET", "/apis", nil) },
	doc: `{"kind":"APIGroupList","groups":[{"name":"dashboard.grafana.app",
	 "versions":[{"groupVersion":"dashboard.grafana.app/v1beta1","version":"v1beta1"}],
	 "preferredVersion":{"groupVersion":"dashboard.grafana.app/v1beta1","version":"v1beta1"}}]}`,
	how: "shape",
}, {
	name: "resource list", source: "upstream APIResourceList, as grafanactl and grafana-operator read it", mode: ModeV12, code: 200,
	call: func(c client) (int, any) { return c.do("GET", "/apis/dashboard.grafana.app/v1beta1", nil) },
	doc: `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"dashboard.grafana.app/v1beta1",
	 "resources":[{"name":"dashboards","singularName":"dashboard","namespaced":true,"kind":"Dashboard","verbs":["create"]}]}`,
	how: "shape",
}}

// TestAPIsExamples holds the emulator's answers against the documented ones.
func TestAPIsExamples(t *testing.T) {
	for _, ex := range apisExamples {
		t.Run(ex.name, func(t *testing.T) {
			_, c := newEmulator(t, Options{Mode: ex.mode, Tokens: map[string]Role{"sa": RoleEditor}})
			c.mustDo(200, "POST", "/api/folders", map[string]any{"uid": "fef30w4jaxla8b", "title": "Parent"})
			var doc any
			if err := json.Unmarshal([]byte(ex.doc), &doc); err != nil {
				t.Fatalf("the example (%s) is not JSON: %v", ex.source, err)
			}
			code, got := ex.call(c)
			if code != ex.code {
				t.Fatalf("%d, documented %d (%s): %v", code, ex.code, ex.source, got)
			}
			var diff []string
			if ex.how == "exact" {
				diff = withoutExtra(diffJSON(got, doc, ex.valueFree...), ex.extra)
			}
			diff = append(diff, diffShape(got, doc)...)
			if len(diff) > 0 {
				t.Errorf("against %s: %v\n%s", ex.source, diff, jsonText(got))
			}
		})
	}
}

// TestAPIsIdentityAnnotations: createdBy names the caller as Grafana does,
// <type>:<id>.
func TestAPIsIdentityAnnotations(t *testing.T) {
	_, c := newEmulator(t, Options{Mode: ModeV12, Tokens: map[string]Role{"sa": RoleEditor}})
	c.mustDo(200, "POST", "/api/folders", map[string]any{"uid": "fef30w4jaxla8b", "title": "Parent"})
	for who, want := range map[string]string{"sa": "service-account:sa-token", "": "user:" + testUser} {
		caller := c
		if who != "" {
			caller = c.bearer(who)
		}
		code, _, v := send(caller, "POST", exampleDashboards, "application/json", exampleDashboard("by-"+cmpOr(who, "admin")))
		ann, _ := itemMeta(v.(map[string]any))["annotations"].(map[string]any)
		if code != 201 || ann[annCreatedBy] != want {
			t.Errorf("created by %q: %d, createdBy %v, want %s", who, code, ann[annCreatedBy], want)
		}
	}
}

// withoutExtra drops from diff the extra keys the example lists.
func withoutExtra(diff []string, extra map[string]string) []string {
	var out []string
	for _, d := range diff {
		if _, ok := extra[strings.TrimPrefix(d, "extra ")]; !ok || !strings.HasPrefix(d, "extra ") {
			out = append(out, d)
		}
	}
	return out
}

// diffShape lists where got lacks a key want has, or holds another JSON
// type there (object, array, string, number, bool, null); arrays compare
// by their first elements.
func diffShape(got, want any) []string {
	var out []string
	var walk func(path string, g, w any)
	walk = func(path string, g, w any) {
		if jsonType(g) != jsonType(w) {
			out = append(out, fmt.Sprintf("%s: %s, want %s", path, jsonType(g), jsonType(w)))
			return
		}
		switch w := w.(type) {
		case map[string]any:
			for k, wv := range w {
				gv, ok := g.(map[string]any)[k]
				if !ok {
					out = append(out, "missing "+strings.TrimPrefix(path+"."+k, "."))
					continue
				}
				walk(strings.TrimPrefix(path+"."+k, "."), gv, wv)
			}
		case []any:
			if gl := g.([]any); len(w) > 0 && len(gl) > 0 {
				walk(path+"[0]", gl[0], w[0])
			}
		}
	}
	walk("", canonical(got), canonical(want))
	sort.Strings(out)
	return out
}

func jsonType(v any) string {
	if v == nil {
		return "null"
	}
	return map[reflect.Kind]string{reflect.Map: "object", reflect.Slice: "array", reflect.String: "string",
		reflect.Float64: "number", reflect.Bool: "bool"}[reflect.TypeOf(v).Kind()]
}
