package grafanaemu

import (
	"net/http"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// apiGroup is one group /apis serves, with its one resource.
type apiGroup struct {
	name     string   // dashboard.grafana.app
	resource string   // dashboards
	kind     string   // Dashboard
	versions []string // served, the preferred first
}

func (g apiGroup) serves(version string) bool { return slices.Contains(g.versions, version) }

// apiGroups are the groups served, by major version (testdata/apis.md has
// the sources). 12 prefers the classic v1beta1; 13 serves v1 and v2 and
// prefers v2, because dynamic dashboards (dashboardNewLayouts) are on by
// default from 13, which puts v2 first in the version priority.
func (s *Server) apiGroups() []apiGroup {
	if s.major() >= 13 {
		return []apiGroup{
			{dashboardGroup, "dashboards", "Dashboard", []string{"v2", "v2beta1", "v2alpha1", "v0alpha1", "v1", "v1beta1"}},
			{folderGroup, "folders", "Folder", []string{"v1", "v1beta1"}},
		}
	}
	return []apiGroup{
		{dashboardGroup, "dashboards", "Dashboard", []string{"v1beta1", "v0alpha1", "v2beta1", "v2alpha1"}},
		{folderGroup, "folders", "Folder", []string{"v1beta1"}},
	}
}

func (s *Server) groupByName(name string) (apiGroup, bool) {
	for _, g := range s.apiGroups() {
		if g.name == name {
			return g, true
		}
	}
	return apiGroup{}, false
}

func (g apiGroup) discovery() metav1.APIGroup {
	out := metav1.APIGroup{Name: g.name}
	for _, v := range g.versions {
		out.Versions = append(out.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g.name + "/" + v, Version: v})
	}
	out.PreferredVersion = out.Versions[0]
	return out
}

// onlyGet refuses other methods than GET on discovery.
func onlyGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{}, r.Method))
		return false
	}
	return true
}

// discoverGroups answers GET /apis with the plain APIGroupList, whatever
// the Accept header asks: Grafana also serves aggregated discovery, but a
// client that asks for it takes the plain form as well (client-go looks at
// the Content-Type of the answer), and the plain form is what Grafana's
// clients read.
func (s *Server) discoverGroups(w http.ResponseWriter, r *http.Request, _ *session) {
	if !onlyGet(w, r) {
		return
	}
	list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for _, g := range s.apiGroups() {
		list.Groups = append(list.Groups, g.discovery())
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) discoverGroup(w http.ResponseWriter, r *http.Request, _ *session) {
	t, ok := s.resolve(w, r)
	if !ok || !onlyGet(w, r) {
		return
	}
	g := t.group.discovery()
	g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
	writeJSON(w, http.StatusOK, g)
}

// discoverResources lists the group's one resource, with the verbs the
// emulator serves (Grafana also lists deletecollection and watch, and the
// dto and history subresources, which it does not emulate).
func (s *Server) discoverResources(w http.ResponseWriter, r *http.Request, _ *session) {
	t, ok := s.resolve(w, r)
	if !ok || !onlyGet(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: t.apiVersion(),
		APIResources: []metav1.APIResource{{
			Name: t.group.resource, SingularName: t.group.resource[:len(t.group.resource)-1], Namespaced: true,
			Kind: t.group.kind, Verbs: metav1.Verbs{"create", "delete", "get", "list", "patch", "update"},
		}},
	})
}
