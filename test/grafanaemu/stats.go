package grafanaemu

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Stats counts the requests served, so that tests can assert, for example,
// that a second provisioning run made no writes.
type Stats struct {
	Reads   int `json:"reads"`   // GET and HEAD, other than through the data source proxy
	Writes  int `json:"writes"`  // POST, PUT, PATCH, DELETE, other than through the proxy
	Proxied int `json:"proxied"` // through the data source proxy (queries, whatever the method)
	// ByRoute counts by "METHOD route pattern", e.g.
	// "POST /api/dashboards/db" or "GET /api/datasources/uid/{uid}".
	ByRoute map[string]int `json:"byRoute"`
}

type stats struct {
	mu sync.Mutex
	s  Stats
}

func newStats() stats { return stats{s: Stats{ByRoute: map[string]int{}}} }

func (st *stats) count(method, pattern string) {
	if strings.HasPrefix(pattern, "GET /emulator/") {
		return // reading the counters is not traffic
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	route, _ := strings.CutPrefix(pattern, method+" ")
	if route == "" {
		route = "(unknown)"
	}
	st.s.ByRoute[method+" "+route]++
	switch {
	case strings.Contains(pattern, "/api/datasources/proxy/"):
		st.s.Proxied++
	case method == http.MethodGet || method == http.MethodHead:
		st.s.Reads++
	default:
		st.s.Writes++
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	c := s.stats.s
	c.ByRoute = maps.Clone(c.ByRoute)
	return c
}

// ResetStats sets every counter to zero (between two runs of a test).
func (s *Server) ResetStats() {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	s.stats.s = Stats{ByRoute: map[string]int{}}
}

func (s *Server) statsHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}
