// Package grafanaemu emulates the part of Grafana's HTTP API that metricscale
// uses (health, data sources, folders, dashboards, search, the data source
// proxy), for tests: Grafana cannot be installed where they run (it ships no
// Debian or Go package they could install). A Mode picks the generation:
// ModeV11, ModeV12 and ModeV13 follow Grafana 11, 12 and 13 (ModeCurrent,
// the default, is ModeV11 under its old name), ModeV75 follows Grafana 7.5
// as far as the recorded calls in testdata show it differs. Within 11–13 the
// major version of Options.Version decides, so {Mode: ModeCurrent, Version:
// "13.0.0"} is Grafana 13.
//
// From 12 on it also serves Grafana's Kubernetes-style /apis for dashboards
// and folders (dashboard.grafana.app, folder.grafana.app: discovery, list,
// create, get, update, merge patch, delete in namespace "default"), on the
// same store as the legacy /api, with Kubernetes Status errors; client-go's
// discovery and dynamic clients work against it. Grafana 13 also turns off
// the numeric-id data source routes and refuses a bare v2 dashboard on the
// legacy save. testdata/apis.md records what each mode follows, with its
// sources, and where the emulator guesses.
//
// New(Options) gives a Server, an http.Handler that Start serves on loopback.
// Beyond the calls above it emulates service accounts and API keys and
// provisioned (read-only) objects. Data source secrets are kept and never
// returned (DataSourceSecret lets a test check one arrived); the data source
// proxy goes through a Resolve hook, to loopback only; Stats (and GET
// /emulator/stats) counts requests. Its contract tests replay the recorded
// Grafana 7.5 transcript and status codes in testdata/, and the /apis
// examples Grafana documents.
package grafanaemu

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is the Grafana generation the emulator follows.
type Mode string

const (
	// ModeV11 follows Grafana 11: folderUid, nested folders,
	// service-account tokens; no /apis.
	ModeV11 Mode = "11"
	// ModeV12 is ModeV11 plus /apis (dashboards v1beta1 preferred, v2beta1
	// and v2alpha1 served) and the legacy 406 for a v2 dashboard.
	ModeV12 Mode = "12"
	// ModeV13 is ModeV12 with dashboards v1 and v2 (v2 preferred), folders
	// v1, folderId ignored on save, bare v2 refused on the legacy save and no
	// numeric-id data source routes.
	ModeV13 Mode = "13"
	// ModeCurrent is ModeV11 under the name it had when one mode covered
	// Grafana 11–13; with a Version of 12 or 13 it follows that version.
	ModeCurrent Mode = "current"
	// ModeV75 follows Grafana 7.5: folderId only (folderUid is ignored on
	// save and in search), no nested folders, API keys.
	ModeV75 Mode = "7.5"
)

// defaultVersion is the version /api/health reports when Options give none;
// its major version decides the features.
func defaultVersion(m Mode) string {
	switch m {
	case ModeV75:
		return "7.5.17"
	case ModeV12:
		return "12.4.0"
	case ModeV13:
		return "13.2.0"
	}
	return "11.6.0"
}

// Role is an organisation role; it bounds what a token may do.
type Role string

const (
	RoleViewer Role = "Viewer"
	RoleEditor Role = "Editor"
	RoleAdmin  Role = "Admin"
)

// Options configure a Server. Only AdminUser and AdminPassword are needed.
type Options struct {
	Mode Mode // ModeCurrent (Grafana 11) when empty
	// Version is reported by /api/health; its major version picks the
	// features within 11–13. When empty: 11.6.0, 12.4.0, 13.2.0 or 7.5.17
	// by Mode.
	Version       string
	AdminUser     string
	AdminPassword string
	// Tokens are the Bearer tokens accepted (service-account tokens, or API
	// keys in 7.5), each with its role.
	Tokens map[string]Role
	// Resolve maps a data source URL's host:port to the loopback host:port
	// the proxy dials (as cluster DNS would map a Service). Without it the
	// host is dialled as written; either way only loopback is dialled.
	Resolve func(hostPort string) (string, error)
	// Provisioned objects are loaded at start and again on a provisioning
	// reload; they are read-only through the API, as files make them.
	Provisioned Provisioned
}

// Provisioned are objects Grafana would read from provisioning files.
type Provisioned struct {
	DataSources []map[string]any // JSON fields of each data source (name, type, url, uid, ...)
	Dashboards  []ProvisionedDashboard
}

// ProvisionedDashboard is a dashboard from a file provider, in a folder that
// is created when missing (FolderUID empty: General).
type ProvisionedDashboard struct {
	FolderUID, FolderTitle string
	Dashboard              map[string]any
}

// Server is the emulator; it is an http.Handler.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	mu    sync.Mutex
	store store
	stats stats
	// transport dials data sources for the proxy.
	transport http.RoundTripper
}

// New returns an emulator with the provisioned objects loaded.
func New(opts Options) *Server {
	if opts.Mode == "" {
		opts.Mode = ModeCurrent
	}
	if opts.Version == "" {
		opts.Version = defaultVersion(opts.Mode)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), stats: newStats()}
	s.store = newStore()
	s.transport = s.newTransport()
	s.loadProvisioned()
	s.routes()
	return s
}

func (s *Server) routes() {
	open := map[string]http.HandlerFunc{
		"GET /api/health":     s.health,
		"GET /emulator/stats": s.statsHandler,
	}
	for p, h := range open {
		s.mux.HandleFunc(p, h)
	}
	// The least role each route needs.
	guarded := []struct {
		pattern string
		role    Role
		h       handler
	}{
		{"GET /api/datasources", RoleViewer, s.listDataSources},
		{"POST /api/datasources", RoleAdmin, s.createDataSource},
		{"GET /api/datasources/uid/{uid}", RoleViewer, s.getDataSource},
		{"GET /api/datasources/name/{name}", RoleViewer, s.getDataSource},
		{"DELETE /api/datasources/uid/{uid}", RoleAdmin, s.deleteDataSource},
		{"GET /api/datasources/proxy/uid/{uid}/{path...}", RoleViewer, s.proxy},
		{"POST /api/datasources/proxy/uid/{uid}/{path...}", RoleViewer, s.proxy},
		{"GET /api/folders", RoleViewer, s.listFolders},
		{"POST /api/folders", RoleEditor, s.createFolder},
		{"GET /api/folders/{uid}", RoleViewer, s.getFolder},
		{"PUT /api/folders/{uid}", RoleEditor, s.updateFolder},
		{"DELETE /api/folders/{uid}", RoleEditor, s.deleteFolder},
		{"POST /api/dashboards/db", RoleEditor, s.saveDashboard},
		{"GET /api/dashboards/uid/{uid}", RoleViewer, s.getDashboard},
		{"DELETE /api/dashboards/uid/{uid}", RoleEditor, s.deleteDashboard},
		{"GET /api/search", RoleViewer, s.search},
		{"POST /api/serviceaccounts", RoleAdmin, s.createServiceAccount},
		{"POST /api/serviceaccounts/{id}/tokens", RoleAdmin, s.createServiceAccountToken},
		{"POST /api/auth/keys", RoleAdmin, s.createAPIKey},
		{"POST /api/admin/provisioning/dashboards/reload", RoleAdmin, s.reloadDashboards},
		{"POST /api/admin/provisioning/datasources/reload", RoleAdmin, s.reloadDataSources},
	}
	for _, g := range guarded {
		s.mux.HandleFunc(g.pattern, s.guard(g.role, g.h))
	}
	if s.current() {
		// From 9.0 (grafana/grafana#49396); 7.5 answers it 404.
		s.mux.HandleFunc("PUT /api/datasources/uid/{uid}", s.guard(RoleAdmin, s.updateDataSource))
	}
	if s.legacyDataSourceIDs() {
		s.mux.HandleFunc("PUT /api/datasources/{id}", s.guard(RoleAdmin, s.updateDataSource))
	}
	if s.apisServed() {
		s.apisRoutes()
	}
	// Unknown routes, and those the version emulated lacks (/apis before
	// 12, /api itself always), answer Grafana's 404.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, msg("Not found"))
	})
}

// legacyDataSourceIDs tells whether the routes naming a data source by its
// numeric id are served: Grafana 13 turns them off by default (feature
// toggle datasourceLegacyIdApi; upgrade guide v13.0).
func (s *Server) legacyDataSourceIDs() bool { return !s.current() || s.major() < 13 }

// apisServed tells whether the Kubernetes-style /apis is served: from 12.
func (s *Server) apisServed() bool { return s.current() && s.major() >= 12 }

// ServeHTTP counts the request, then serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	s.stats.count(r.Method, withGroup(pattern, r.URL.Path))
	s.mux.ServeHTTP(w, r)
}

// withGroup names an /apis route's group in its pattern, so that the
// counts tell dashboards from folders.
func withGroup(pattern, path string) string {
	rest, ok := strings.CutPrefix(path, "/apis/")
	if !ok || !strings.Contains(pattern, "{group}") {
		return pattern
	}
	group, _, _ := strings.Cut(rest, "/")
	return strings.Replace(pattern, "{group}", group, 1)
}

// handler is a route's handler once the caller is known.
type handler func(http.ResponseWriter, *http.Request, *session)

// session is who is calling. kind is "user" (basic auth), "service-account"
// (a Bearer token) or "" (provisioning, no caller).
type session struct {
	login string
	role  Role
	kind  string
}

// identity is the caller as /apis annotations name it (grafana.app/createdBy,
// updatedBy): "<kind>:<login>", so "user:admin" or "service-account:sa-token"
// (Grafana puts the user's or the service account's uid after the colon;
// the emulator has no uids for them). Provisioning has none.
func (sess *session) identity() string {
	if sess.kind == "" {
		return ""
	}
	return sess.kind + ":" + sess.login
}

// provisioner is the caller of a provisioning load.
func provisioner() *session { return &session{login: "Anonymous"} }

var roleRank = map[Role]int{RoleViewer: 1, RoleEditor: 2, RoleAdmin: 3}

// guard answers 401 without valid credentials and 403 for a role below need,
// with the legacy API's bodies.
func (s *Server) guard(need Role, h handler) http.HandlerFunc {
	return s.guardWith(need, h, legacyDeny)
}

func legacyDeny(w http.ResponseWriter, _ *http.Request, code int) {
	if code == http.StatusUnauthorized {
		writeJSON(w, code, msg("Unauthorized"))
		return
	}
	writeJSON(w, code, msg("Permission denied"))
}

// guardWith is guard with deny writing the 401 or 403. Credentials are
// compared in constant time and never logged.
func (s *Server) guardWith(need Role, h handler, deny func(http.ResponseWriter, *http.Request, int)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.authenticate(r)
		if sess == nil {
			deny(w, r, http.StatusUnauthorized)
			return
		}
		if roleRank[sess.role] < roleRank[need] {
			deny(w, r, http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) authenticate(r *http.Request) *session {
	if user, pass, ok := r.BasicAuth(); ok {
		if s.opts.AdminUser != "" && equal(user, s.opts.AdminUser) && equal(pass, s.opts.AdminPassword) {
			return &session{login: user, role: RoleAdmin, kind: "user"}
		}
		return nil
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, role := range s.opts.Tokens {
		if equal(token, t) {
			return &session{login: "sa-token", role: role, kind: "service-account"}
		}
	}
	for t, role := range s.store.tokens {
		if equal(token, t) {
			return &session{login: "sa-token", role: role, kind: "service-account"}
		}
	}
	return nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"commit": "emulator", "database": "ok", "version": s.opts.Version})
}

// major is the major version of the Grafana emulated.
func (s *Server) major() int {
	n, _ := strconv.Atoi(strings.SplitN(s.opts.Version, ".", 2)[0])
	return n
}

// current tells the rules of Grafana 11–13 from 7.5's.
func (s *Server) current() bool { return s.opts.Mode != ModeV75 }

// Start serves on addr (a loopback host:port, port 0 for a free one) until
// ctx ends; it returns the base URL.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("grafana emulator address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("grafana emulator address %q: listen on loopback only (127.0.0.1 or ::1)", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = l.Close()
		}
	}()
	return "http://" + l.Addr().String(), nil
}

func msg(m string) map[string]any { return map[string]any{"message": m} }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON object keeping numbers as written.
func decode(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.UseNumber()
	return d.Decode(v)
}
