package grafanaemu

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// serverDataSourceFields are set by Grafana, never taken from a request.
var serverDataSourceFields = []string{"id", "uid", "orgId", "version", "readOnly", "secureJsonFields", "secureJsonData", "password", "basicAuthPassword"}

// dataSourceDefaults are the fields every data source carries in a reply.
// Grafana 7.5 also sends its legacy credential and logo fields (empty).
func (s *Server) dataSourceDefaults() map[string]any {
	d := map[string]any{"name": "", "type": "", "access": "proxy", "url": "", "basicAuth": false,
		"withCredentials": false, "isDefault": false, "jsonData": map[string]any{}}
	if !s.current() {
		maps.Copy(d, map[string]any{"typeLogoUrl": "", "password": "", "user": "", "database": "",
			"basicAuthUser": "", "basicAuthPassword": ""})
	}
	return d
}

// render is a data source as GET /api/datasources/uid/{uid} answers.
func (s *Server) renderDataSource(d *dataSource) map[string]any {
	out := s.dataSourceDefaults()
	maps.Copy(out, d.fields)
	secure := map[string]any{}
	for k := range d.secure {
		secure[k] = true
	}
	maps.Copy(out, map[string]any{"id": d.id, "uid": d.uid, "orgId": 1, "version": d.version,
		"readOnly": d.readOnly, "secureJsonFields": secure})
	return out
}

// listItem is a data source as GET /api/datasources lists it.
func (s *Server) dataSourceListItem(d *dataSource) map[string]any {
	full := s.renderDataSource(d)
	keys := []string{"id", "uid", "orgId", "name", "type", "access", "url", "basicAuth", "isDefault", "jsonData"}
	if s.current() {
		keys = append(keys, "version")
	} else {
		keys = append(keys, "typeName", "typeLogoUrl", "password", "user", "database", "readOnly")
		full["typeName"] = typeName(str(full["type"]))
	}
	out := map[string]any{}
	for _, k := range keys {
		out[k] = full[k]
	}
	return out
}

func typeName(t string) string {
	if t == "" {
		return ""
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

func (s *Server) listDataSources(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := slices.Clone(s.store.dataSources)
	slices.SortFunc(ds, func(a, b *dataSource) int {
		return strings.Compare(strings.ToLower(a.name()), strings.ToLower(b.name()))
	})
	out := []any{}
	for _, d := range ds {
		out = append(out, s.dataSourceListItem(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// lookupDataSource finds the data source a route names by uid or by name.
func (s *Server) lookupDataSource(r *http.Request) *dataSource {
	if name := r.PathValue("name"); name != "" {
		return s.store.dataSourceByName(name)
	}
	if id := r.PathValue("id"); id != "" {
		i := slices.IndexFunc(s.store.dataSources, func(d *dataSource) bool { return strconv.FormatInt(d.id, 10) == id })
		if i < 0 {
			return nil
		}
		return s.store.dataSources[i]
	}
	return s.store.dataSourceByUID(r.PathValue("uid"))
}

func (s *Server) getDataSource(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookupDataSource(r)
	if d == nil {
		writeJSON(w, http.StatusNotFound, msg("Data source not found"))
		return
	}
	writeJSON(w, http.StatusOK, s.renderDataSource(d))
}

// dataSourceBody reads a create or update request: the fields to keep, its
// secure fields, and the version it was read at (0: none).
func dataSourceBody(r *http.Request) (fields map[string]any, secure map[string]string, version int64, err error) {
	if err := decode(r, &fields); err != nil {
		return nil, nil, 0, err
	}
	if v, ok := fields["version"].(json.Number); ok {
		version, _ = v.Int64()
	}
	return fields, secretsOf(fields), version, nil
}

// secretsOf is a request's secureJsonData.
func secretsOf(fields map[string]any) map[string]string {
	out := map[string]string{}
	if sj, ok := fields["secureJsonData"].(map[string]any); ok {
		for k, v := range sj {
			out[k] = str(v)
		}
	}
	return out
}

// DataSourceSecret is the secret a data source holds under key, as Grafana
// would decrypt it for its proxy; its API never returns it. For tests.
func (s *Server) DataSourceSecret(uid, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.store.dataSourceByUID(uid)
	if d == nil {
		return "", false
	}
	v, ok := d.secure[key]
	return v, ok
}

func keepFields(fields map[string]any) map[string]any {
	out := maps.Clone(fields)
	for _, k := range serverDataSourceFields {
		delete(out, k)
	}
	return out
}

func (s *Server) createDataSource(w http.ResponseWriter, r *http.Request, _ *session) {
	fields, secure, _, err := dataSourceBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := str(fields["name"])
	if name == "" {
		writeJSON(w, http.StatusBadRequest, msg("Data source name cannot be empty"))
		return
	}
	if s.store.dataSourceByName(name) != nil {
		writeJSON(w, http.StatusConflict, msg("data source with the same name already exists"))
		return
	}
	uid := str(fields["uid"])
	if uid != "" && s.store.dataSourceByUID(uid) != nil {
		writeJSON(w, http.StatusConflict, msg("data source with the same uid already exists"))
		return
	}
	d := s.addDataSource(fields, secure, false)
	full := s.renderDataSource(d)
	writeJSON(w, http.StatusOK, map[string]any{"datasource": full, "id": d.id, "message": "Datasource added", "name": d.name()})
}

// addDataSource stores a new data source; the caller holds s.mu.
func (s *Server) addDataSource(fields map[string]any, secure map[string]string, readOnly bool) *dataSource {
	s.store.lastDSID++
	uid := str(fields["uid"])
	if uid == "" {
		uid = newUID(14)
	}
	d := &dataSource{id: s.store.lastDSID, uid: uid, version: 1, readOnly: readOnly, fields: keepFields(fields), secure: secure}
	s.store.dataSources = append(s.store.dataSources, d)
	s.keepOneDefault(d)
	return d
}

// keepOneDefault clears isDefault on the others when d is the default.
func (s *Server) keepOneDefault(d *dataSource) {
	if b, _ := d.fields["isDefault"].(bool); !b {
		return
	}
	for _, o := range s.store.dataSources {
		if o != d {
			delete(o.fields, "isDefault")
		}
	}
}

func (s *Server) updateDataSource(w http.ResponseWriter, r *http.Request, _ *session) {
	fields, secure, version, err := dataSourceBody(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, msg("bad request data: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookupDataSource(r)
	switch {
	case d == nil:
		writeJSON(w, http.StatusNotFound, msg("Data source not found"))
		return
	case d.readOnly:
		writeJSON(w, http.StatusForbidden, msg("Cannot update read-only data source"))
		return
	case version != 0 && version != d.version:
		writeJSON(w, http.StatusConflict, msg("Datasource has already been updated by someone else. Please reload and try again"))
		return
	}
	if o := s.store.dataSourceByName(str(fields["name"])); o != nil && o != d {
		writeJSON(w, http.StatusConflict, msg("data source with the same name already exists"))
		return
	}
	// A uid in the body replaces the one it has, as Grafana's store writes it.
	if uid := str(fields["uid"]); uid != "" && uid != d.uid {
		if s.store.dataSourceByUID(uid) != nil {
			writeJSON(w, http.StatusConflict, msg("data source with the same uid already exists"))
			return
		}
		d.uid = uid
	}
	d.fields = keepFields(fields)
	// Secrets not sent are kept, as Grafana keeps them.
	maps.Copy(d.secure, secure)
	d.version++
	s.keepOneDefault(d)
	writeJSON(w, http.StatusOK, map[string]any{"datasource": s.renderDataSource(d), "id": d.id, "message": "Datasource updated", "name": d.name()})
}

func (s *Server) deleteDataSource(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.lookupDataSource(r)
	switch {
	case d == nil:
		writeJSON(w, http.StatusNotFound, msg("Data source not found"))
		return
	case d.readOnly:
		writeJSON(w, http.StatusForbidden, msg("Cannot delete read-only data source"))
		return
	}
	s.store.dataSources = slices.DeleteFunc(s.store.dataSources, func(o *dataSource) bool { return o == d })
	writeJSON(w, http.StatusOK, map[string]any{"id": d.id, "message": "Data source deleted"})
}
