package grafanaemu

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// restConfig is how client-go reaches the emulator: the admin's basic auth,
// without client-go's default rate limit (5 a second after 10), which
// would only slow the tests.
func restConfig(c client) *rest.Config {
	return &rest.Config{Host: c.base, Username: testUser, Password: testPassword, QPS: -1}
}

// resource is a dynamic client for group/version's resource in "default".
func resource(t *testing.T, c client, group, version, res string) dynamic.ResourceInterface {
	t.Helper()
	dc, err := dynamic.NewForConfig(restConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	return dc.Resource(schema.GroupVersionResource{Group: group, Version: version, Resource: res}).Namespace(orgNamespace)
}

// send is client.do with a Content-Type of its own; it also returns the
// answer's headers.
func send(c client, method, path, contentType string, body any) (int, http.Header, any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if c.basic {
		req.SetBasicAuth(testUser, testPassword)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	_ = d.Decode(&v)
	return resp.StatusCode, resp.Header, v
}

var (
	groups12 = map[string][]string{dashboardGroup: {"v1beta1", "v0alpha1", "v2beta1", "v2alpha1"}, folderGroup: {"v1beta1"}}
	groups13 = map[string][]string{dashboardGroup: {"v2", "v2beta1", "v2alpha1", "v0alpha1", "v1", "v1beta1"}, folderGroup: {"v1", "v1beta1"}}
)

// TestDiscoveryByMode runs client-go's discovery client against each mode:
// before 12 there is no /apis and ServerGroups fails with NotFound (the 404
// of /api alone it tolerates); from 12 the groups come with their versions,
// the preferred first, and each version lists its resource.
func TestDiscoveryByMode(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want map[string][]string // group: versions, preferred first; nil: no /apis
	}{
		{"7.5", Options{Mode: ModeV75}, nil},
		{"current is 11", Options{}, nil},
		{"11", Options{Mode: ModeV11}, nil},
		{"12", Options{Mode: ModeV12}, groups12},
		{"13", Options{Mode: ModeV13}, groups13},
		{"current at 13.0.0 is 13", Options{Mode: ModeCurrent, Version: "13.0.0"}, groups13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newEmulator(t, tt.opts)
			dc, err := discovery.NewDiscoveryClientForConfig(restConfig(c))
			if err != nil {
				t.Fatal(err)
			}
			list, err := dc.ServerGroups()
			if tt.want == nil {
				if !apierrors.IsNotFound(err) {
					t.Fatalf("ServerGroups = %v, %v; want a NotFound error", list, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkGroups(t, list, tt.want)
			checkResources(t, dc, tt.want)
		})
	}
}

func checkGroups(t *testing.T, list *metav1.APIGroupList, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for _, g := range list.Groups {
		for _, v := range g.Versions {
			got[g.Name] = append(got[g.Name], v.Version)
		}
		if g.PreferredVersion.Version != got[g.Name][0] || g.PreferredVersion.GroupVersion != g.Name+"/"+got[g.Name][0] {
			t.Errorf("%s: preferred %+v, want the first version %s", g.Name, g.PreferredVersion, got[g.Name][0])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
}

func checkResources(t *testing.T, dc *discovery.DiscoveryClient, want map[string][]string) {
	t.Helper()
	for group, versions := range want {
		for _, v := range versions {
			rl, err := dc.ServerResourcesForGroupVersion(group + "/" + v)
			if err != nil {
				t.Fatalf("%s/%s: %v", group, v, err)
			}
			r := rl.APIResources
			if len(r) != 1 || !r[0].Namespaced || !strings.HasPrefix(strings.ToLower(r[0].Kind), r[0].SingularName) ||
				r[0].Name != r[0].SingularName+"s" || !strings.Contains(strings.Join(r[0].Verbs, ","), "create,delete,get,list,patch,update") {
				t.Errorf("%s/%s: resources %+v", group, v, r)
			}
		}
	}
	if _, err := dc.ServerResourcesForGroupVersion(dashboardGroup + "/v3"); !apierrors.IsNotFound(err) {
		t.Errorf("a version not served: %v, want NotFound", err)
	}
	if _, _, err := dc.ServerGroupsAndResources(); err != nil {
		t.Errorf("ServerGroupsAndResources: %v", err)
	}
}

// TestDiscoveryIgnoresAggregatedAccept: asked for aggregated discovery,
// /apis still answers the plain APIGroupList as application/json.
func TestDiscoveryIgnoresAggregatedAccept(t *testing.T) {
	_, c := newEmulator(t, Options{Mode: ModeV13})
	req, _ := http.NewRequest(http.MethodGet, c.base+"/apis", nil)
	req.SetBasicAuth(testUser, testPassword)
	req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&list)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || list["kind"] != "APIGroupList" {
		t.Errorf("GET /apis: %s %v", ct, list)
	}
}

// classicDashboard is a Dashboard in a classic version.
func classicDashboard(version, name, title, folder string) *unstructured.Unstructured {
	meta := map[string]any{"name": name, "labels": map[string]any{"team": "a"}}
	if folder != "" {
		meta["annotations"] = map[string]any{annFolder: folder}
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": dashboardGroup + "/" + version, "kind": "Dashboard",
		"metadata": meta, "spec": map[string]any{"title": title, "tags": []any{"classic"}, "schemaVersion": int64(41), "panels": []any{}}}}
}

// v2Dashboard is a Dashboard with the minimal v2 spec Grafana's docs give.
func v2Dashboard(version, name, title string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": dashboardGroup + "/" + version, "kind": "Dashboard",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{"title": title, "tags": []any{"v2tag"}, "cursorSync": "Off", "elements": map[string]any{},
			"layout": map[string]any{"kind": "GridLayout", "spec": map[string]any{"items": []any{}}},
			"links":  []any{}, "preload": false, "annotations": []any{}, "variables": []any{},
			"timeSettings": map[string]any{"timezone": "browser", "from": "now-6h", "to": "now"}}}}
}

// TestDynamicClassicRoundTrip: client-go's dynamic client creates, reads,
// updates (and is refused a stale update) and deletes a classic dashboard,
// which the legacy API sees all along.
func TestDynamicClassicRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		mode    Mode
		version string
	}{{ModeV12, "v1beta1"}, {ModeV13, "v1"}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ctx := context.Background()
			_, c := newEmulator(t, Options{Mode: tc.mode})
			c.mustDo(200, "POST", "/api/folders", map[string]any{"uid": "f", "title": "F"})
			dash := resource(t, c, dashboardGroup, tc.version, "dashboards")
			created, err := dash.Create(ctx, classicDashboard(tc.version, "classic", "Classic", "f"), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a := created.GetAnnotations(); created.GetGeneration() != 1 || a[annCreatedBy] != "user:"+testUser || a[annFolder] != "f" || created.GetLabels()["team"] != "a" {
				t.Errorf("created: %v", created.Object)
			}
			if _, err := dash.Create(ctx, classicDashboard(tc.version, "classic", "Again", ""), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
				t.Errorf("second create: %v, want AlreadyExists", err)
			}
			got, err := dash.Get(ctx, "classic", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_ = unstructured.SetNestedField(got.Object, "Classic 2", "spec", "title")
			updated, err := dash.Update(ctx, got, metav1.UpdateOptions{})
			if err != nil || updated.GetGeneration() != 2 || updated.GetResourceVersion() == got.GetResourceVersion() {
				t.Fatalf("update: %v %v", err, updated)
			}
			if _, err := dash.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Errorf("stale update: %v, want Conflict", err)
			}
			legacy := c.mustDo(200, "GET", "/api/dashboards/uid/classic", nil)
			if d := diffProjected(legacy["dashboard"], map[string]any{"title": "Classic 2", "version": 2, "uid": "classic"}); len(d) > 0 {
				t.Errorf("legacy GET: %v", d)
			}
			if _, v := c.do("GET", "/api/search?tag=classic", nil); uids(v) != "classic" {
				t.Errorf("legacy search by tag: %s", uids(v))
			}
			if err := dash.Delete(ctx, "classic", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := dash.Get(ctx, "classic", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after delete: %v, want NotFound", err)
			}
			c.mustDo(404, "GET", "/api/dashboards/uid/classic", nil)
		})
	}
}

// TestV2Dashboard: a v2 dashboard is found by the legacy search, refused by
// the legacy GET (406), read through a classic version as a failed
// conversion, and moved back to classic by a PUT through a classic version.
func TestV2Dashboard(t *testing.T) {
	for _, tc := range []struct {
		mode        Mode
		v2, classic string
	}{{ModeV12, "v2beta1", "v1beta1"}, {ModeV13, "v2", "v1"}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ctx := context.Background()
			_, c := newEmulator(t, Options{Mode: tc.mode})
			v2 := resource(t, c, dashboardGroup, tc.v2, "dashboards")
			classic := resource(t, c, dashboardGroup, tc.classic, "dashboards")
			sent := v2Dashboard(tc.v2, "dyn", "Dynamic")
			if _, err := v2.Create(ctx, sent, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, v := c.do("GET", "/api/search?tag=v2tag", nil); uids(v) != "dyn" {
				t.Errorf("legacy search by tag: %q, want dyn", uids(v))
			}
			want406 := "dashboard api version not supported, use /apis/dashboard.grafana.app/" + tc.v2 + "/namespaces/default/dashboards/dyn instead"
			if got := c.mustDo(406, "GET", "/api/dashboards/uid/dyn", nil); got["message"] != want406 {
				t.Errorf("legacy GET: %v", got)
			}
			same, err := v2.Get(ctx, "dyn", metav1.GetOptions{})
			if err != nil || !reflect.DeepEqual(canonical(same.Object["spec"]), canonical(sent.Object["spec"])) || len(same.Object["status"].(map[string]any)) != 0 {
				t.Errorf("v2 read: %v %v", err, same)
			}
			other, err := classic.Get(ctx, "dyn", metav1.GetOptions{})
			wantStatus := map[string]any{"conversion": map[string]any{"failed": true, "storedVersion": tc.v2, "error": conversionNotEmulated}}
			if err != nil || len(other.Object["spec"].(map[string]any)) != 0 || !reflect.DeepEqual(other.Object["status"], wantStatus) {
				t.Errorf("classic read of a v2 dashboard: %v %v", err, other)
			}
			_ = unstructured.SetNestedMap(other.Object, map[string]any{"title": "Classic now", "panels": []any{}}, "spec")
			if _, err := classic.Update(ctx, other, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			c.mustDo(200, "GET", "/api/dashboards/uid/dyn", nil)
			back, _ := v2.Get(ctx, "dyn", metav1.GetOptions{})
			if stored, _, _ := unstructured.NestedString(back.Object, "status", "conversion", "storedVersion"); stored != tc.classic {
				t.Errorf("after the classic PUT, stored in %q, want %s", stored, tc.classic)
			}
		})
	}
}

// TestFoldersAPI: folders through /apis are the legacy API's folders.
func TestFoldersAPI(t *testing.T) {
	for _, tc := range []struct {
		mode    Mode
		version string
	}{{ModeV12, "v1beta1"}, {ModeV13, "v1"}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ctx := context.Background()
			_, c := newEmulator(t, Options{Mode: tc.mode})
			folders := resource(t, c, folderGroup, tc.version, "folders")
			folder := func(name, title, parent string) *unstructured.Unstructured {
				u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": folderGroup + "/" + tc.version, "kind": "Folder",
					"metadata": map[string]any{"name": name}, "spec": map[string]any{"title": title}}}
				if parent != "" {
					u.SetAnnotations(map[string]string{annFolder: parent})
				}
				return u
			}
			for _, f := range []*unstructured.Unstructured{folder("p", "P", ""), folder("c", "C", "p")} {
				if _, err := folders.Create(ctx, f, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.mustDo(200, "GET", "/api/folders/c", nil); got["parentUid"] != "p" {
				t.Errorf("legacy GET of the child: %v", got)
			}
			checkFolderErrors(t, ctx, folders, folder)
			got, _ := folders.Get(ctx, "c", metav1.GetOptions{})
			_ = unstructured.SetNestedField(got.Object, "C2", "spec", "title")
			got.SetAnnotations(nil) // to the root
			updated, err := folders.Update(ctx, got, metav1.UpdateOptions{})
			if err != nil || updated.GetGeneration() != 2 {
				t.Fatalf("update: %v %v", err, updated)
			}
			if _, err := folders.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Errorf("stale update: %v, want Conflict", err)
			}
			if got := c.mustDo(200, "GET", "/api/folders/c", nil); got["title"] != "C2" || got["parentUid"] != nil {
				t.Errorf("legacy GET after the move: %v", got)
			}
			c.mustDo(200, "POST", "/api/dashboards/db", map[string]any{"dashboard": map[string]any{"uid": "in-c", "title": "In C"}, "folderUid": "c"})
			if err := folders.Delete(ctx, "c", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := folders.Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after delete: %v", err)
			}
			c.mustDo(404, "GET", "/api/dashboards/uid/in-c", nil)
		})
	}
}

func checkFolderErrors(t *testing.T, ctx context.Context, folders dynamic.ResourceInterface, folder func(name, title, parent string) *unstructured.Unstructured) {
	t.Helper()
	if _, err := folders.Create(ctx, folder("p", "P again", ""), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("same name: %v, want AlreadyExists", err)
	}
	if _, err := folders.Create(ctx, folder("x", "X", "nowhere"), metav1.CreateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("missing parent: %v, want BadRequest", err)
	}
	if _, err := folders.Create(ctx, folder("y", "", ""), metav1.CreateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("no title: %v, want BadRequest", err)
	}
	p, _ := folders.Get(ctx, "p", metav1.GetOptions{})
	p.SetAnnotations(map[string]string{annFolder: "c"})
	if _, err := folders.Update(ctx, p, metav1.UpdateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("moving p below its child: %v, want BadRequest", err)
	}
}

// TestLegacyByVersion: what the legacy API does differently per version.
func TestLegacyByVersion(t *testing.T) {
	bareV2 := map[string]any{"dashboard": map[string]any{"uid": "bare", "title": "Bare v2", "elements": map[string]any{},
		"layout": map[string]any{"kind": "GridLayout", "spec": map[string]any{"items": []any{}}}}}
	tests := []struct {
		mode                              Mode
		wantBareV2, wantPutByID, wantApis int
	}{
		{ModeV75, 200, 200, 404},
		{ModeCurrent, 200, 200, 404},
		{ModeV11, 200, 200, 404},
		{ModeV12, 200, 200, 200},
		{ModeV13, 400, 404, 200},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			_, c := newEmulator(t, Options{Mode: tt.mode})
			code, v := c.do("POST", "/api/dashboards/db", bareV2)
			if code != tt.wantBareV2 || (code == 400 && v.(map[string]any)["message"] != v2OnLegacySave) {
				t.Errorf("bare v2 save: %d %v, want %d", code, v, tt.wantBareV2)
			}
			created := c.mustDo(200, "POST", "/api/datasources", map[string]any{"uid": "p", "name": "P", "type": "prometheus", "url": "http://a"})
			body := map[string]any{"uid": "p", "name": "P", "type": "prometheus", "url": "http://b"}
			if code, v := c.do("PUT", "/api/datasources/"+jsonText(created["id"]), body); code != tt.wantPutByID {
				t.Errorf("PUT by id: %d %v, want %d", code, v, tt.wantPutByID)
			}
			if code, v := c.do("GET", "/apis", nil); code != tt.wantApis || (code == 404 && v.(map[string]any)["message"] != "Not found") {
				t.Errorf("GET /apis: %d %v, want %d", code, v, tt.wantApis)
			}
			c.mustDo(404, "GET", "/api", nil)
		})
	}
}

// apisStep is one request of TestAPIsRequests and what it must answer:
// the code, and for an error the Status's reason and a text its message
// holds.
type apisStep struct {
	rule               string
	c                  client
	method, path, ct   string
	body               any
	wantCode           int
	wantReason, inText string
}

// apisSteps are TestAPIsRequests' requests, in order, on a Grafana 13 with
// a viewer token and the provisioned dashboard "prov".
func apisSteps(admin client) []apisStep {
	const dashes = "/apis/dashboard.grafana.app/v1/namespaces/default/dashboards"
	obj := func(name, title, folder string) map[string]any {
		return classicDashboard("v1", name, title, folder).Object
	}
	merge := "application/merge-patch+json"
	return []apisStep{
		{"no credentials", admin.anonymous(), "GET", "/apis", "", nil, 401, "Unauthorized", ""},
		{"a viewer reads", admin.bearer("viewer"), "GET", dashes, "", nil, 200, "", ""},
		{"a viewer may not write", admin.bearer("viewer"), "POST", dashes, "", obj("a", "A", ""), 403, "Forbidden", ""},
		{"another organisation's namespace", admin, "GET", strings.Replace(dashes, "default", "org-2", 1), "", nil, 403, "Forbidden", "org-2"},
		{"a version not served", admin, "GET", strings.Replace(dashes, "/v1/", "/v3/", 1), "", nil, 404, "NotFound", ""},
		{"a group not served", admin, "GET", "/apis/playlist.grafana.app/v0alpha1", "", nil, 404, "NotFound", ""},
		{"the group's other resource", admin, "GET", "/apis/dashboard.grafana.app/v1/namespaces/default/folders", "", nil, 404, "NotFound", ""},
		{"subresources are not emulated", admin, "GET", dashes + "/prov/dto", "", nil, 404, "NotFound", ""},
		{"discovery is read-only", admin, "POST", "/apis", "", map[string]any{}, 405, "MethodNotAllowed", ""},
		{"create", admin, "POST", dashes, "", obj("a", "A", ""), 201, "", ""},
		{"generateName", admin, "POST", dashes, "", map[string]any{"metadata": map[string]any{"generateName": "gen-"}, "spec": map[string]any{"title": "G"}}, 201, "", ""},
		{"no name", admin, "POST", dashes, "", map[string]any{"spec": map[string]any{"title": "N"}}, 400, "BadRequest", "name"},
		{"name over 40 characters", admin, "POST", dashes, "", obj(strings.Repeat("n", 41), "N", ""), 400, "BadRequest", "too long"},
		{"no title", admin, "POST", dashes, "", obj("b", "", ""), 400, "BadRequest", "title"},
		{"folder missing", admin, "POST", dashes, "", obj("b", "B", "nowhere"), 400, "BadRequest", "nowhere"},
		{"apiVersion of another version", admin, "POST", dashes, "", classicDashboard("v1beta1", "b", "B", "").Object, 400, "BadRequest", "API version"},
		{"namespace differs from the path", admin, "POST", dashes, "", map[string]any{"metadata": map[string]any{"name": "b", "namespace": "org-2"}, "spec": map[string]any{"title": "B"}}, 400, "BadRequest", "namespace"},
		{"name differs from the path", admin, "PUT", dashes + "/a", "", obj("other", "T", ""), 400, "BadRequest", "does not match"},
		{"update of a missing dashboard", admin, "PUT", dashes + "/zz", "", obj("zz", "Z", ""), 404, "NotFound", ""},
		{"provisioned: no update", admin, "PUT", dashes + "/prov", "", obj("prov", "P", ""), 400, "BadRequest", "provisioned"},
		{"provisioned: no delete", admin, "DELETE", dashes + "/prov", "", nil, 400, "BadRequest", "provisioned"},
		{"JSON patch is not emulated", admin, "PATCH", dashes + "/a", "application/json-patch+json", []any{}, 415, "UnsupportedMediaType", ""},
		{"merge patch", admin, "PATCH", dashes + "/a", merge, map[string]any{"spec": map[string]any{"title": "A2"}}, 200, "", ""},
		{"stale resourceVersion in a patch", admin, "PATCH", dashes + "/a", merge, map[string]any{"metadata": map[string]any{"resourceVersion": "1"}}, 409, "Conflict", "modified"},
		{"provisioned: delete now", admin, "DELETE", dashes + "/prov?gracePeriodSeconds=0", "", nil, 200, "", ""},
		{"delete of a missing dashboard", admin, "DELETE", dashes + "/prov", "", nil, 404, "NotFound", ""},
	}
}

// TestAPIsRequests: status codes and Status reasons of /apis, one request
// after another on one Grafana 13.
func TestAPIsRequests(t *testing.T) {
	_, admin := newEmulator(t, Options{Mode: ModeV13, Tokens: map[string]Role{"viewer": RoleViewer},
		Provisioned: Provisioned{Dashboards: []ProvisionedDashboard{{Dashboard: map[string]any{"uid": "prov", "title": "From file"}}}}})
	for _, s := range apisSteps(admin) {
		code, _, v := send(s.c, s.method, s.path, cmpOr(s.ct, "application/json"), s.body)
		m, _ := v.(map[string]any)
		if code != s.wantCode {
			t.Errorf("%s: %s %s = %d, want %d: %v", s.rule, s.method, s.path, code, s.wantCode, v)
			continue
		}
		if s.wantReason == "" {
			continue
		}
		if d := diffProjected(m, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": s.wantReason, "code": s.wantCode}); len(d) > 0 {
			t.Errorf("%s: %v", s.rule, d)
		}
		if !strings.Contains(str(m["message"]), s.inText) {
			t.Errorf("%s: message %q lacks %q", s.rule, m["message"], s.inText)
		}
	}
	if got := admin.mustDo(200, "GET", "/api/dashboards/uid/a", nil); got["dashboard"].(map[string]any)["title"] != "A2" {
		t.Errorf("after the merge patch: %v", got["dashboard"])
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestListSelectorsAndPages: labelSelector and fieldSelector filter, limit
// and continue page, in name order.
func TestListSelectorsAndPages(t *testing.T) {
	_, c := newEmulator(t, Options{Mode: ModeV12})
	const dashes = "/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards"
	for _, n := range []string{"c", "a", "b"} {
		d := classicDashboard("v1beta1", n, strings.ToUpper(n), "")
		if n == "b" {
			d.SetLabels(map[string]string{"team": "b"})
		}
		c.mustDo(201, "POST", dashes, d.Object)
	}
	tests := []struct {
		query string
		want  []string // the names of each page
	}{
		{"", []string{"a,b,c"}},
		{"labelSelector=team%3Da", []string{"a,c"}},
		{"labelSelector=team+in+(b)", []string{"b"}},
		{"fieldSelector=metadata.name%3Dc", []string{"c"}},
		{"limit=2", []string{"a,b", "c"}},
	}
	for _, tt := range tests {
		var pages []string
		for q, more := tt.query, true; more; {
			list := c.mustDo(200, "GET", dashes+"?"+q, nil)
			if list["kind"] != "DashboardList" || list["metadata"].(map[string]any)["resourceVersion"] == "" {
				t.Fatalf("%s: %v", tt.query, list)
			}
			var names []string
			for _, it := range list["items"].([]any) {
				names = append(names, itemName(it.(map[string]any)))
			}
			pages = append(pages, strings.Join(names, ","))
			cont, _ := list["metadata"].(map[string]any)["continue"].(string)
			q, more = tt.query+"&continue="+cont, cont != ""
		}
		if !reflect.DeepEqual(pages, tt.want) {
			t.Errorf("%s: pages %q, want %q", tt.query, pages, tt.want)
		}
	}
}
