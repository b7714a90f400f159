package grafana

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode"

	"github.com/grafana/grafana-openapi-client-go/models"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Annotations and label Grafana sets on its /apis objects.
const (
	managedByAnnotation = "grafana.app/managedBy"
	messageAnnotation   = "grafana.app/message"
	internalIDLabel     = "grafana.app/deprecatedInternalID"
)

// managedByFiles are the managers whose objects Grafana refuses to change
// through its API: file provisioning, and Git Sync's repositories.
var managedByFiles = map[string]bool{"classic-file-provisioning": true, "repo": true}

// dashboardResource reads a dashboard through /apis in the schema it is
// stored in: first through expect's (one read when it is right); one
// stored in the other schema says so in status.conversion and is read
// again through its own.
func (c *Client) dashboardResource(ctx context.Context, r *resources, uid string, expect DashboardSchema) (*StoredDashboard, error) {
	op := fmt.Sprintf("get dashboard %q", uid)
	first := r.classic
	if expect.V2 && r.v2.Resource != "" {
		first = r.v2
	}
	obj, err := r.client(first).Get(ctx, uid, metav1.GetOptions{})
	if err != nil {
		return nil, c.failAPIs(op, err)
	}
	stored, _, _ := unstructured.NestedString(obj.Object, "status", "conversion", "storedVersion")
	storedV2, known := dashboardVersion(stored)
	if readV2, _ := dashboardVersion(first.Version); known && storedV2 != readV2 {
		gvr, err := r.dashboardsFor(DashboardSchema{V2: storedV2, APIVersion: DashboardGroup + "/" + stored})
		if err != nil {
			return nil, fmt.Errorf("grafana: %s: it is stored as %s/%s: %w", op, DashboardGroup, stored, err)
		}
		if obj, err = r.client(gvr).Get(ctx, uid, metav1.GetOptions{}); err != nil {
			return nil, c.failAPIs(op, err)
		}
	}
	return storedDashboard(obj), nil
}

// storedDashboard is an /apis dashboard as the legacy API would show it.
func storedDashboard(obj *unstructured.Unstructured) *StoredDashboard {
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	gv, _ := schema.ParseGroupVersion(obj.GetAPIVersion())
	v2, _ := dashboardVersion(gv.Version)
	if spec != nil && !v2 { // as the legacy API shows it: the name is the uid
		spec["uid"] = obj.GetName()
	}
	annotations := obj.GetAnnotations()
	title, _ := spec["title"].(string)
	return &StoredDashboard{
		Body: spec,
		Meta: models.DashboardMeta{
			FolderUID: annotations[FolderAnnotation], FolderTitle: annotations[FolderAnnotation],
			Provisioned: managedByFiles[annotations[managedByAnnotation]],
			URL:         dashboardURL(obj.GetName(), title),
			Version:     obj.GetGeneration(),
		},
		Schema:          DashboardSchema{V2: v2, APIVersion: obj.GetAPIVersion()},
		ResourceVersion: obj.GetResourceVersion(),
	}
}

func dashboardURL(uid, title string) string { return "/d/" + uid + "/" + slug(title) }

// saveDashboardResource creates a dashboard through /apis, or replaces it
// (Overwrite; at ResourceVersion when set, else whatever Grafana has).
func (c *Client) saveDashboardResource(ctx context.Context, r *resources, s DashboardSave) (SavedDashboard, error) {
	uid := s.uid()
	op := fmt.Sprintf("save dashboard %q", uid)
	gvr, err := r.dashboardsFor(s.Schema)
	if err != nil {
		return SavedDashboard{}, fmt.Errorf("grafana: %s: %w", op, err)
	}
	// The resource's name is the uid, and the legacy id and version are
	// Grafana's own: a spec carries none of them.
	spec := maps.Clone(s.Body)
	delete(spec, "id")
	delete(spec, "version")
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	obj.SetAPIVersion(gvr.GroupVersion().String())
	obj.SetKind("Dashboard")
	obj.SetName(uid)
	// No folder annotation: the root (General).
	annotations := map[string]string{}
	if s.FolderUID != "" {
		annotations[FolderAnnotation] = s.FolderUID
	}
	if s.Message != "" {
		annotations[messageAnnotation] = s.Message
	}
	obj.SetAnnotations(annotations)
	obj.SetResourceVersion(s.ResourceVersion)
	var saved metav1.ObjectMeta
	if s.Overwrite {
		saved, err = r.write(ctx, false, gvr, obj)
	}
	if !s.Overwrite || apierrors.IsNotFound(err) {
		obj.SetResourceVersion("")
		saved, err = r.write(ctx, true, gvr, obj)
	}
	if err != nil {
		return SavedDashboard{}, c.failAPIs(op, err)
	}
	id, _ := strconv.ParseInt(saved.Labels[internalIDLabel], 10, 64)
	return SavedDashboard{ID: id, UID: uid, URL: dashboardURL(uid, titleOf(s.Body)), Version: saved.Generation}, nil
}

// slug is Grafana's slug of a title, for links: lower case, every run of
// other characters than letters and digits one dash.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

func titleOf(body map[string]any) string {
	t, _ := body["title"].(string)
	return t
}

// folderResource reads a folder through /apis as the legacy API shows it.
func (c *Client) folderResource(ctx context.Context, r *resources, uid string) (*models.Folder, error) {
	obj, err := r.client(r.folders).Get(ctx, uid, metav1.GetOptions{})
	if err != nil {
		return nil, c.failAPIs(fmt.Sprintf("get folder %q", uid), err)
	}
	return folderOf(obj), nil
}

func folderOf(obj *unstructured.Unstructured) *models.Folder {
	title, _, _ := unstructured.NestedString(obj.Object, "spec", "title")
	id, _ := strconv.ParseInt(obj.GetLabels()[internalIDLabel], 10, 64)
	// The resourceVersion stands in for the legacy version: RenameFolder gives it back.
	version, _ := strconv.ParseInt(obj.GetResourceVersion(), 10, 64)
	return &models.Folder{ID: id, UID: obj.GetName(), Title: title, ParentUID: obj.GetAnnotations()[FolderAnnotation],
		Version: version, URL: "/dashboards/f/" + obj.GetName() + "/" + slug(title)}
}

// deleteDashboardResource deletes a dashboard through /apis.
func (c *Client) deleteDashboardResource(ctx context.Context, r *resources, uid string) error {
	if err := r.client(r.classic).Delete(ctx, uid, metav1.DeleteOptions{}); err != nil {
		return c.failAPIs(fmt.Sprintf("delete dashboard %q", uid), err)
	}
	return nil
}

// createFolderResource creates a folder through /apis.
func (c *Client) createFolderResource(ctx context.Context, r *resources, uid, title, parentUID string) (*models.Folder, error) {
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"title": title}}}
	obj.SetAPIVersion(r.folders.GroupVersion().String())
	obj.SetKind("Folder")
	obj.SetName(uid)
	if parentUID != "" {
		obj.SetAnnotations(map[string]string{FolderAnnotation: parentUID})
	}
	created, err := r.client(r.folders).Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return nil, c.failAPIs(fmt.Sprintf("create folder %q", uid), err)
	}
	return folderOf(created), nil
}

// renameFolderResource sets a folder's title through /apis, at the
// resourceVersion read (version; 0: whatever Grafana has).
func (c *Client) renameFolderResource(ctx context.Context, r *resources, uid, title string, version int64) (*models.Folder, error) {
	op := fmt.Sprintf("rename folder %q", uid)
	obj, err := r.client(r.folders).Get(ctx, uid, metav1.GetOptions{})
	if err != nil {
		return nil, c.failAPIs(op, err)
	}
	if err := unstructured.SetNestedField(obj.Object, title, "spec", "title"); err != nil {
		return nil, err
	}
	if version != 0 {
		obj.SetResourceVersion(strconv.FormatInt(version, 10))
	}
	updated, err := r.client(r.folders).Update(ctx, obj, metav1.UpdateOptions{})
	if err != nil {
		return nil, c.failAPIs(op, err)
	}
	return folderOf(updated), nil
}
