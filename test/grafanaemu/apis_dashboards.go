package grafanaemu

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const (
	// managedByFiles marks a dashboard from provisioning files, as Grafana
	// marks it (utils.ManagerKindClassicFP).
	managedByFiles = "classic-file-provisioning"
	// conversionNotEmulated is the error of a read through the other schema
	// family: Grafana 13 converts between v1 and v2 (lossily), the
	// emulator does not.
	conversionNotEmulated = "conversion between dashboard schema v1 and v2 is not emulated"
)

// dashboardObject is d as /apis returns it in version. Through its own
// family it carries its spec, with status.conversion.storedVersion when
// version is not the one stored (Grafana sets it whenever it converts);
// through the other family an empty spec and a failed conversion, which
// tells the client to read it in the stored version.
func (s *Server) dashboardObject(d *dashboard, version string) map[string]any {
	spec, status := d.spec(), map[string]any{}
	switch stored := d.apiVersion; {
	case schemaFamily(stored) != schemaFamily(version):
		spec = map[string]any{}
		status["conversion"] = map[string]any{"failed": true, "storedVersion": stored, "error": conversionNotEmulated}
	case stored != version:
		status["conversion"] = map[string]any{"failed": false, "storedVersion": stored}
	}
	ann := map[string]string{}
	if f := s.store.folderByID(d.folderID); f != nil {
		ann[annFolder] = f.uid
	}
	if d.provisioned {
		ann[annManagedBy] = managedByFiles
	}
	var lbl map[string]string
	if s.major() < 13 { // "Deprecated: will be removed in grafana 13" (meta.go)
		lbl = map[string]string{labelInternalID: strconv.FormatInt(d.id, 10)}
	}
	return map[string]any{"apiVersion": dashboardGroup + "/" + version, "kind": "Dashboard",
		"metadata": objectMetadata(d.objectMeta, d.uid, d.version, d.created, d.updated, lbl, ann),
		"spec":     spec, "status": status}
}

// dashboardAt is the dashboard the path names, rendered; nil when none.
func (s *Server) dashboardAt(t target) map[string]any {
	d := s.store.dashboardByUID(t.name)
	if d == nil {
		return nil
	}
	return s.dashboardObject(d, t.version)
}

func (s *Server) listDashboardsAPI(w http.ResponseWriter, r *http.Request, t target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []map[string]any
	for _, d := range s.store.dashboards {
		items = append(items, s.dashboardObject(d, t.version))
	}
	s.writeList(w, r, t, items)
}

// dashboardInput reads a Dashboard sent and the id of its folder, which must
// exist. A classic spec loses the id, uid and version Grafana sets itself.
func (s *Server) dashboardInput(t target, body map[string]any) (objectInput, int64, *apierrors.StatusError) {
	in, err := readInput(t, body)
	if err != nil {
		return in, 0, err
	}
	if schemaFamily(t.version) == familyClassic {
		delete(in.spec, "id")
		delete(in.spec, "uid")
		delete(in.spec, "version")
	}
	if in.parent == "" {
		return in, 0, nil
	}
	f := s.store.folderByUID(in.parent)
	if f == nil {
		return in, 0, badRequest(t, in.name, fmt.Sprintf("folder %q not found", in.parent))
	}
	return in, f.id, nil
}

// createDashboardAPI answers 201 with the dashboard stored in the path's
// version (and so in its schema family).
func (s *Server) createDashboardAPI(w http.ResponseWriter, r *http.Request, sess *session, t target) {
	body, ok := readBody(w, r, t)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, folderID, err := s.dashboardInput(t, body)
	var name string
	if err == nil {
		name, err = createName(t, in)
	}
	if err == nil && s.store.dashboardByUID(name) != nil {
		err = apierrors.NewAlreadyExists(t.gr(), name)
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	d := s.writeDashboard(nil, dashWrite{uid: name, body: in.spec, apiVersion: t.version, folderID: folderID, by: sess, meta: &in.meta}, true)
	writeJSON(w, http.StatusCreated, s.dashboardObject(d, t.version))
}

// updateDashboard replaces the dashboard with body; it is then stored in
// the path's version, so a PUT through the other family moves it there, as
// in Grafana. The generation goes up when the spec (or family) changes; an
// update that changes nothing writes nothing. The caller holds s.mu.
func (s *Server) updateDashboard(w http.ResponseWriter, sess *session, t target, body map[string]any) {
	d := s.store.dashboardByUID(t.name)
	if d == nil {
		writeStatus(w, apierrors.NewNotFound(t.gr(), t.name))
		return
	}
	in, folderID, err := s.dashboardInput(t, body)
	if err == nil {
		err = checkUpdate(t, in, d.rv)
	}
	if err == nil && d.provisioned {
		err = badRequest(t, t.name, "Cannot save provisioned dashboard (grafana.app/managedBy: "+managedByFiles+")")
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	specChanged := schemaFamily(d.apiVersion) != schemaFamily(t.version) || !sameJSON(d.spec(), in.spec)
	if specChanged || d.apiVersion != t.version || folderID != d.folderID ||
		!sameJSON(d.labels, in.meta.labels) || !sameJSON(d.annotations, in.meta.annotations) {
		d = s.writeDashboard(d, dashWrite{body: in.spec, apiVersion: t.version, folderID: folderID, by: sess, meta: &in.meta}, specChanged)
	}
	writeJSON(w, http.StatusOK, s.dashboardObject(d, t.version))
}

// deleteDashboardAPI answers a Status Success. A provisioned dashboard is
// refused unless gracePeriodSeconds is 0, as Grafana's admission does.
func (s *Server) deleteDashboardAPI(w http.ResponseWriter, r *http.Request, t target) {
	opts, oerr := deleteOptions(r)
	if oerr != nil {
		writeStatus(w, badRequest(t, t.name, "delete options: "+oerr.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.store.dashboardByUID(t.name)
	var err *apierrors.StatusError
	switch {
	case d == nil:
		err = apierrors.NewNotFound(t.gr(), t.name)
	case preconditionFails(t, opts, d.objectMeta) != nil:
		err = preconditionFails(t, opts, d.objectMeta)
	case d.provisioned && (opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0):
		err = badRequest(t, t.name, "Dashboard cannot be deleted because it was provisioned")
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	s.store.dashboards = slices.DeleteFunc(s.store.dashboards, func(o *dashboard) bool { return o == d })
	s.store.nextRV()
	writeStatus(w, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{Name: d.uid, Group: dashboardGroup, Kind: "dashboards", UID: types.UID(d.k8sUID)}}})
}
