package grafana

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-openapi-client-go/client/dashboards"
	"github.com/grafana/grafana-openapi-client-go/client/search"
)

// searchLimit is the most Grafana's search returns in one answer.
const searchLimit = 5000

// DashboardRef is a dashboard as search lists it.
type DashboardRef struct {
	UID       string
	Title     string
	FolderUID string
	Tags      []string
}

// DashboardsByTag lists the dashboards carrying tag (GET
// /api/search?type=dash-db&tag=TAG). More than Grafana's 5,000 per answer is
// an error rather than a silently short list.
func (c *Client) DashboardsByTag(ctx context.Context, tag string) ([]DashboardRef, error) {
	op := fmt.Sprintf("search dashboards tagged %q", tag)
	kind, limit := "dash-db", int64(searchLimit)
	params := search.NewSearchParams().WithContext(ctx).WithTimeout(c.timeout).
		WithType(&kind).WithTag([]string{tag}).WithLimit(&limit)
	ok, err := c.api.Search.Search(params, readErrors)
	if err != nil {
		return nil, c.fail(op, err)
	}
	if len(ok.Payload) >= searchLimit {
		return nil, fmt.Errorf("grafana: %s: %d or more answers, more than one search returns", op, searchLimit)
	}
	out := make([]DashboardRef, 0, len(ok.Payload))
	for _, h := range ok.Payload {
		if h == nil || string(h.Type) != "dash-db" {
			continue
		}
		out = append(out, DashboardRef{UID: h.UID, Title: h.Title, FolderUID: h.FolderUID, Tags: h.Tags})
	}
	return out, nil
}

// DeleteDashboard deletes the dashboard with this uid (DELETE
// /api/dashboards/uid/UID); 404 ErrNotFound when it is already gone, 400
// ErrProvisioned when provisioning files manage it.
func (c *Client) DeleteDashboard(ctx context.Context, uid string) error {
	if r, err := c.apis(ctx); err != nil || r != nil {
		if err != nil {
			return err
		}
		return c.deleteDashboardResource(ctx, r, uid)
	}
	params := dashboards.NewDeleteDashboardByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithUID(uid)
	if _, err := c.api.Dashboards.DeleteDashboardByUIDWithParams(params, readErrors); err != nil {
		return c.fail(fmt.Sprintf("delete dashboard %q", uid), err)
	}
	return nil
}
