package grafana

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

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

// UpdateDataSource replaces live, a data source Grafana has: fields cmd
// leaves empty are cleared, so start from what Grafana has. It is addressed
// by uid (PUT /api/datasources/uid/UID), or by its numeric id on a Grafana
// before 9.0, which has no uid route (see dialect). 403 ErrReadOnly when
// it is provisioned from files.
func (c *Client) UpdateDataSource(ctx context.Context, live *models.DataSource, cmd *models.UpdateDataSourceCommand) (*models.DataSource, error) {
	what := fmt.Sprintf("update data source %q", live.UID)
	if c.dialect(ctx).updateDataSourceByID {
		params := datasources.NewUpdateDataSourceByIDParams().WithContext(ctx).WithTimeout(c.timeout).WithID(strconv.FormatInt(live.ID, 10)).WithBody(cmd)
		ok, err := c.api.Datasources.UpdateDataSourceByIDWithParams(params, readErrors)
		if err != nil {
			return nil, c.fail(what, err)
		}
		return ok.Payload.Datasource, nil
	}
	params := datasources.NewUpdateDataSourceByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithUID(live.UID).WithBody(cmd)
	ok, err := c.api.Datasources.UpdateDataSourceByUIDWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(what, err)
	}
	return ok.Payload.Datasource, nil
}

// DeleteDataSource deletes the data source with this uid (DELETE
// /api/datasources/uid/UID); 404 ErrNotFound when it is already gone, 403
// ErrReadOnly when provisioning files manage it.
func (c *Client) DeleteDataSource(ctx context.Context, uid string) error {
	params := datasources.NewDeleteDataSourceByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithUID(uid)
	if _, err := c.api.Datasources.DeleteDataSourceByUIDWithParams(params, readErrors); err != nil {
		return c.fail(fmt.Sprintf("delete data source %q", uid), err)
	}
	return nil
}

// DataSourceRef is a data source as the list names it, with the owner
// marker (jsonData[DataSourceOwnerKey]) of whoever wrote it.
type DataSourceRef struct {
	UID, Name, Type string
	Owner           string
	Prunable        bool // written Prunable (jsonData[DataSourcePruneKey])
	ReadOnly        bool // provisioned from files (Grafana 7.5 lists it; current Grafana does not)
}

// DataSourceRefs lists every data source of the organisation with its owner marker.
func (c *Client) DataSourceRefs(ctx context.Context) ([]DataSourceRef, error) {
	list, err := c.DataSources(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DataSourceRef, 0, len(list))
	for _, d := range list {
		ref := DataSourceRef{UID: d.UID, Name: d.Name, Type: d.Type, ReadOnly: d.ReadOnly}
		if jsonData, ok := d.JSONData.(map[string]any); ok {
			ref.Owner, _ = jsonData[DataSourceOwnerKey].(string)
			ref.Prunable, _ = jsonData[DataSourcePruneKey].(bool)
		}
		out = append(out, ref)
	}
	return out, nil
}

// secretsDigest is an HMAC of a data source's secrets keyed by this
// client's credentials: it changes when a secret does, and tells nothing
// about the secrets to whoever reads jsonData without those credentials.
func (c *Client) secretsDigest(uid string, secrets Secrets) string {
	mac := hmac.New(sha256.New, c.creds.digestKey())
	mac.Write([]byte(uid))
	for _, k := range secrets.Keys() {
		mac.Write([]byte{0})
		mac.Write([]byte(k))
		mac.Write([]byte{0})
		mac.Write([]byte(secrets[k]))
	}
	return hex.EncodeToString(mac.Sum(nil))
}
