package grafana

import (
	"cmp"
	"context"
	"strconv"
	"strings"
)

// dialect is how a Grafana version is spoken to where its legacy /api
// changed. Each field names the change and Grafana's own source for it:
//
//   - PUT /api/datasources/uid/:uid exists from 9.0 (grafana/grafana#49396,
//     merged May 2022, "API: Add endpoint for updating a data source by its
//     UID"); before, a data source is updated by its numeric id alone (PUT
//     /api/datasources/:id), and 7.5 answers the uid route 404. From 13 the
//     numeric-id routes are off by default (Grafana's data source API
//     documentation: "Starting in Grafana 13 … endpoints that reference a
//     data source by its numeric id … are disabled by default"), so the uid
//     route is the only one everywhere else.
//   - GET and DELETE /api/datasources/uid/:uid are served by 7.5 already (a
//     recorded 7.5-lineage server answers them), so they need no dialect.
type dialect struct {
	// updateDataSourceByID: PUT /api/datasources/:id, not by uid.
	updateDataSourceByID bool
}

// dialectOf is the dialect of a version as /api/health gives it ("7.5.17",
// "11.6.0", "12.0.0-pre"); an unreadable version is taken as current.
func dialectOf(version string) dialect {
	major, ok := majorOf(version)
	if !ok {
		return dialect{}
	}
	return dialect{updateDataSourceByID: major < 9}
}

// majorOf reads the major of a version.
func majorOf(version string) (int, bool) {
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	n, err := strconv.Atoi(major)
	return n, err == nil
}

// dialect is the dialect of the Grafana this client speaks to.
func (c *Client) dialect(ctx context.Context) dialect {
	return dialectOf(c.serverVersion(ctx))
}

// knownVersion is Grafana's version for messages ("?" when it does not
// answer).
func (c *Client) knownVersion(ctx context.Context) string {
	return cmp.Or(c.serverVersion(ctx), "?")
}

// serverVersion is Grafana's version as its last /api/health gave it,
// asked for once if none has; empty when it does not answer.
func (c *Client) serverVersion(ctx context.Context) string {
	c.mu.Lock()
	version := c.version
	c.mu.Unlock()
	if version == "" {
		if h, err := c.Health(ctx); err == nil {
			version = h.Version
		}
	}
	return version
}
