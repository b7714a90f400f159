package grafanaemu

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// proxy forwards /api/datasources/proxy/uid/{uid}/{path...} to the data
// source's URL, as Grafana's data source proxy does: the caller's
// credentials stay behind, the path and query go on.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, _ *session) {
	s.mu.Lock()
	d := s.store.dataSourceByUID(r.PathValue("uid"))
	var raw string
	if d != nil {
		raw = str(d.fields["url"])
	}
	s.mu.Unlock()
	if d == nil {
		writeJSON(w, http.StatusNotFound, msg("Unable to find datasource"))
		return
	}
	target, err := url.Parse(raw)
	if err != nil || target.Host == "" {
		writeJSON(w, http.StatusBadRequest, msg(fmt.Sprintf("data source %s has no usable URL (%q): set an absolute http(s) URL", d.uid, raw)))
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.URL.Path = strings.TrimSuffix(target.Path, "/") + "/" + r.PathValue("path")
			pr.Out.URL.RawPath = ""
			pr.Out.URL.RawQuery = r.URL.RawQuery
			pr.Out.Host = target.Host
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
		},
		Transport: s.transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeJSON(w, http.StatusBadGateway, msg("Bad Gateway: data source "+d.uid+": "+err.Error()))
		},
	}
	rp.ServeHTTP(w, r)
}

// newTransport dials data sources through Options.Resolve, and only on
// loopback.
func (s *Server) newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dial := addr
			if s.opts.Resolve != nil {
				var err error
				if dial, err = s.opts.Resolve(addr); err != nil {
					return nil, err
				}
			}
			host, _, err := net.SplitHostPort(dial)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return nil, fmt.Errorf("%s is not on loopback: the emulator dials only loopback (map the host with Options.Resolve)", addr)
			}
			return dialer.DialContext(ctx, network, dial)
		},
		ResponseHeaderTimeout: 30 * time.Second,
	}
}
