package grafanaemu

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
)

type accountBody struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// createServiceAccount is current Grafana's replacement for API keys; 7.5
// has no such route.
func (s *Server) createServiceAccount(w http.ResponseWriter, r *http.Request, _ *session) {
	if !s.current() {
		writeJSON(w, http.StatusNotFound, msg("Not found"))
		return
	}
	var b accountBody
	if err := decode(r, &b); err != nil || b.Name == "" {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: a service account needs a name"))
		return
	}
	role := cmp.Or(b.Role, RoleViewer)
	if roleRank[role] == 0 {
		writeJSON(w, http.StatusBadRequest, msg("invalid role "+string(role)+": Viewer, Editor or Admin"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.lastSAID++
	s.store.serviceAccounts[s.store.lastSAID] = role
	writeJSON(w, http.StatusCreated, map[string]any{"id": s.store.lastSAID, "name": b.Name, "login": "sa-" + slugify(b.Name),
		"orgId": 1, "isDisabled": false, "role": role, "tokens": 0, "avatarUrl": ""})
}

func (s *Server) createServiceAccountToken(w http.ResponseWriter, r *http.Request, _ *session) {
	if !s.current() {
		writeJSON(w, http.StatusNotFound, msg("Not found"))
		return
	}
	var b accountBody
	if err := decode(r, &b); err != nil || b.Name == "" {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: a token needs a name"))
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	role, ok := s.store.serviceAccounts[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, msg("service account not found"))
		return
	}
	s.store.lastKeyID++
	key := "glsa_" + newUID(32)
	s.store.tokens[key] = role
	writeJSON(w, http.StatusOK, map[string]any{"id": s.store.lastKeyID, "name": b.Name, "key": key})
}

// createAPIKey is 7.5's way to a Bearer token; current Grafana has removed it.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, _ *session) {
	if s.current() {
		writeJSON(w, http.StatusNotFound, msg("Not found"))
		return
	}
	var b accountBody
	if err := decode(r, &b); err != nil || b.Name == "" || roleRank[b.Role] == 0 {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: an API key needs a name and a role (Viewer, Editor or Admin)"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.lastKeyID++
	key := newUID(32)
	s.store.tokens[key] = b.Role
	writeJSON(w, http.StatusOK, map[string]any{"id": s.store.lastKeyID, "name": b.Name, "key": key})
}

func (s *Server) reloadDashboards(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	s.loadProvisionedDashboards()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, msg("Dashboards config reloaded"))
}

func (s *Server) reloadDataSources(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	s.loadProvisionedDataSources()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, msg("Datasources config reloaded"))
}

func (s *Server) loadProvisioned() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadProvisionedDataSources()
	s.loadProvisionedDashboards()
}

// loadProvisionedDataSources adds the provisioned data sources that are
// missing; the API cannot change or delete them, so the others are as the
// files say. The caller holds s.mu.
func (s *Server) loadProvisionedDataSources() {
	for _, fields := range s.opts.Provisioned.DataSources {
		fields = normalize(fields)
		if uid := str(fields["uid"]); uid != "" && s.store.dataSourceByUID(uid) != nil {
			continue
		}
		if s.store.dataSourceByName(str(fields["name"])) != nil {
			continue
		}
		s.addDataSource(fields, secretsOf(fields), true)
	}
}

// loadProvisionedDashboards adds the provisioned dashboards (and their
// folders) that are missing. The caller holds s.mu.
func (s *Server) loadProvisionedDashboards() {
	for _, p := range s.opts.Provisioned.Dashboards {
		var folderID int64
		if p.FolderUID != "" {
			f := s.store.folderByUID(p.FolderUID)
			if f == nil {
				f = s.addFolder(p.FolderUID, cmp.Or(p.FolderTitle, p.FolderUID), "", provisioner())
			}
			folderID = f.id
		}
		body := normalize(p.Dashboard)
		if uid := str(body["uid"]); uid != "" && s.store.dashboardByUID(uid) != nil {
			continue
		}
		s.putDashboard(nil, body, folderID, provisioner(), true)
	}
}

// normalize gives Go-built JSON the shape a decoded request has (numbers as
// json.Number), so stored objects compare alike however they came in.
func normalize(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&out) != nil {
		return m
	}
	return out
}
