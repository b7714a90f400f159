package grafanaemu

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The Kubernetes-style API Grafana serves from 12 at /apis
// (docs/sources/developer-resources/api-reference/http-api/apis.md):
// /apis/<group>/<version>/namespaces/<namespace>/<resource>[/<name>],
// where name is the Grafana uid.
const (
	dashboardGroup = "dashboard.grafana.app"
	folderGroup    = "folder.grafana.app"
	// orgNamespace is org 1's namespace, the only organisation the emulator
	// has (org N > 1 would be "org-N").
	orgNamespace = "default"
)

// apisRoutes serves /apis. Every route needs credentials, as the legacy API
// does (the same basic auth or Bearer tokens): reads a Viewer, writes an
// Editor. Errors are Kubernetes Status objects.
func (s *Server) apisRoutes() {
	routes := map[string]handler{
		"/apis":                   s.discoverGroups,
		"/apis/{group}":           s.discoverGroup,
		"/apis/{group}/{version}": s.discoverResources,
		"/apis/{group}/{version}/namespaces/{ns}/{resource}":        s.apisCollection,
		"/apis/{group}/{version}/namespaces/{ns}/{resource}/{name}": s.apisObject,
		// Subresources (dto, history), watch and anything else.
		"/apis/": func(w http.ResponseWriter, _ *http.Request, _ *session) { writeStatus(w, routeNotFound()) },
	}
	for pattern, h := range routes {
		s.mux.HandleFunc(pattern, s.apisGuard(h))
	}
}

// apisGuard is guard for /apis: the role follows the method, and a refusal
// is a Status.
func (s *Server) apisGuard(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		need := RoleEditor
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			need = RoleViewer
		}
		s.guardWith(need, h, denyStatus)(w, r)
	}
}

func denyStatus(w http.ResponseWriter, r *http.Request, code int) {
	if code == http.StatusUnauthorized {
		writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	gr := schema.GroupResource{Group: r.PathValue("group"), Resource: r.PathValue("resource")}
	writeStatus(w, apierrors.NewForbidden(gr, r.PathValue("name"), errors.New("permission denied")))
}

// target is what an /apis path names: a served group and version, and an
// object's name (empty for a collection or discovery).
type target struct {
	group   apiGroup
	version string
	name    string
}

func (t target) gr() schema.GroupResource {
	return schema.GroupResource{Group: t.group.name, Resource: t.group.resource}
}

func (t target) apiVersion() string { return t.group.name + "/" + t.version }

// resolve reads the path: a group or version not served, or a resource the
// group lacks, is 404; a namespace other than org 1's is 403, as Grafana
// refuses another organisation's namespace to a caller of this one.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request) (target, bool) {
	g, ok := s.groupByName(r.PathValue("group"))
	t := target{group: g, version: r.PathValue("version"), name: r.PathValue("name")}
	switch {
	case !ok || (t.version != "" && !g.serves(t.version)):
		writeStatus(w, routeNotFound())
		return t, false
	case r.PathValue("resource") != "" && r.PathValue("resource") != g.resource:
		writeStatus(w, routeNotFound())
		return t, false
	case r.PathValue("ns") != "" && r.PathValue("ns") != orgNamespace:
		err := fmt.Errorf("namespace %q is not this organisation's (%q is)", r.PathValue("ns"), orgNamespace)
		writeStatus(w, apierrors.NewForbidden(t.gr(), t.name, err))
		return t, false
	}
	return t, true
}

func (s *Server) apisCollection(w http.ResponseWriter, r *http.Request, sess *session) {
	t, ok := s.resolve(w, r)
	if !ok {
		return
	}
	switch r.Method + " " + t.group.resource {
	case "GET dashboards":
		s.listDashboardsAPI(w, r, t)
	case "GET folders":
		s.listFoldersAPI(w, r, t)
	case "POST dashboards":
		s.createDashboardAPI(w, r, sess, t)
	case "POST folders":
		s.createFolderAPI(w, r, sess, t)
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(t.gr(), r.Method))
	}
}

func (s *Server) apisObject(w http.ResponseWriter, r *http.Request, sess *session) {
	t, ok := s.resolve(w, r)
	if !ok {
		return
	}
	switch r.Method + " " + t.group.resource {
	case "GET dashboards":
		s.getObject(w, t, s.dashboardAt)
	case "GET folders":
		s.getObject(w, t, s.folderAt)
	case "PUT dashboards":
		s.putObject(w, r, sess, t, s.updateDashboard)
	case "PUT folders":
		s.putObject(w, r, sess, t, s.updateFolderAPI)
	case "PATCH dashboards":
		s.patchObject(w, r, sess, t, s.dashboardAt, s.updateDashboard)
	case "PATCH folders":
		s.patchObject(w, r, sess, t, s.folderAt, s.updateFolderAPI)
	case "DELETE dashboards":
		s.deleteDashboardAPI(w, r, t)
	case "DELETE folders":
		s.deleteFolderAPI(w, r, t)
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(t.gr(), r.Method))
	}
}

// writeStatus answers a Kubernetes Status, as Grafana's apiserver does;
// one without a code (a delete's success, as Grafana documents it) is 200.
func writeStatus(w http.ResponseWriter, e *apierrors.StatusError) {
	st := e.ErrStatus
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusOK
	}
	writeJSON(w, code, st)
}

// routeNotFound is the apiserver's answer to a path it does not serve.
func routeNotFound() *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{}}}
}

// badRequest is a 400 Status naming the object, so that a client sees which
// one was refused.
func badRequest(t target, name, message string) *apierrors.StatusError {
	e := apierrors.NewBadRequest(message)
	e.ErrStatus.Details = &metav1.StatusDetails{Name: name, Group: t.group.name, Kind: t.group.resource}
	return e
}

// optimisticLock is the upstream apiserver's message for a stale
// resourceVersion (k8s.io/apiserver/pkg/storage OptimisticLockErrorMsg).
const optimisticLock = "the object has been modified; please apply your changes to the latest version and try again"

func conflict(t target, name string) *apierrors.StatusError {
	return apierrors.NewConflict(t.gr(), name, errors.New(optimisticLock))
}
