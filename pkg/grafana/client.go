package grafana

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	goapi "github.com/grafana/grafana-openapi-client-go/client"
)

// Client calls one Grafana's HTTP API with Grafana's own generated client.
// It is safe for concurrent use.
type Client struct {
	api      *goapi.GrafanaHTTPAPI
	base     endpoint
	creds    Credentials
	timeout  time.Duration
	requests *requestCounter

	// namespace is the /apis namespace of the organisation (Config.Namespace).
	namespace string

	mu sync.Mutex
	// version is Grafana's, from the last /api/health: it picks the dialect.
	version string
	// resources is what Grafana serves under /apis (nil: nothing used),
	// once discovered.
	resources  *resources
	discovered bool
}

// New checks cfg and builds a client. It sends nothing.
func New(cfg Config) (*Client, error) {
	base, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if err := cfg.Credentials.validate(); err != nil {
		return nil, err
	}
	tlsConfig, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	// The generated facade (client.NewHTTPClientWithConfig) sets its TLS
	// config on http.DefaultTransport, shared by the whole process: build
	// the runtime over a transport of our own instead.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	counter := &requestCounter{next: transport}
	httpClient := &http.Client{Transport: counter, Timeout: timeout}

	rt := httptransport.NewWithClient(base.host, base.path+goapi.DefaultBasePath, []string{base.scheme}, httpClient)
	// The runtime turns request dumps on from $DEBUG or $SWAGGER_DEBUG;
	// they would print the Authorization header.
	rt.Debug = false
	rt.DefaultAuthentication = authWriter(cfg.Credentials)

	return &Client{
		api:       goapi.New(rt, &goapi.TransportConfig{Host: base.host, BasePath: rt.BasePath, Schemes: []string{base.scheme}}, strfmt.Default),
		base:      base,
		creds:     cfg.Credentials,
		timeout:   timeout,
		requests:  counter,
		namespace: cmp.Or(cfg.Namespace, DefaultNamespace),
	}, nil
}

// URL is Grafana's root URL; links Grafana returns (/d/uid/slug) are relative to it.
func (c *Client) URL() string { return c.base.String() }

// Link makes a path Grafana returned (such as a dashboard's /d/uid/slug)
// absolute. Grafana's paths already carry the sub-path it is served under
// (its root_url), so a path that starts with it is not prefixed twice.
func (c *Client) Link(path string) string {
	if path == "" {
		return ""
	}
	if c.base.path != "" && len(path) >= len(c.base.path) && path[:len(c.base.path)] == c.base.path {
		return (&url.URL{Scheme: c.base.scheme, Host: c.base.host}).String() + path
	}
	return c.base.String() + path
}

// Requests counts what the client sent so far, for reports and benchmarks.
type Requests struct {
	Reads  int64 `json:"reads"`  // GET and HEAD
	Writes int64 `json:"writes"` // everything else
}

// Requests returns the counts so far.
func (c *Client) Requests() Requests {
	return Requests{Reads: c.requests.reads.Load(), Writes: c.requests.writes.Load()}
}

type requestCounter struct {
	next          http.RoundTripper
	reads, writes atomic.Int64
}

func (rc *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		rc.reads.Add(1)
	} else {
		rc.writes.Add(1)
	}
	return rc.next.RoundTrip(req)
}

func authWriter(c Credentials) runtime.ClientAuthInfoWriter {
	switch {
	case c.token != "":
		return httptransport.BearerToken(c.token)
	case c.user != "":
		return httptransport.BasicAuth(c.user, c.password)
	default:
		return noAuth
	}
}

var noAuth = runtime.ClientAuthInfoWriterFunc(func(runtime.ClientRequest, strfmt.Registry) error { return nil })

// readErrors makes every answer outside 2xx an *Error with Grafana's
// message. The generated readers know only the statuses of the spec (a 404
// on a data source update or a 412 on a folder update becomes an APIError
// without its body) and fail on a body that is not the spec's JSON, so the
// status is read here, before them.
func readErrors(op *runtime.ClientOperation) {
	op.Reader = errorReader{next: op.Reader}
}

// withoutAuth sends a call unsigned (Health must work without credentials).
func withoutAuth(op *runtime.ClientOperation) { op.AuthInfo = noAuth }

type errorReader struct{ next runtime.ClientResponseReader }

func (r errorReader) ReadResponse(resp runtime.ClientResponse, consumer runtime.Consumer) (any, error) {
	if resp.Code() >= 200 && resp.Code() < 300 {
		return r.next.ReadResponse(resp, consumer)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body(), 64<<10))
	return nil, statusError(resp.Code(), body)
}

// fail names the operation on err and turns a missing answer into an
// *Error matching ErrUnreachable.
func (c *Client) fail(op string, err error) error {
	var e *Error
	var netErr *url.Error
	switch {
	case errors.As(err, &e):
	case errors.As(err, &netErr):
		e = &Error{Err: err}
	default: // an answer that could not be read
		return fmt.Errorf("grafana: %s: reading the answer: %w", op, err)
	}
	e.Op = op
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		e.Auth = c.creds.Describe()
	}
	return e
}
