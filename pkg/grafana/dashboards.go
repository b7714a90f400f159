package grafana

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-openapi-client-go/client/dashboards"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// StoredDashboard is a dashboard as Grafana has it.
type StoredDashboard struct {
	// Body is the dashboard JSON, decoded losslessly (numbers as json.Number).
	Body map[string]any
	// Meta has version, folderUid, folderId, provisioned and url.
	Meta models.DashboardMeta
	// Schema is the one Grafana stores it in; its APIVersion is set when
	// it was read through /apis.
	Schema DashboardSchema
	// ResourceVersion is its /apis resourceVersion (Grafana 12+).
	ResourceVersion string
}

// Dashboard returns the dashboard with this uid and its meta: through
// dashboard.grafana.app where Grafana serves it (12+), in the schema it is
// stored in, else GET /api/dashboards/uid/UID.
func (c *Client) Dashboard(ctx context.Context, uid string) (*StoredDashboard, error) {
	return c.dashboard(ctx, uid, DashboardSchema{})
}

// dashboard is Dashboard, read through /apis first in the schema expected.
func (c *Client) dashboard(ctx context.Context, uid string, expect DashboardSchema) (*StoredDashboard, error) {
	if r, err := c.apis(ctx); err != nil || r != nil {
		if err != nil {
			return nil, err
		}
		return c.dashboardResource(ctx, r, uid, expect)
	}
	op := fmt.Sprintf("get dashboard %q", uid)
	params := dashboards.NewGetDashboardByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithUID(uid)
	ok, err := c.api.Dashboards.GetDashboardByUIDWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(op, err)
	}
	body, isObject := ok.Payload.Dashboard.(map[string]any)
	if !isObject {
		return nil, fmt.Errorf("grafana: %s: the answer has no dashboard object", op)
	}
	d := &StoredDashboard{Body: body}
	if ok.Payload.Meta != nil {
		d.Meta = *ok.Payload.Meta
	}
	return d, nil
}

// DashboardSave is one POST /api/dashboards/db.
type DashboardSave struct {
	Body map[string]any
	// FolderUID is the folder to save into; empty for the root (General).
	FolderUID string
	// FolderID is the same folder's numeric id. Both are sent: Grafana
	// before 9 knows only the id, current Grafana prefers the uid (13
	// ignores the id), and an update naming neither moves the dashboard to
	// the root. Looked up when zero and FolderUID is set.
	FolderID int64
	// Overwrite replaces whatever version Grafana has; without it a stale
	// save answers 412 ErrVersionMismatch.
	Overwrite bool
	// Message is the version history's note.
	Message string
	// UID names a dashboard whose body has none (v2).
	UID string
	// Schema is the body's: a v2 body goes only through /apis.
	Schema DashboardSchema
	// ResourceVersion, with Overwrite through /apis, replaces only that
	// version (409 ErrConflict otherwise).
	ResourceVersion string
}

func (s DashboardSave) uid() string {
	if uid, _ := s.Body["uid"].(string); uid != "" {
		return uid
	}
	return s.UID
}

// SavedDashboard is Grafana's answer to a save.
type SavedDashboard struct {
	ID      int64
	UID     string
	URL     string // relative to Grafana's root, e.g. /d/uid/slug
	Version int64
}

// SaveDashboard creates or updates a dashboard. A dashboard provisioned from
// files answers 400 ErrProvisioned.
func (c *Client) SaveDashboard(ctx context.Context, s DashboardSave) (SavedDashboard, error) {
	r, err := c.apis(ctx)
	switch {
	case err != nil:
		return SavedDashboard{}, err
	case r != nil:
		return c.saveDashboardResource(ctx, r, s)
	case s.Schema.V2:
		return SavedDashboard{}, fmt.Errorf("grafana: save dashboard %q: %w: Grafana %s serves no %s; a v2 dashboard needs Grafana 12.2 or later with dynamic dashboards (13 has them by default)",
			s.uid(), ErrV2NotServed, c.knownVersion(ctx), DashboardGroup)
	}
	op := "save dashboard"
	if uid := s.uid(); uid != "" {
		op = fmt.Sprintf("save dashboard %q", uid)
	}
	if s.FolderUID != "" && s.FolderID == 0 {
		folder, err := c.Folder(ctx, s.FolderUID)
		if err != nil {
			return SavedDashboard{}, err
		}
		s.FolderID = folder.ID
	}
	cmd := &models.SaveDashboardCommand{
		Dashboard: s.Body,
		FolderUID: s.FolderUID,
		FolderID:  s.FolderID,
		Overwrite: s.Overwrite,
		Message:   s.Message,
	}
	params := dashboards.NewPostDashboardParams().WithContext(ctx).WithTimeout(c.timeout).WithBody(cmd)
	ok, err := c.api.Dashboards.PostDashboardWithParams(params, readErrors)
	if err != nil {
		return SavedDashboard{}, c.fail(op, err)
	}
	p := ok.Payload
	return SavedDashboard{ID: deref(p.ID), UID: deref(p.UID), URL: deref(p.URL), Version: deref(p.Version)}, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
