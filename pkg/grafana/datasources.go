package grafana

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-openapi-client-go/client/datasources"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// DataSource returns the data source with this uid (GET /api/datasources/uid/UID).
func (c *Client) DataSource(ctx context.Context, uid string) (*models.DataSource, error) {
	params := datasources.NewGetDataSourceByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithUID(uid)
	ok, err := c.api.Datasources.GetDataSourceByUIDWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("get data source %q", uid), err)
	}
	return ok.Payload, nil
}

// DataSources lists every data source of the organisation (GET /api/datasources).
func (c *Client) DataSources(ctx context.Context) ([]*models.DataSourceListItemDTO, error) {
	params := datasources.NewGetDataSourcesParams().WithContext(ctx).WithTimeout(c.timeout)
	ok, err := c.api.Datasources.GetDataSourcesWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail("list data sources", err)
	}
	return ok.Payload, nil
}

// CreateDataSource adds a data source (POST /api/datasources); 409 when its
// name or uid is taken.
func (c *Client) CreateDataSource(ctx context.Context, cmd *models.AddDataSourceCommand) (*models.DataSource, error) {
	params := datasources.NewAddDataSourceParams().WithContext(ctx).WithTimeout(c.timeout).WithBody(cmd)
	ok, err := c.api.Datasources.AddDataSourceWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("create data source %q", cmd.Name), err)
	}
	return ok.Payload.Datasource, nil
}

// UpdateDataSource replaces the data source with this uid (PUT
// /api/datasources/uid/UID): fields cmd leaves empty are cleared, so start
// from what Grafana has. 403 ErrReadOnly when it is provisioned from files.
func (c *Client) UpdateDataSource(ctx context.Context, uid string, cmd *models.UpdateDataSourceCommand) (*models.DataSource, error) {
	params := datasources.NewUpdateDataSourceByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithUID(uid).WithBody(cmd)
	ok, err := c.api.Datasources.UpdateDataSourceByUIDWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("update data source %q", uid), err)
	}
	return ok.Payload.Datasource, nil
}
