package grafana

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-openapi-client-go/client/folders"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// Folder returns the folder with this uid (GET /api/folders/UID).
func (c *Client) Folder(ctx context.Context, uid string) (*models.Folder, error) {
	if r, err := c.folderAPIs(ctx); err != nil || r != nil {
		if err != nil {
			return nil, err
		}
		return c.folderResource(ctx, r, uid)
	}
	params := folders.NewGetFolderByUIDParams().WithContext(ctx).WithTimeout(c.timeout).WithFolderUID(uid)
	ok, err := c.api.Folders.GetFolderByUIDWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("get folder %q", uid), err)
	}
	return ok.Payload, nil
}

// folderPage is how many folders one GET /api/folders asks for (Grafana's
// default); maxFolderPages bounds the paging (a server that ignores page
// would otherwise repeat the first page forever).
const (
	folderPage     = 1000
	maxFolderPages = 100
)

// RootFolders lists the folders at the top of the tree (GET /api/folders,
// page by page); on Grafana before nested folders, every folder.
func (c *Client) RootFolders(ctx context.Context) ([]*models.FolderSearchHit, error) {
	var out []*models.FolderSearchHit
	limit := int64(folderPage)
	for page := int64(1); ; page++ {
		params := folders.NewGetFoldersParams().WithContext(ctx).WithTimeout(c.timeout).WithLimit(&limit).WithPage(&page)
		ok, err := c.api.Folders.GetFolders(params, readErrors)
		if err != nil {
			return nil, c.fail("list folders", err)
		}
		out = append(out, ok.Payload...)
		if len(ok.Payload) < folderPage {
			return out, nil
		}
		if page == maxFolderPages {
			return nil, fmt.Errorf("grafana: list folders: more than %d pages of %d", maxFolderPages, folderPage)
		}
	}
}

// CreateFolder creates a folder (POST /api/folders), nested under
// parentUID when it is not empty; 409 when the uid is taken.
func (c *Client) CreateFolder(ctx context.Context, uid, title, parentUID string) (*models.Folder, error) {
	if r, err := c.folderAPIs(ctx); err != nil || r != nil {
		if err != nil {
			return nil, err
		}
		return c.createFolderResource(ctx, r, uid, title, parentUID)
	}
	cmd := &models.CreateFolderCommand{UID: uid, Title: title, ParentUID: parentUID}
	params := folders.NewCreateFolderParams().WithContext(ctx).WithTimeout(c.timeout).WithBody(cmd)
	ok, err := c.api.Folders.CreateFolderWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("create folder %q", uid), err)
	}
	return ok.Payload, nil
}

// RenameFolder sets a folder's title (PUT /api/folders/UID). version is the
// one read: a folder changed since answers 412 ErrVersionMismatch.
func (c *Client) RenameFolder(ctx context.Context, uid, title string, version int64) (*models.Folder, error) {
	if r, err := c.folderAPIs(ctx); err != nil || r != nil {
		if err != nil {
			return nil, err
		}
		return c.renameFolderResource(ctx, r, uid, title, version)
	}
	cmd := &models.UpdateFolderCommand{Title: title, Version: version}
	params := folders.NewUpdateFolderParams().WithContext(ctx).WithTimeout(c.timeout).WithFolderUID(uid).WithBody(cmd)
	ok, err := c.api.Folders.UpdateFolderWithParams(params, readErrors)
	if err != nil {
		return nil, c.fail(fmt.Sprintf("rename folder %q", uid), err)
	}
	return ok.Payload, nil
}

// folderAPIs is /apis when Grafana serves folder.grafana.app there; nil
// for the legacy /api.
func (c *Client) folderAPIs(ctx context.Context) (*resources, error) {
	r, err := c.apis(ctx)
	if err != nil || r == nil || r.folders.Resource == "" {
		return nil, err
	}
	return r, nil
}
