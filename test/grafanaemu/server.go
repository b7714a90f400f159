// Package grafanaemu emulates the part of Grafana's HTTP API that metricscale
// uses (health, data sources, folders, dashboards, search, the data source
// proxy), for tests: Grafana cannot be installed where they run (it ships no
// Debian or Go package they could install). It follows current Grafana
// (11–13) by default and Grafana 7.5 in ModeV75, as far as the recorded
// calls in testdata show the two differ.
//
// New(Options) gives a Server, an http.Handler that Start serves on loopback.
// Beyond the calls above it emulates service accounts and API keys and
// provisioned (read-only) objects. Data source secrets are kept and never
// returned (DataSourceSecret lets a test check one arrived); the data source
// proxy goes through a Resolve hook, to loopback only; Stats (and GET
// /emulator/stats) counts requests. Its contract tests replay the recorded
// Grafana 7.5 transcript and status codes in testdata/.
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
	// ModeCurrent follows Grafana 11–13: folderUid, nested folders,
	// service-account tokens.
	ModeCurrent Mode = "current"
	// ModeV75 follows Grafana 7.5: folderId only (folderUid is ignored on
	// save and in search), no nested folders, API keys.
	ModeV75 Mode = "7.5"
)

// Role is an organisation role; it bounds what a token may do.
type Role string

const (
	RoleViewer Role = "Viewer"
	RoleEditor Role = "Editor"
	RoleAdmin  Role = "Admin"
)

// Options configure a Server. Only AdminUser and AdminPassword are needed.
type Options struct {
	Mode          Mode   // ModeCurrent when empty
	Version       string // reported by /api/health; 11.6.0 or 7.5.17 when empty
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
		opts.Version = map[Mode]string{ModeCurrent: "11.6.0", ModeV75: "7.5.17"}[opts.Mode]
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
		h       func(http.ResponseWriter, *http.Request, *session)
	}{
		{"GET /api/datasources", RoleViewer, s.listDataSources},
		{"POST /api/datasources", RoleAdmin, s.createDataSource},
		{"GET /api/datasources/uid/{uid}", RoleViewer, s.getDataSource},
		{"GET /api/datasources/name/{name}", RoleViewer, s.getDataSource},
		{"PUT /api/datasources/{id}", RoleAdmin, s.updateDataSource},
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
	if s.current() {
		// From 9.0 (grafana/grafana#49396); 7.5 answers it 404.
		guarded = append(guarded, struct {
			pattern string
			role    Role
			h       func(http.ResponseWriter, *http.Request, *session)
		}{"PUT /api/datasources/uid/{uid}", RoleAdmin, s.updateDataSource})
	}
	for _, g := range guarded {
		s.mux.HandleFunc(g.pattern, s.guard(g.role, g.h))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, msg("Not found"))
	})
}

// ServeHTTP counts the request, then serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	s.stats.count(r.Method, pattern)
	s.mux.ServeHTTP(w, r)
}

// session is who is calling.
type session struct {
	login string
	role  Role
}

var roleRank = map[Role]int{RoleViewer: 1, RoleEditor: 2, RoleAdmin: 3}

// guard answers 401 without valid credentials and 403 for a role below need.
// Credentials are compared in constant time and never logged.
func (s *Server) guard(need Role, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.authenticate(r)
		if sess == nil {
			writeJSON(w, http.StatusUnauthorized, msg("Unauthorized"))
			return
		}
		if roleRank[sess.role] < roleRank[need] {
			writeJSON(w, http.StatusForbidden, msg("Permission denied"))
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) authenticate(r *http.Request) *session {
	if user, pass, ok := r.BasicAuth(); ok {
		if s.opts.AdminUser != "" && equal(user, s.opts.AdminUser) && equal(pass, s.opts.AdminPassword) {
			return &session{login: user, role: RoleAdmin}
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
			return &session{login: "sa-token", role: role}
		}
	}
	for t, role := range s.store.tokens {
		if equal(token, t) {
			return &session{login: "sa-token", role: role}
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

func (s *Server) current() bool { return s.opts.Mode == ModeCurrent }

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
