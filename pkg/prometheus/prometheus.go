// Package prometheus connects to the Prometheus that prometheus-adapter
// reads: directly when its URL is reachable from here (an ExternalName
// Service is followed to its host), through the API server's service proxy
// when it is an in-cluster Service. Queries go through the adapter's own
// client (sigs.k8s.io/prometheus-adapter/pkg/client) so they are sent exactly
// as the adapter sends them.
//
// Series requests are the adapter's client's (verb, path, parameters),
// bounded by SeriesTimeout: the adapter's client has none, and the probe's
// 5 s bound would fail a large cluster's relist that the adapter
// completes. Their answer is read as a stream (EachSeries): one series at a
// time, each decoded without reflection as the adapter's decoding would, in a
// third of its CPU, with strings shared between series, so a relist over
// 375,000 series never holds the 80 MB answer. FuzzReadSeries and
// FuzzReadSeriesData check the series and errors against the adapter's
// client. An answer not in Prometheus's own shape is read whole, with the
// adapter's client's own steps. Vector reads a query result; Targets lists
// the active scrape targets.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/transport"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"

	"github.com/metricscale/kubectl-metricscale/pkg/kube"
)

// SeriesTimeout bounds a series request: Prometheus's own default query
// timeout (--query.timeout), well above what listing a large cluster's
// series takes; the command's context (Ctrl-C) ends it sooner.
const SeriesTimeout = 2 * time.Minute

// How doctor reached Prometheus.
const (
	ViaDirect       = "direct"
	ViaServiceProxy = "service-proxy"
)

// Connection is the outcome of reaching a Prometheus URL.
type Connection struct {
	URL string `json:"url"`
	// Via is direct or service-proxy.
	Via string `json:"via,omitempty"`
	// Endpoint is the URL requests actually go to.
	Endpoint string `json:"endpoint,omitempty"`
	// Status is the HTTP status of /api/v1/status/buildinfo (0: no answer).
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Service is "namespace/name" when URL names an in-cluster Service.
	Service string `json:"service,omitempty"`
	// ServiceMissing is set when that Service does not exist.
	ServiceMissing bool `json:"serviceMissing,omitempty"`

	client  prom.Client
	generic prom.GenericAPIClient
	// http and base are what generic sends with: the series requests
	// are sent with them directly (see series).
	http *http.Client
	base *url.URL
	// index asks the label endpoints, with the series requests' bound.
	index prom.GenericAPIClient
	// matchersServed: the server's label endpoints honour match[]
	// (Prometheus 2.24 and later, from its buildinfo).
	matchersServed bool
}

// OK reports whether Prometheus answered its API.
func (c *Connection) OK() bool { return c.Error == "" && c.Status == http.StatusOK }

var serviceHost = regexp.MustCompile(`^([a-z0-9-]+)\.([a-z0-9-]+)(\.svc(\.cluster\.local)?)?$`)

// Connect reaches rawURL: directly first, then, for an in-cluster Service
// name, through the API server's service proxy with the clients of kc.
func Connect(ctx context.Context, kc *kube.Clients, rawURL string) *Connection {
	c := &Connection{URL: rawURL}
	u, err := url.Parse(strings.TrimRight(rawURL, "/"))
	if err != nil || u.Host == "" {
		c.Error = fmt.Sprintf("not a URL: %q", rawURL)
		return c
	}
	// DebugWrappers: -v 6 logs each request to Prometheus with its time,
	// as client-go logs those through the API server.
	direct := &http.Client{Timeout: 5 * time.Second, Transport: transport.DebugWrappers(http.DefaultTransport)}
	if c.try(ctx, direct, u, ViaDirect); c.Status != 0 {
		return c
	}
	m := serviceHost.FindStringSubmatch(u.Hostname())
	if m == nil || (m[3] == "" && !strings.Contains(c.Error, "no such host")) {
		return c
	}
	c.viaService(ctx, kc, u, direct, m[2], m[1])
	return c
}

// viaService reaches u, whose host is Service ns/name, through the API
// server's service proxy (or at its external name), once the direct try
// has failed with c.Error.
func (c *Connection) viaService(ctx context.Context, kc *kube.Clients, u *url.URL, direct *http.Client, ns, name string) {
	directErr := c.Error
	c.Service = ns + "/" + name
	svc, err := kc.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		c.ServiceMissing = true
		c.Error = fmt.Sprintf("Service %s does not exist (%s)", c.Service, directErr)
		return
	}
	if err != nil {
		c.Error = fmt.Sprintf("reading Service %s: %v", c.Service, err)
		return
	}
	port := urlPort(u)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// Cluster DNS answers with a CNAME to the external name: go there.
		ext := *u
		ext.Host = net.JoinHostPort(svc.Spec.ExternalName, port)
		c.Error = ""
		if c.try(ctx, direct, &ext, ViaDirect); c.Status == 0 {
			c.Error = fmt.Sprintf("ExternalName Service %s points at %s: %s", c.Service, ext.Host, c.Error)
		}
		return
	}
	if !servicePortExists(svc.Spec.Ports, port) {
		c.Error = fmt.Sprintf("Service %s has no port %s (%s)", c.Service, port, directErr)
		return
	}
	httpClient := *kc.HTTP
	httpClient.Timeout = 10 * time.Second
	proxy, err := url.Parse(strings.TrimRight(kc.Host, "/") +
		fmt.Sprintf("/api/v1/namespaces/%s/services/%s:%s:%s/proxy", ns, u.Scheme, name, port) + u.Path)
	if err != nil {
		c.Error = err.Error()
		return
	}
	c.Error = ""
	c.try(ctx, &httpClient, proxy, ViaServiceProxy)
}

// urlPort is u's port, or its scheme's default.
func urlPort(u *url.URL) string {
	switch {
	case u.Port() != "":
		return u.Port()
	case u.Scheme == "https":
		return "443"
	default:
		return "80"
	}
}

func servicePortExists(ports []corev1.ServicePort, port string) bool {
	for _, p := range ports {
		if fmt.Sprint(p.Port) == port {
			return true
		}
	}
	return false
}

// try probes base's buildinfo endpoint and, on any HTTP answer, keeps base
// as the endpoint.
func (c *Connection) try(ctx context.Context, hc *http.Client, base *url.URL, via string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"/api/v1/status/buildinfo", nil)
	if err != nil {
		c.Error = err.Error()
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.Error = shortNetError(err)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if via == ViaServiceProxy && resp.StatusCode != http.StatusOK {
		// An error from the API server's proxy itself (no endpoints, no
		// such Service) is a Status object, not Prometheus's answer.
		var st metav1.Status
		if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
			c.Error = fmt.Sprintf("the API server's service proxy to %s answers %d: %s", c.Service, resp.StatusCode, st.Message)
			return
		}
	}
	c.Status, c.Via, c.Endpoint, c.Error = resp.StatusCode, via, base.String(), ""
	c.matchersServed = labelMatchersServed(body)
	if resp.StatusCode != http.StatusOK {
		c.Error = fmt.Sprintf("HTTP %d from %s/api/v1/status/buildinfo: %s", resp.StatusCode, base.Redacted(), strings.TrimSpace(string(body)))
		if len(c.Error) > 300 {
			c.Error = c.Error[:300] + "..."
		}
	}
	c.generic = prom.NewGenericAPIClient(hc, base, nil)
	c.client = prom.NewClientForAPI(c.generic, http.MethodGet)
	// The relist's series requests wait as the adapter's do: its client
	// has no timeout, and a cluster's series take Prometheus longer than
	// the probe's bound to list (about 9 s for 375,000 here). Cutting them
	// short would report a relist failure the adapter does not have.
	series := *hc
	series.Timeout = SeriesTimeout
	c.http, c.base = &series, base
	c.index = prom.NewGenericAPIClient(&series, base, nil)
}

func shortNetError(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "no such host " + dns.Name
	}
	return err.Error()
}

// Series lists the series matching selectors since start, as the adapter's
// relist does.
func (c *Connection) Series(ctx context.Context, start time.Time, selectors ...prom.Selector) ([]prom.Series, error) {
	return c.seriesList(ctx, pmodel.Interval{Start: pmodel.TimeFromUnixNano(start.UnixNano())}, selectors)
}

// SeriesBetween lists the series matching selectors with a sample between
// start and end.
func (c *Connection) SeriesBetween(ctx context.Context, start, end time.Time, selectors ...prom.Selector) ([]prom.Series, error) {
	return c.seriesList(ctx, pmodel.Interval{Start: pmodel.TimeFromUnixNano(start.UnixNano()), End: pmodel.TimeFromUnixNano(end.UnixNano())}, selectors)
}

// EachSeries is Series passing each series on as it is read, without
// holding them all (readSeries). On an error, the series passed on before it
// are to be dropped.
func (c *Connection) EachSeries(ctx context.Context, start time.Time, each func(prom.Series), selectors ...prom.Selector) error {
	_, err := c.series(ctx, pmodel.Interval{Start: pmodel.TimeFromUnixNano(start.UnixNano())}, selectors, each)
	return err
}

func (c *Connection) seriesList(ctx context.Context, interval pmodel.Interval, selectors []prom.Selector) ([]prom.Series, error) {
	out := []prom.Series{}
	null, err := c.series(ctx, interval, selectors, func(s prom.Series) { out = append(out, s) })
	if err != nil || null {
		return nil, err
	}
	return out, nil
}

// series sends the adapter's client's series request (its verb, path and
// parameters: queryClient.Series through httpAPIClient.Do) and reads the
// answer as that client does, with the same series and errors, passing
// each series on as it is read (readSeries): the adapter's client holds the
// answer, then a copy of the data, then decodes each series through
// reflection, most of doctor's time and memory on a cluster's tens of
// thousands of series.
func (c *Connection) series(ctx context.Context, interval pmodel.Interval, selectors []prom.Selector, each func(prom.Series)) (null bool, err error) {
	if c.http == nil {
		return false, fmt.Errorf("Prometheus is not reachable: %s", c.Error)
	}
	vals := url.Values{}
	if interval.Start != 0 {
		vals.Set("start", interval.Start.String())
	}
	if interval.End != 0 {
		vals.Set("end", interval.End.String())
	}
	for _, sel := range selectors {
		vals.Add("match[]", string(sel))
	}
	u := *c.base
	u.Path = path.Join(c.base.Path, "/api/v1/series")
	u.RawQuery = vals.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, fmt.Errorf("error constructing HTTP request to Prometheus: %v", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	// As the adapter's client: these codes carry no JSON answer.
	if code := resp.StatusCode; code/100 != 2 && code != 400 && code != 422 && code != 503 {
		return false, &prom.Error{Type: prom.ErrBadResponse, Msg: fmt.Sprintf("unknown response code %d", code)}
	}
	return readSeries(resp.Body, each)
}

// Query runs an instant query.
func (c *Connection) Query(ctx context.Context, q string) (prom.QueryResult, error) {
	if c.client == nil {
		return prom.QueryResult{}, fmt.Errorf("Prometheus is not reachable: %s", c.Error)
	}
	return c.client.Query(ctx, pmodel.Now(), prom.Selector(q))
}

// QueryRange runs a range query from start to end, a point every step.
func (c *Connection) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (prom.QueryResult, error) {
	if c.client == nil {
		return prom.QueryResult{}, fmt.Errorf("Prometheus is not reachable: %s", c.Error)
	}
	r := prom.Range{Start: pmodel.TimeFromUnixNano(start.UnixNano()), End: pmodel.TimeFromUnixNano(end.UnixNano()), Step: step}
	return c.client.QueryRange(ctx, r, prom.Selector(q))
}

// MetricNames lists every metric name Prometheus knows.
func (c *Connection) MetricNames(ctx context.Context) ([]string, error) {
	if c.generic == nil {
		return nil, fmt.Errorf("Prometheus is not reachable: %s", c.Error)
	}
	resp, err := c.generic.Do(ctx, http.MethodGet, "/api/v1/label/__name__/values", nil)
	if err != nil {
		return nil, err
	}
	var names []string
	return names, json.Unmarshal(resp.Data, &names)
}

// Vector is the instant vector of a query result; a scalar is one sample
// without labels.
func Vector(res prom.QueryResult) pmodel.Vector {
	if res.Vector != nil {
		return *res.Vector
	}
	if res.Scalar != nil {
		return pmodel.Vector{&pmodel.Sample{Value: res.Scalar.Value}}
	}
	return nil
}

// Target is an active scrape target, as Prometheus's targets API gives it.
type Target struct {
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Labels     map[string]string `json:"labels"`
	Health     string            `json:"health"`
	// ScrapeInterval is a duration ("30s"); Prometheus 2.x of late
	// releases and 3.x give it.
	ScrapeInterval string `json:"scrapeInterval"`
}

// Targets lists Prometheus's active scrape targets.
func (c *Connection) Targets(ctx context.Context) ([]Target, error) {
	if c.generic == nil {
		return nil, fmt.Errorf("Prometheus is not reachable: %s", c.Error)
	}
	resp, err := c.generic.Do(ctx, http.MethodGet, "/api/v1/targets", url.Values{"state": {"active"}})
	if err != nil {
		return nil, err
	}
	var data struct {
		ActiveTargets []Target `json:"activeTargets"`
	}
	return data.ActiveTargets, json.Unmarshal(resp.Data, &data)
}
