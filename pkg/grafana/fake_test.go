package grafana

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Secrets the fake accepts; tests assert they never appear in output.
const (
	testToken    = "glsa_SECRET-token-4711"
	testUser     = "admin"
	testPassword = "SECRET-password-0815"
)

// fakeGrafana answers the calls of this package with the status codes and
// bodies of the notes (Grafana 7.5 transcript, current Grafana's rules).
// It is a test double for this package's calls, not an emulator.
type fakeGrafana struct {
	t *testing.T
	// legacy answers as 7.5: meta without folderUid, saves by folderId.
	legacy bool
	// viewer refuses every write with 403.
	viewer bool
	// readOnlyPut makes PUT of any data source answer the read-only 403
	// even where GET said readOnly false.
	readOnlyPut bool
	// provisionedSave makes every dashboard save answer 400 provisioned.
	provisionedSave bool

	mu          sync.Mutex
	dataSources map[string]map[string]any // uid → data source as Grafana shows it
	folders     map[string]map[string]any
	dashboards  map[string]*fakeDashboard
	nextID      int64
	requests    []string          // "METHOD /path"
	saves       []json.RawMessage // bodies of POST /api/dashboards/db
}

type fakeDashboard struct {
	body        json.RawMessage
	version     int64
	folderUID   string
	provisioned bool
}

func newFakeGrafana(t *testing.T) (*fakeGrafana, *httptest.Server) {
	f := &fakeGrafana{t: t, dataSources: map[string]map[string]any{}, folders: map[string]map[string]any{},
		dashboards: map[string]*fakeDashboard{}, nextID: 10}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGrafana) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeGrafana) addFolder(uid, title string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.folders[uid] = map[string]any{"id": f.nextID, "uid": uid, "title": title, "url": "/dashboards/f/" + uid + "/" + title, "version": 1}
	return f.nextID
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func message(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]any{"message": msg})
}

func (f *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/grafana")
	f.requests = append(f.requests, r.Method+" "+path)
	if path == "/api/health" {
		if r.Header.Get("Authorization") != "" {
			f.t.Errorf("health was sent credentials")
		}
		reply(w, 200, map[string]any{"commit": "NA", "database": "ok", "version": "11.3.0"})
		return
	}
	user, pass, basic := r.BasicAuth()
	if r.Header.Get("Authorization") != "Bearer "+testToken && !(basic && user == testUser && pass == testPassword) {
		message(w, 401, "Unauthorized")
		return
	}
	if f.viewer && r.Method != http.MethodGet {
		message(w, 403, "Permission denied")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	switch {
	case path == "/api/datasources" && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, ds := range f.dataSources {
			list = append(list, ds)
		}
		reply(w, 200, list)
	case path == "/api/datasources" && r.Method == http.MethodPost:
		for _, ds := range f.dataSources {
			if ds["name"] == in["name"] || ds["uid"] == in["uid"] {
				message(w, 409, "data source with the same name already exists")
				return
			}
		}
		f.nextID++
		in["id"], in["version"], in["readOnly"] = f.nextID, 1, false
		f.dataSources[in["uid"].(string)] = in
		reply(w, 200, map[string]any{"datasource": in, "id": f.nextID, "message": "Datasource added", "name": in["name"]})
	case strings.HasPrefix(path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(path, "/api/datasources/uid/")
		ds, ok := f.dataSources[uid]
		switch {
		case !ok:
			message(w, 404, "Data source not found")
		case r.Method == http.MethodGet:
			reply(w, 200, ds)
		case ds["readOnly"] == true || f.readOnlyPut:
			message(w, 403, "Cannot update read-only data source")
		case fmt.Sprint(in["version"]) != fmt.Sprint(ds["version"]):
			message(w, 409, "Datasource has already been updated by someone else. Please reload and try again")
		default:
			in["id"], in["version"], in["readOnly"] = ds["id"], ds["version"].(int)+1, false
			f.dataSources[uid] = in
			reply(w, 200, map[string]any{"datasource": in, "id": in["id"], "message": "Datasource updated", "name": in["name"]})
		}
	case path == "/api/folders" && r.Method == http.MethodPost:
		uid, _ := in["uid"].(string)
		if _, ok := f.folders[uid]; ok {
			message(w, 409, "a folder with the same uid already exists")
			return
		}
		f.nextID++
		folder := map[string]any{"id": f.nextID, "uid": uid, "title": in["title"], "url": "/dashboards/f/" + uid + "/", "version": 1}
		if p, _ := in["parentUid"].(string); p != "" && !f.legacy {
			folder["parentUid"] = p
		}
		f.folders[uid] = folder
		reply(w, 200, folder)
	case strings.HasPrefix(path, "/api/folders/"):
		uid := strings.TrimPrefix(path, "/api/folders/")
		folder, ok := f.folders[uid]
		switch {
		case !ok:
			message(w, 404, "folder not found")
		case r.Method == http.MethodGet:
			reply(w, 200, folder)
		case fmt.Sprint(in["version"]) != fmt.Sprint(folder["version"]):
			reply(w, 412, map[string]any{"message": "the folder has been changed by someone else", "status": "version-mismatch"})
		default:
			folder["title"], folder["version"] = in["title"], folder["version"].(int)+1
			reply(w, 200, folder)
		}
	case path == "/api/dashboards/db" && r.Method == http.MethodPost:
		f.saveDashboard(w, body)
	case strings.HasPrefix(path, "/api/dashboards/uid/"):
		uid := strings.TrimPrefix(path, "/api/dashboards/uid/")
		d, ok := f.dashboards[uid]
		if !ok {
			message(w, 404, "Dashboard not found")
			return
		}
		meta := map[string]any{"version": d.version, "provisioned": d.provisioned, "url": "/d/" + uid + "/slug", "slug": "slug", "folderId": 0, "folderTitle": "General"}
		if folder, ok := f.folders[d.folderUID]; ok {
			meta["folderId"], meta["folderTitle"] = folder["id"], folder["title"]
			if !f.legacy {
				meta["folderUid"] = d.folderUID
			}
		}
		reply(w, 200, map[string]any{"dashboard": d.body, "meta": meta})
	default:
		message(w, 404, "Not found")
	}
}

func (f *fakeGrafana) saveDashboard(w http.ResponseWriter, raw []byte) {
	f.saves = append(f.saves, raw)
	var cmd struct {
		Dashboard json.RawMessage `json:"dashboard"`
		FolderUID string          `json:"folderUid"`
		FolderID  int64           `json:"folderId"`
		Overwrite bool            `json:"overwrite"`
	}
	if err := json.Unmarshal(raw, &cmd); err != nil {
		message(w, 400, "bad request data")
		return
	}
	var head struct {
		UID     string `json:"uid"`
		Title   string `json:"title"`
		Version int64  `json:"version"`
	}
	_ = json.Unmarshal(cmd.Dashboard, &head)
	if head.Title == "" {
		reply(w, 400, map[string]any{"message": "Dashboard title cannot be empty", "status": "empty-name"})
		return
	}
	old, exists := f.dashboards[head.UID]
	switch {
	case f.provisionedSave || (exists && old.provisioned):
		message(w, 400, "Cannot save provisioned dashboard")
		return
	case exists && !cmd.Overwrite && head.Version != old.version:
		reply(w, 412, map[string]any{"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
		return
	}
	folderUID := cmd.FolderUID
	if f.legacy { // 7.5 knows only the id
		folderUID = ""
		for uid, folder := range f.folders {
			if fmt.Sprint(folder["id"]) == fmt.Sprint(cmd.FolderID) {
				folderUID = uid
			}
		}
	}
	if _, ok := f.folders[folderUID]; folderUID != "" && !ok {
		message(w, 400, "folder not found")
		return
	}
	version := int64(1)
	if exists {
		version = old.version + 1
	}
	f.nextID++
	// Grafana sets id and version in the stored JSON and keeps every other field.
	var body map[string]json.RawMessage
	_ = json.Unmarshal(cmd.Dashboard, &body)
	body["id"], _ = json.Marshal(f.nextID)
	body["version"], _ = json.Marshal(version)
	stored, _ := json.Marshal(body)
	f.dashboards[head.UID] = &fakeDashboard{body: stored, version: version, folderUID: folderUID}
	reply(w, 200, map[string]any{"id": f.nextID, "uid": head.UID, "url": "/d/" + head.UID + "/slug", "status": "success", "version": version, "slug": "slug", "folderUid": folderUID})
}

func testClient(t *testing.T, url string, creds Credentials) *Client {
	t.Helper()
	c, err := New(Config{URL: url, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
