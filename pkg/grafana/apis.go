package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// FolderGroup is the API group of Grafana's folders under /apis.
const FolderGroup = "folder.grafana.app"

// DefaultNamespace is the /apis namespace of organisation 1 (Grafana Cloud
// names a stack's stacks-<id>).
const DefaultNamespace = "default"

// NamespaceUsage is the help of the flag that sets Config.Namespace.
const NamespaceUsage = "Grafana 12+'s /apis namespace of the organisation: " + DefaultNamespace + " (organisation 1), org-<id>, or stacks-<id> on Grafana Cloud"

// Stable versions only, newest first: an alpha version is not written to.
var (
	classicVersions = []string{"v1", "v1beta1"}
	v2Versions      = []string{"v2", "v2beta1"}
	folderVersions  = []string{"v1", "v1beta1"}
)

// resources is Grafana's Kubernetes-style API (/apis) as one server serves
// it: Grafana 12+ is a Kubernetes-style API server for dashboards and
// folders, so client-go's dynamic and REST clients speak to it. Its groups
// are read with one GET /apis (apiGroups), not client-go's discovery
// client, which keeps only the status of an answer that is no Status (as
// Grafana's own 401 and 403 are).
type resources struct {
	dynamic dynamic.Interface
	// rest sends the writes: their answers echo the whole object, and only
	// its metadata is read (a 50 KB dashboard decoded into maps costs as
	// much as the rest of its save).
	rest      rest.Interface
	namespace string
	// served are the versions of each group Grafana lists.
	served map[string][]string
	// classic, v2, folders are the versions written to; empty Resource
	// when Grafana serves none of them.
	classic, v2, folders schema.GroupVersionResource
}

// apis discovers what Grafana serves under /apis, once; nil (and no
// error) when it serves no stable dashboard version there (Grafana before
// 12), and the legacy /api is spoken.
func (c *Client) apis(ctx context.Context) (*resources, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.discovered {
		return c.resources, nil
	}
	cfg, httpClient := c.restConfig()
	groups, err := c.apiGroups(ctx)
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden):
		// Served nowhere, or not to these credentials: the legacy /api it is.
		c.discovered = true
		return nil, nil
	case err != nil:
		return nil, err
	}
	r := &resources{namespace: c.namespace, served: map[string][]string{}}
	for _, g := range groups {
		for _, v := range g.Versions {
			r.served[g.Name] = append(r.served[g.Name], v.Version)
		}
	}
	r.classic = r.pick(DashboardGroup, "dashboards", classicVersions)
	r.v2 = r.pick(DashboardGroup, "dashboards", v2Versions)
	r.folders = r.pick(FolderGroup, "folders", folderVersions)
	if r.classic.Resource != "" {
		if r.dynamic, err = dynamic.NewForConfigAndClient(cfg, httpClient); err != nil {
			return nil, err
		}
		if r.rest, err = rest.UnversionedRESTClientForConfigAndClient(dynamic.ConfigFor(cfg), httpClient); err != nil {
			return nil, err
		}
		c.resources = r
	}
	c.discovered = true
	return c.resources, nil
}

// apiGroups is GET /apis: the groups Grafana serves as a Kubernetes-style
// API server. It answers the plain APIGroupList to a plain Accept.
func (c *Client) apiGroups(ctx context.Context) ([]metav1.APIGroup, error) {
	const op = "discover /apis"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/apis", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: c.signed(), Timeout: c.timeout}).Do(req)
	if err != nil {
		return nil, c.fail(op, &url.Error{Op: "Get", URL: req.URL.String(), Err: err})
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, c.fail(op, &url.Error{Op: "Get", URL: req.URL.String(), Err: err})
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.fail(op, statusError(resp.StatusCode, body))
	}
	var list metav1.APIGroupList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("grafana: %s: the answer is no APIGroupList: %w", op, err)
	}
	return list.Groups, nil
}

// pick is the first of versions the group serves.
func (r *resources) pick(group, resource string, versions []string) schema.GroupVersionResource {
	for _, v := range versions {
		if slices.Contains(r.served[group], v) {
			return schema.GroupVersionResource{Group: group, Version: v, Resource: resource}
		}
	}
	return schema.GroupVersionResource{}
}

// dashboardsFor is the dashboards' resource to write a schema through: the
// resource's own version when served, else the family's newest.
func (r *resources) dashboardsFor(s DashboardSchema) (schema.GroupVersionResource, error) {
	if group, version, _ := strings.Cut(s.APIVersion, "/"); version != "" && slices.Contains(r.served[group], version) {
		return schema.GroupVersionResource{Group: group, Version: version, Resource: "dashboards"}, nil
	}
	if !s.V2 {
		return r.classic, nil
	}
	if r.v2.Resource == "" {
		return r.v2, fmt.Errorf("%w: Grafana serves %s %s, and a v2 dashboard needs %s/v2beta1 (Grafana 12.2 and later, with dynamic dashboards) or /v2 (Grafana 13)",
			ErrV2NotServed, DashboardGroup, strings.Join(r.served[DashboardGroup], ", "), DashboardGroup)
	}
	return r.v2, nil
}

// ErrV2NotServed: Grafana takes no v2 dashboard (before 12.2, or without
// dynamic dashboards).
var ErrV2NotServed = errors.New("this Grafana takes no v2 dashboard")

// write sends obj to Grafana, created (POST) or replacing the object of
// its name (PUT), and reads back its metadata only.
func (r *resources) write(ctx context.Context, create bool, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) (metav1.ObjectMeta, error) {
	body, err := json.Marshal(obj.Object)
	if err != nil {
		return metav1.ObjectMeta{}, err
	}
	path := "/apis/" + gvr.Group + "/" + gvr.Version + "/namespaces/" + r.namespace + "/" + gvr.Resource
	req := r.rest.Post().AbsPath(path)
	if !create {
		req = r.rest.Put().AbsPath(path, obj.GetName())
	}
	raw, err := req.SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Raw()
	if err != nil {
		return metav1.ObjectMeta{}, err
	}
	var saved struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &saved); err != nil {
		return metav1.ObjectMeta{}, fmt.Errorf("the answer is no object: %w", err)
	}
	return saved.Metadata, nil
}

func (r *resources) client(gvr schema.GroupVersionResource) dynamic.ResourceInterface {
	return r.dynamic.Resource(gvr).Namespace(r.namespace)
}

// restConfig is client-go's view of this Grafana: /apis under its root
// URL, over the client's own transport (its TLS settings and request
// counts) with its credentials. No client-side rate limit: Grafana is not
// a shared API server that asks for one.
func (c *Client) restConfig() (*rest.Config, *http.Client) {
	cfg := &rest.Config{Host: c.base.String(), APIPath: "/apis", QPS: -1, Timeout: c.timeout, UserAgent: "metricscale"}
	return cfg, &http.Client{Transport: grafanaStatuses{c.signed()}, Timeout: c.timeout}
}

// signed is the client's transport with its credentials on every request.
func (c *Client) signed() http.RoundTripper {
	switch {
	case c.creds.token != "":
		return transport.NewBearerAuthRoundTripper(c.creds.token, c.requests)
	case c.creds.user != "":
		return transport.NewBasicAuthRoundTripper(c.creds.user, c.creds.password, c.requests)
	}
	return c.requests
}

// failAPIs turns an /apis error (a Kubernetes Status) into an *Error.
func (c *Client) failAPIs(op string, err error) error {
	var status apierrors.APIStatus
	var netErr *url.Error
	var e *Error
	switch {
	case errors.As(err, &status):
		e = statusOf(status.Status())
	case errors.As(err, &netErr):
		e = &Error{Err: err}
	default:
		return fmt.Errorf("grafana: %s: %w", op, err)
	}
	e.Op = op
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		e.Auth = c.creds.Describe()
	}
	return e
}

// statusOf is a Kubernetes Status as an *Error.
func statusOf(s metav1.Status) *Error {
	return &Error{Status: int(s.Code), Message: s.Message, Reason: string(s.Reason)}
}

// grafanaStatuses turns Grafana's own error bodies ({"message", "status"},
// from the middleware in front of /apis: 401, 403) into Kubernetes Status
// objects, which client-go reads; it would otherwise keep only the code.
type grafanaStatuses struct{ next http.RoundTripper }

func (g grafanaStatuses) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var kind struct{ Kind string }
	if json.Unmarshal(body, &kind) != nil || kind.Kind == "" {
		e := statusError(resp.StatusCode, body)
		status := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
			Code: int32(resp.StatusCode), Message: e.Message, Reason: metav1.StatusReason(e.Reason)}
		body, _ = json.Marshal(status)
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
