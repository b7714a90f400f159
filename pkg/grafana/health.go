package grafana

import (
	"context"

	"github.com/grafana/grafana-openapi-client-go/client/health"
)

// Health is Grafana's /api/health answer.
type Health struct {
	Version  string // e.g. "11.3.0"
	Database string // "ok" when Grafana reaches its database
	Commit   string
}

// Health asks GET /api/health. It sends no credentials: it tells whether
// Grafana is up before anything is known of the credentials. The version it
// gives picks the calls the client makes where Grafana changed them.
func (c *Client) Health(ctx context.Context) (Health, error) {
	params := health.NewGetHealthParams().WithContext(ctx).WithTimeout(c.timeout)
	ok, err := c.api.Health.GetHealthWithParams(params, readErrors, withoutAuth)
	if err != nil {
		return Health{}, c.fail("health", err)
	}
	c.mu.Lock()
	c.version = ok.Payload.Version
	c.mu.Unlock()
	return Health{Version: ok.Payload.Version, Database: ok.Payload.Database, Commit: ok.Payload.Commit}, nil
}
