package grafanaemu

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

type saveBody struct {
	Dashboard map[string]any `json:"dashboard"`
	FolderID  json.Number    `json:"folderId"`
	FolderUID string         `json:"folderUid"`
	Overwrite bool           `json:"overwrite"`
	Message   string         `json:"message"`
}

// dashboardError answers a refused save. Current Grafana adds a status word
// to its dashboard errors; 7.5 sent the message alone.
func (s *Server) dashboardError(w http.ResponseWriter, code int, message, status string) {
	body := msg(message)
	if s.current() || code == http.StatusPreconditionFailed {
		body["status"] = status
	}
	writeJSON(w, code, body)
}

// readSave reads a legacy save's body; false when it has answered 400.
// Grafana 13 sends v2 dashboards to /apis (pkg/api/dashboard.go
// postDashboard, PR grafana/grafana#118665); 11 and 12 store the body as a
// classic dashboard.
func (s *Server) readSave(w http.ResponseWriter, r *http.Request) (saveBody, bool) {
	var b saveBody
	if err := decode(r, &b); err != nil || b.Dashboard == nil {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: a JSON object with a dashboard object is required"))
		return b, false
	}
	if s.current() && s.major() >= 13 && looksLikeV2(b.Dashboard) {
		writeJSON(w, http.StatusBadRequest, msg(v2OnLegacySave))
		return b, false
	}
	return b, true
}

func (s *Server) saveDashboard(w http.ResponseWriter, r *http.Request, sess *session) {
	b, ok := s.readSave(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := str(b.Dashboard["uid"])
	switch {
	case strings.TrimSpace(str(b.Dashboard["title"])) == "":
		s.dashboardError(w, http.StatusBadRequest, "Dashboard title cannot be empty", "empty-name")
		return
	case len(uid) > maxUIDLength:
		s.dashboardError(w, http.StatusBadRequest, "uid too long, max 40 characters", "uid-too-long")
		return
	}
	folderID, ok := s.saveFolder(b)
	if !ok {
		s.dashboardError(w, http.StatusBadRequest, "folder not found", "folder-not-found")
		return
	}
	existing := s.store.dashboardByUID(uid)
	if uid == "" {
		if id, err := json.Number(jsonNumber(b.Dashboard["id"])).Int64(); err == nil && id > 0 {
			if existing = s.store.dashboardByID(id); existing == nil {
				s.dashboardError(w, http.StatusNotFound, "Dashboard not found", "not-found")
				return
			}
		}
	}
	if existing != nil {
		version, _ := json.Number(jsonNumber(b.Dashboard["version"])).Int64()
		switch {
		case existing.provisioned:
			s.dashboardError(w, http.StatusBadRequest, "Cannot save provisioned dashboard", "provisioned-dashboard")
			return
		case !b.Overwrite && version != existing.version:
			s.dashboardError(w, http.StatusPreconditionFailed, "The dashboard has been changed by someone else", "version-mismatch")
			return
		}
	}
	// Titles were unique per folder before Grafana 11.3 (PR #90687); the
	// current rules allow the same title twice.
	if !s.current() && !b.Overwrite && slices.ContainsFunc(s.store.dashboards, func(d *dashboard) bool {
		return d != existing && d.folderID == folderID && strings.EqualFold(d.title(), str(b.Dashboard["title"]))
	}) {
		s.dashboardError(w, http.StatusPreconditionFailed, "A dashboard with the same name in the folder already exists", "name-exists")
		return
	}
	d := s.putDashboard(existing, b.Dashboard, folderID, sess, false)
	out := map[string]any{"id": d.id, "slug": slugify(d.title()), "status": "success", "uid": d.uid,
		"url": dashboardURL(d), "version": d.version}
	if s.current() {
		out["folderUid"] = s.folderUID(d.folderID)
	}
	writeJSON(w, http.StatusOK, out)
}

// saveFolder is the folder a save puts the dashboard in (0: General).
// Current Grafana takes folderUid first, then folderId until 13 ignores it;
// an update naming neither moves the dashboard to General. 7.5 knows only
// folderId.
func (s *Server) saveFolder(b saveBody) (int64, bool) {
	if s.current() && b.FolderUID != "" {
		f := s.store.folderByUID(b.FolderUID)
		if f == nil {
			return 0, false
		}
		return f.id, true
	}
	id, _ := b.FolderID.Int64()
	if id == 0 || (s.current() && s.major() >= 13) {
		return 0, true
	}
	if s.store.folderByID(id) == nil {
		return 0, false
	}
	return id, true
}

const v2OnLegacySave = "dashboard appears to be in v2 format. Please use the /apis/dashboard.grafana.app/v2 API " +
	"OR it should include a object wrapper with an explicit 'apiVersion' and move the body into a 'spec' element"

// looksLikeV2 is Grafana's test for a bare v2 dashboard
// (dashboards.LooksLikeV2Spec): it has an elements or a layout key.
func looksLikeV2(body map[string]any) bool {
	_, elements := body["elements"]
	_, layout := body["layout"]
	return elements || layout
}

// classicVersion is the version a legacy save is stored in: the classic
// version /apis prefers (a guess: Grafana may record v0alpha1 instead).
func (s *Server) classicVersion() string {
	if s.major() >= 13 {
		return "v1"
	}
	return "v1beta1"
}

// putDashboard stores a legacy save (or a provisioned file): always one
// version up, in the classic family; labels and annotations stay. The
// caller holds s.mu.
func (s *Server) putDashboard(existing *dashboard, body map[string]any, folderID int64, by *session, provisioned bool) *dashboard {
	return s.writeDashboard(existing, dashWrite{uid: str(body["uid"]), body: body, apiVersion: s.classicVersion(),
		folderID: folderID, by: by, provisioned: provisioned}, true)
}

// dashWrite is one save of a dashboard, through either API.
type dashWrite struct {
	uid         string         // of a new dashboard; "" for a random one
	body        map[string]any // classic JSON, or the v2 spec
	apiVersion  string         // the version it is stored in
	folderID    int64
	by          *session
	provisioned bool
	// labels and annotations sent through /apis; nil (a legacy save) keeps
	// those the dashboard has.
	meta *objectMeta
}

// writeDashboard stores a save: a new dashboard gets an id, a uid when it
// has none, and version 1; an update keeps its id and goes one version (the
// generation) up when bump. Grafana writes id, uid and version into a
// classic dashboard's JSON; everything else is kept as sent. Every write
// takes a new resourceVersion. The caller holds s.mu.
func (s *Server) writeDashboard(existing *dashboard, w dashWrite, bump bool) *dashboard {
	now := time.Now()
	d := existing
	if d == nil {
		d = &dashboard{id: s.store.nextDashID(), uid: cmp.Or(w.uid, newUID(9)), created: now, createdBy: w.by.login,
			objectMeta: newObjectMeta(&s.store, w.by)}
		s.store.dashboards = append(s.store.dashboards, d)
		bump = true
	} else {
		d.rv, d.updatedByID = s.store.nextRV(), w.by.identity()
	}
	if bump {
		d.version++
	}
	d.folderID, d.provisioned, d.updated, d.updatedBy, d.apiVersion = w.folderID, w.provisioned, now, w.by.login, w.apiVersion
	if w.meta != nil {
		d.labels, d.annotations = w.meta.labels, w.meta.annotations
	}
	d.data = maps.Clone(w.body)
	if schemaFamily(d.apiVersion) == familyClassic {
		maps.Copy(d.data, map[string]any{"id": d.id, "uid": d.uid, "version": d.version})
	}
	return d
}

// jsonNumber is v as a JSON number's text ("" for anything else).
func jsonNumber(v any) string {
	n, _ := v.(json.Number)
	return string(n)
}

func dashboardURL(d *dashboard) string { return "/d/" + d.uid + "/" + slugify(d.title()) }

func (s *Server) folderUID(id int64) string {
	if f := s.store.folderByID(id); f != nil {
		return f.uid
	}
	return ""
}

func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.store.dashboardByUID(r.PathValue("uid"))
	if d == nil {
		writeJSON(w, http.StatusNotFound, msg("Dashboard not found"))
		return
	}
	// The legacy JSON cannot carry a v2 dashboard (pkg/api/dashboard.go
	// GetDashboard, from 12).
	if s.apisServed() && schemaFamily(d.apiVersion) == familyV2 {
		writeJSON(w, http.StatusNotAcceptable, msg("dashboard api version not supported, use /apis/"+dashboardGroup+"/"+
			d.apiVersion+"/namespaces/"+orgNamespace+"/dashboards/"+d.uid+" instead"))
		return
	}
	meta := map[string]any{"type": "db", "canSave": true, "canEdit": true, "canAdmin": true, "canStar": true,
		"slug": slugify(d.title()), "url": dashboardURL(d), "expires": "0001-01-01T00:00:00Z",
		"created": d.created.UTC().Format(time.RFC3339), "updated": d.updated.UTC().Format(time.RFC3339),
		"createdBy": d.createdBy, "updatedBy": d.updatedBy, "version": d.version, "hasAcl": false, "isFolder": false,
		"folderId": d.folderID, "folderTitle": "General", "provisioned": d.provisioned}
	f := s.store.folderByID(d.folderID)
	if f != nil {
		meta["folderTitle"] = f.title
	}
	if s.current() {
		meta["canDelete"] = true
		meta["folderUid"] = s.folderUID(d.folderID)
	} else {
		meta["folderUrl"], meta["provisionedExternalId"] = "", ""
		if f != nil {
			meta["folderUrl"] = s.folderURL(f)
		}
		if d.provisioned {
			meta["provisionedExternalId"] = d.uid + ".json"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dashboard": d.data, "meta": meta})
}

func (s *Server) deleteDashboard(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.store.dashboardByUID(r.PathValue("uid"))
	switch {
	case d == nil:
		writeJSON(w, http.StatusNotFound, msg("Dashboard not found"))
		return
	case d.provisioned:
		s.dashboardError(w, http.StatusBadRequest, "Dashboard cannot be deleted because it was provisioned", "provisioned-dashboard")
		return
	}
	s.store.dashboards = slices.DeleteFunc(s.store.dashboards, func(o *dashboard) bool { return o == d })
	s.store.nextRV()
	writeJSON(w, http.StatusOK, map[string]any{"id": d.id, "title": d.title(), "message": "Dashboard " + d.title() + " deleted"})
}
