package grafanaemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxUIDLength is the longest uid Grafana takes for dashboards and folders.
const maxUIDLength = 40

func (s *Server) folderURL(f *folder) string {
	return "/dashboards/f/" + f.uid + "/" + slugify(f.title)
}

// renderFolder is a folder as GET /api/folders/{uid} answers. The audit
// fields (created, createdBy, ...) are what Grafana 7.5 sent and the current
// replies recorded beside it lack; parentUid exists only with nested folders.
func (s *Server) renderFolder(f *folder) map[string]any {
	out := map[string]any{"id": f.id, "uid": f.uid, "title": f.title, "url": s.folderURL(f), "hasAcl": false,
		"canSave": true, "canEdit": true, "canAdmin": true, "version": f.version}
	if s.current() {
		if f.parentUID != "" {
			out["parentUid"] = f.parentUID
		}
	} else {
		out["createdBy"], out["created"] = f.createdBy, f.created.UTC().Format(time.RFC3339)
		out["updatedBy"], out["updated"] = f.updatedBy, f.updated.UTC().Format(time.RFC3339)
	}
	return out
}

func (s *Server) listFolders(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := r.URL.Query().Get("parentUid")
	var fs []*folder
	for _, f := range s.store.folders {
		// Current Grafana lists one level of the tree: the root's folders,
		// or those of parentUid.
		if !s.current() || f.parentUID == parent {
			fs = append(fs, f)
		}
	}
	slices.SortFunc(fs, func(a, b *folder) int { return strings.Compare(strings.ToLower(a.title), strings.ToLower(b.title)) })
	out := []any{}
	for _, f := range fs {
		item := map[string]any{"id": f.id, "uid": f.uid, "title": f.title}
		if s.current() && f.parentUID != "" {
			item["parentUid"] = f.parentUID
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFolder(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.store.folderByUID(r.PathValue("uid"))
	if f == nil {
		writeJSON(w, http.StatusNotFound, msg("folder not found"))
		return
	}
	writeJSON(w, http.StatusOK, s.renderFolder(f))
}

type folderBody struct {
	UID       string      `json:"uid"`
	Title     string      `json:"title"`
	ParentUID string      `json:"parentUid"`
	Version   json.Number `json:"version"`
	Overwrite bool        `json:"overwrite"`
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, sess *session) {
	var b folderBody
	if err := decode(r, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.current() {
		b.ParentUID = "" // no nested folders in 7.5
	}
	switch {
	case strings.TrimSpace(b.Title) == "":
		writeJSON(w, http.StatusBadRequest, msg("folder title cannot be empty"))
		return
	case len(b.UID) > maxUIDLength:
		writeJSON(w, http.StatusBadRequest, msg("uid too long, max 40 characters"))
		return
	case b.UID != "" && s.store.folderByUID(b.UID) != nil:
		writeJSON(w, http.StatusConflict, msg("a folder with the same uid already exists"))
		return
	case b.ParentUID != "" && s.store.folderByUID(b.ParentUID) == nil:
		writeJSON(w, http.StatusNotFound, msg("parent folder not found"))
		return
	}
	if !s.current() && slices.ContainsFunc(s.store.folders, func(f *folder) bool { return strings.EqualFold(f.title, b.Title) }) {
		writeJSON(w, http.StatusConflict, msg("a folder or dashboard in the general folder with the same name already exists"))
		return
	}
	f := s.addFolder(b.UID, b.Title, b.ParentUID, sess)
	writeJSON(w, http.StatusOK, s.renderFolder(f))
}

// addFolder stores a new folder; the caller holds s.mu.
func (s *Server) addFolder(uid, title, parentUID string, by *session) *folder {
	if uid == "" {
		uid = newUID(9)
	}
	now := time.Now()
	f := &folder{id: s.store.nextDashID(), uid: uid, title: title, parentUID: parentUID, version: 1,
		created: now, updated: now, createdBy: by.login, updatedBy: by.login, objectMeta: newObjectMeta(&s.store, by)}
	s.store.folders = append(s.store.folders, f)
	return f
}

func (s *Server) updateFolder(w http.ResponseWriter, r *http.Request, sess *session) {
	var b folderBody
	if err := decode(r, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.store.folderByUID(r.PathValue("uid"))
	if f == nil {
		writeJSON(w, http.StatusNotFound, msg("folder not found"))
		return
	}
	if v, _ := b.Version.Int64(); !b.Overwrite && v != f.version {
		writeJSON(w, http.StatusPreconditionFailed, map[string]any{"message": "the folder has been changed by someone else", "status": "version-mismatch"})
		return
	}
	if strings.TrimSpace(b.Title) == "" {
		writeJSON(w, http.StatusBadRequest, msg("folder title cannot be empty"))
		return
	}
	f.title, f.version, f.updated, f.updatedBy = b.Title, f.version+1, time.Now(), sess.login
	f.rv, f.updatedByID = s.store.nextRV(), sess.identity()
	writeJSON(w, http.StatusOK, s.renderFolder(f))
}

func (s *Server) deleteFolder(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.store.folderByUID(r.PathValue("uid"))
	if f == nil {
		writeJSON(w, http.StatusNotFound, msg("folder not found"))
		return
	}
	if !s.removeFolder(f) {
		writeJSON(w, http.StatusBadRequest, msg(folderHoldsProvisioned))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": f.id, "title": f.title, "message": "Folder " + f.title + " deleted"})
}

const folderHoldsProvisioned = "folder contains provisioned dashboards"

// removeFolder deletes f with the folders and dashboards below it, as
// Grafana's folder delete does; it refuses (false) when a provisioned
// dashboard is among them. The caller holds s.mu.
func (s *Server) removeFolder(f *folder) bool {
	gone := s.folderTree(f)
	inside := func(d *dashboard) bool {
		return slices.ContainsFunc(gone, func(g *folder) bool { return g.id == d.folderID })
	}
	if slices.ContainsFunc(s.store.dashboards, func(d *dashboard) bool { return inside(d) && d.provisioned }) {
		return false
	}
	s.store.dashboards = slices.DeleteFunc(s.store.dashboards, inside)
	s.store.folders = slices.DeleteFunc(s.store.folders, func(o *folder) bool { return slices.Contains(gone, o) })
	s.store.nextRV()
	return true
}

// folderTree is f and every folder below it.
func (s *Server) folderTree(f *folder) []*folder {
	out := []*folder{f}
	for i := 0; i < len(out); i++ {
		for _, c := range s.store.folders {
			if c.parentUID == out[i].uid {
				out = append(out, c)
			}
		}
	}
	return out
}
