package grafana

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/grafana/grafana-openapi-client-go/models"
)

// Kind of a Grafana object.
type Kind string

const (
	KindDataSource Kind = "datasource"
	KindFolder     Kind = "folder"
	KindDashboard  Kind = "dashboard"
)

// Verb is what Converge did (or, in a dry run, would do) to an object.
type Verb string

const (
	Created   Verb = "created"
	Updated   Verb = "updated"
	Unchanged Verb = "unchanged"
	// Skipped: not written on purpose; Reason says why (managed by
	// provisioning files, or an existing object used instead).
	Skipped Verb = "skipped"
	// Failed: Grafana refused this object; Reason has its message.
	Failed Verb = "failed"
	// Foreign: not written because Grafana has another object under this
	// uid that the run does not own (Options.OwnerTag); Reason names it.
	Foreign Verb = "foreign"
)

// Action is the outcome for one desired object.
type Action struct {
	Object string `json:"object"` // title or name
	// UID is the object's uid in Grafana: for a data source Grafana already
	// had under another uid, that uid (dashboards are pointed at it).
	UID    string `json:"uid"`
	Kind   Kind   `json:"kind"`
	Action Verb   `json:"action"`
	Folder string `json:"folder,omitempty"` // the folder a dashboard or nested folder is in
	URL    string `json:"url,omitempty"`    // link in Grafana, when known
	Reason string `json:"reason,omitempty"`
	Diff   string `json:"diff,omitempty"` // in a dry run: unified diff of the normalised JSON, live → desired
	// Summary says in one line what the diff changes (dry run only): a
	// dashboard's panels added, changed and removed, the other fields.
	Summary string `json:"summary,omitempty"`
}

// Options of a Converge run.
type Options struct {
	// DryRun reads and compares but writes nothing; the actions are those
	// a real run would take.
	DryRun bool
	// Message is the dashboards' version-history note.
	Message string
	// OwnerTag, when set, is added to the tags of every dashboard written
	// and set as jsonData[DataSourceOwnerKey] of every data source written
	// (data sources have no tags), and a dashboard or data source Grafana
	// has under the same uid without it is left alone (Foreign): a writer
	// that deletes what it owns must never take over what someone else made.
	OwnerTag string
	// Adopt takes over a dashboard or data source Grafana has under a
	// wanted uid without the owner's mark (made by the sidecar this one
	// replaces, or by hand) instead of leaving it Foreign: it is written with
	// the mark, and its Action's Reason says it was adopted. One Grafana
	// manages from provisioning files is still Skipped.
	Adopt bool
}

// adoptedReason is the Reason of an Action that took over an unmarked object.
const adoptedReason = "adopted: Grafana had it under this uid without the owner's mark (--adopt)"

// jsonData keys metricscale sets on the data sources it writes.
const (
	// DataSourceOwnerKey holds Options.OwnerTag.
	DataSourceOwnerKey = "metricscaleOwner"
	// DataSourcePruneKey is true on a data source written Prunable.
	DataSourcePruneKey = "metricscalePrune"
	// SecureDigestKey holds the digest of the secrets last written
	// (DataSource.SecureJSONData).
	SecureDigestKey = "metricscaleSecureDigest"
)

// Converge makes Grafana hold the desired objects: data sources, then
// folders, then dashboards. Each is read by uid, compared, and written only
// when it differs, so a second run writes nothing. Objects Grafana manages
// from provisioning files are skipped, never forced. A Prometheus data
// source Grafana already has at the same URL under another uid is used
// instead of a duplicate, and the desired dashboards are pointed at it.
//
// The error is non-nil when nothing more can be done: the credentials are
// refused (ErrUnauthorized, ErrForbidden), Grafana is unreachable, ctx ended,
// or the desired objects are invalid (then nothing is sent). The actions
// taken until then are returned with it. A refusal of one object is a
// Failed action, and the run goes on.
func Converge(ctx context.Context, c *Client, want Desired, opts Options) ([]Action, error) {
	dashboards, err := want.validate()
	if err != nil {
		return nil, err
	}
	if opts.Message == "" {
		opts.Message = "metricscale"
	}
	cv := &converger{
		c: c, opts: opts,
		folderIDs:    map[string]int64{},
		folderTitles: map[string]string{},
		substitutes:  map[string]string{},
	}
	for _, f := range want.Folders {
		cv.folderTitles[f.UID] = f.Title
	}
	var actions []Action
	run := func(a Action, err error) error {
		actions = append(actions, a)
		return err
	}
	for _, ds := range want.DataSources {
		if err := run(cv.dataSource(ctx, cv.marked(ds.withDefaults()))); err != nil {
			return actions, err
		}
	}
	for _, f := range parentsFirst(want.Folders) {
		if err := run(cv.folder(ctx, f)); err != nil {
			return actions, err
		}
	}
	for _, d := range dashboards {
		if err := run(cv.dashboard(ctx, d)); err != nil {
			return actions, err
		}
	}
	return actions, nil
}

// describe puts on an Action what it carries of a comparison: its diff and
// summary in a dry run only (a real run's are in Grafana; a large set would
// hold every one).
func (cv *converger) describe(a *Action, c Comparison) {
	if cv.opts.DryRun {
		a.Diff, a.Summary = c.Diff, c.Summary
	}
}

type converger struct {
	c    *Client
	opts Options
	// folderIDs: numeric ids of folders read or created (Grafana 7.5 saves by id).
	folderIDs    map[string]int64
	folderTitles map[string]string
	// substitutes: desired data source uid → the uid Grafana already has.
	substitutes map[string]string
	listed      []*models.DataSourceListItemDTO
	hasListed   bool
}

// outcome ends an action on err: a Failed action, and the error itself when
// no further call can succeed.
func outcome(a Action, err error) (Action, error) {
	a.Action, a.Reason = Failed, err.Error()
	if stopsEverything(err) {
		return a, err
	}
	return a, nil
}

// marked is want with the jsonData markers: the owner tag, and the digest
// of its secrets (which changes when one of them does, so comparing
// jsonData tells when to write them again).
func (cv *converger) marked(want DataSource) DataSource {
	if cv.opts.OwnerTag == "" && len(want.SecureJSONData) == 0 && !want.Prunable {
		return want
	}
	jsonData := maps.Clone(want.JSONData)
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	if cv.opts.OwnerTag != "" {
		jsonData[DataSourceOwnerKey] = cv.opts.OwnerTag
	}
	if want.Prunable {
		jsonData[DataSourcePruneKey] = true
	}
	if len(want.SecureJSONData) > 0 {
		jsonData[SecureDigestKey] = cv.c.secretsDigest(want.UID, want.SecureJSONData)
	}
	want.JSONData = jsonData
	return want
}

func (cv *converger) dataSource(ctx context.Context, want DataSource) (Action, error) {
	a := Action{Object: want.Name, UID: want.UID, Kind: KindDataSource}
	live, err := cv.c.DataSource(ctx, want.UID)
	if errors.Is(err, ErrNotFound) {
		return cv.addDataSource(ctx, want, a)
	}
	if err != nil {
		return outcome(a, err)
	}
	owner, _ := jsonDataOf(live)[DataSourceOwnerKey].(string)
	// Another owner's data source is never adopted; an unmarked one may be.
	adopted := cv.opts.OwnerTag != "" && owner == "" && cv.opts.Adopt
	if cv.opts.OwnerTag != "" && owner != cv.opts.OwnerTag && !adopted {
		a.Action = Foreign
		a.Reason = fmt.Sprintf("Grafana already has data source %q (%s) under this uid without jsonData.%s %q (not written by this owner): left alone; give one of them another uid, or run with --adopt to take over one without any owner", live.Name, live.Type, DataSourceOwnerKey, cv.opts.OwnerTag)
		return a, nil
	}
	reason := ""
	if adopted {
		reason = adoptedReason
	}
	return cv.updateLiveDataSource(ctx, want, live, a, reason)
}

// updateLiveDataSource brings the data source Grafana has (live) to want;
// reason, when set, says why it was taken over.
func (cv *converger) updateLiveDataSource(ctx context.Context, want DataSource, live *models.DataSource, a Action, reason string) (Action, error) {
	cmp := CompareDataSource(live, want)
	cv.describe(&a, cmp)
	switch {
	case live.ReadOnly:
		a.Action, a.Reason = Skipped, "provisioned from files (read-only in Grafana): change its provisioning file instead"
		return a, nil
	case cmp.Equal:
		a.Action = Unchanged
		return a, nil
	}
	a.Action, a.Reason = Updated, reason
	if cv.opts.DryRun {
		return a, nil
	}
	_, err := cv.c.UpdateDataSource(ctx, live, updateDataSource(live, want))
	if errors.Is(err, ErrReadOnly) {
		a.Action, a.Reason = Skipped, "provisioned from files (Grafana answered: "+messageOf(err)+"): change its provisioning file instead"
		return a, nil
	}
	if err != nil {
		return outcome(a, err)
	}
	return a, nil
}

// sameName answers for a wanted data source whose name Grafana has under
// another uid. When the wanted uid was derived (its file gave none), the
// one of that name is it, as Grafana's own provisioning matches by name:
// converged in place under the uid Grafana gave it, when this owner wrote
// it, or taken over with --adopt when nobody's mark is on it (what the
// file-writing sidecar this one replaces left).
func (cv *converger) sameName(ctx context.Context, want DataSource, other *models.DataSourceListItemDTO, a Action) (Action, error) {
	// The full data source: not every version lists readOnly.
	live, err := cv.c.DataSource(ctx, other.UID)
	if err != nil {
		return outcome(a, err)
	}
	owner, _ := jsonDataOf(live)[DataSourceOwnerKey].(string)
	mine := cv.opts.OwnerTag != "" && owner == cv.opts.OwnerTag
	adopt := cv.opts.OwnerTag != "" && owner == "" && cv.opts.Adopt
	switch {
	case live.ReadOnly:
		a.Action = Skipped
		a.Reason = fmt.Sprintf("Grafana has data source %q (uid %s) from its provisioning files (read-only through the API): remove it from those files, or delete it once as the README says, and it is created here", live.Name, live.UID)
		return a, nil
	case !want.UIDDerived || !(mine || adopt):
		a.Action = Failed
		a.Reason = fmt.Sprintf("Grafana has another data source named %q (uid %s, %s): give this one another name", live.Name, live.UID, live.URL)
		switch {
		case want.UIDDerived && owner == "":
			a.Reason += ", or run with --adopt to take it over"
		case owner == "" || mine:
			a.Reason += fmt.Sprintf(", or set its uid to %s", live.UID)
		}
		return a, nil
	}
	cv.substitutes[want.UID] = live.UID
	want.UID, a.UID = live.UID, live.UID
	reason := ""
	if adopt {
		reason = fmt.Sprintf("adopted by name: Grafana had it under uid %s without the owner's mark (--adopt); it keeps that uid", live.UID)
	}
	return cv.updateLiveDataSource(ctx, want, live, a, reason)
}

func jsonDataOf(live *models.DataSource) map[string]any {
	m, _ := live.JSONData.(map[string]any)
	return m
}

func (cv *converger) addDataSource(ctx context.Context, want DataSource, a Action) (Action, error) {
	if !cv.hasListed {
		list, err := cv.c.DataSources(ctx)
		if err != nil {
			return outcome(a, err)
		}
		cv.listed, cv.hasListed = list, true
	}
	for _, other := range cv.listed {
		if !want.Exact && want.Type == "prometheus" && other.Type == "prometheus" && sameURL(other.URL, want.URL) {
			cv.substitutes[want.UID] = other.UID
			a.UID, a.Action = other.UID, Skipped
			a.Reason = fmt.Sprintf("Grafana already has Prometheus data source %q (uid %s) at %s: using it instead of adding a duplicate", other.Name, other.UID, other.URL)
			return a, nil
		}
	}
	for _, other := range cv.listed {
		if other.Name == want.Name {
			return cv.sameName(ctx, want, other, a)
		}
	}
	if cv.opts.DryRun { // a creation compares with nothing: only a dry run shows it
		cv.describe(&a, CompareDataSource(nil, want))
	}
	if !cv.opts.DryRun {
		_, err := cv.c.CreateDataSource(ctx, &models.AddDataSourceCommand{
			UID: want.UID, Name: want.Name, Type: want.Type, URL: want.URL,
			Access: models.DsAccess(want.Access), IsDefault: want.IsDefault, JSONData: want.JSONData,
			BasicAuth: want.BasicAuth, BasicAuthUser: want.BasicAuthUser, User: want.User, Database: want.Database,
			WithCredentials: want.WithCredentials, SecureJSONData: want.SecureJSONData,
		})
		if err != nil {
			return outcome(a, err)
		}
	}
	a.Action = Created
	return a, nil
}

// updateDataSource is the PUT body, which replaces every field (a field
// it leaves empty is cleared). An Exact data source is written as wanted,
// its secrets with it; otherwise what Grafana has is the start and the
// fields metricscale manages are set.
func updateDataSource(live *models.DataSource, want DataSource) *models.UpdateDataSourceCommand {
	cmd := &models.UpdateDataSourceCommand{
		UID: want.UID, Name: want.Name, Type: want.Type, URL: want.URL,
		Access: models.DsAccess(want.Access), IsDefault: want.IsDefault,
		Version: live.Version, // Grafana answers 409 if it changed since
	}
	if want.Exact {
		cmd.JSONData, cmd.SecureJSONData = want.JSONData, want.SecureJSONData
		cmd.BasicAuth, cmd.BasicAuthUser, cmd.User = want.BasicAuth, want.BasicAuthUser, want.User
		cmd.Database, cmd.WithCredentials = want.Database, want.WithCredentials
		return cmd
	}
	jsonData := maps.Clone(jsonDataOf(live))
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	maps.Copy(jsonData, want.JSONData)
	cmd.JSONData = jsonData
	cmd.BasicAuth, cmd.BasicAuthUser, cmd.Database = live.BasicAuth, live.BasicAuthUser, live.Database
	cmd.User, cmd.WithCredentials = live.User, live.WithCredentials
	return cmd
}

func sameURL(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

func (cv *converger) folder(ctx context.Context, want Folder) (Action, error) {
	a := Action{Object: want.Title, UID: want.UID, Kind: KindFolder, Folder: cv.folderName(want.ParentUID)}
	live, err := cv.c.Folder(ctx, want.UID)
	if errors.Is(err, ErrNotFound) {
		a.Action = Created
		if cv.opts.DryRun { // a creation compares with nothing: only a dry run shows it
			cv.describe(&a, CompareFolder(nil, want))
		}
		if cv.opts.DryRun {
			return a, nil
		}
		created, err := cv.c.CreateFolder(ctx, want.UID, want.Title, want.ParentUID)
		if err != nil {
			return outcome(a, err)
		}
		cv.folderIDs[want.UID], a.URL = created.ID, cv.c.Link(created.URL)
		return a, nil
	}
	if err != nil {
		return outcome(a, err)
	}
	cv.folderIDs[want.UID], a.URL = live.ID, cv.c.Link(live.URL)
	cmp := CompareFolder(live, want)
	if cmp.Equal {
		a.Action = Unchanged
		return a, nil
	}
	cv.describe(&a, cmp)
	if live.ParentUID != want.ParentUID {
		// Moving a folder moves everything in it and its permissions: a
		// person decides that, not a provisioning run.
		a.Reason = fmt.Sprintf("not moved: Grafana has it under %q; move it by hand if it should be under %q", live.ParentUID, want.ParentUID)
	}
	switch {
	case live.Title == want.Title:
		a.Action = Skipped
		return a, nil
	case cv.opts.DryRun:
		a.Action = Updated
		return a, nil
	}
	if _, err := cv.c.RenameFolder(ctx, want.UID, want.Title, live.Version); err != nil {
		return outcome(a, err)
	}
	a.Action = Updated
	return a, nil
}

func (cv *converger) folderName(uid string) string {
	if title, ok := cv.folderTitles[uid]; ok {
		return title
	}
	return uid
}

// folderID is the numeric id of a folder, read once when no step read it yet.
func (cv *converger) folderID(ctx context.Context, uid string) (int64, error) {
	if uid == "" {
		return 0, nil
	}
	if id, ok := cv.folderIDs[uid]; ok {
		return id, nil
	}
	f, err := cv.c.Folder(ctx, uid)
	if err != nil {
		return 0, err
	}
	cv.folderIDs[uid] = f.ID
	return f.ID, nil
}

func (cv *converger) dashboard(ctx context.Context, want dashboardToSave) (Action, error) {
	a := Action{Object: want.Title, UID: want.UID, Kind: KindDashboard, Folder: cv.folderName(want.FolderUID)}
	body, err := want.body()
	if err != nil { // validate read the same bytes: not reached
		return outcome(a, err)
	}
	if cv.opts.OwnerTag != "" {
		addTag(body, cv.opts.OwnerTag)
	}
	for from, to := range cv.substitutes {
		retargetDatasource(body, from, to)
	}
	save := DashboardSave{Body: body, FolderUID: want.FolderUID, Message: cv.opts.Message, UID: want.UID, Schema: want.Schema}

	live, err := cv.c.dashboard(ctx, want.UID, want.Schema)
	switch {
	case errors.Is(err, ErrNotFound):
		a.Action = Created
		if cv.opts.DryRun { // a creation compares with nothing: only a dry run shows it
			cv.describe(&a, CompareDashboard(nil, body))
		}
	case err != nil:
		return outcome(a, err)
	default:
		if done, err := cv.againstLive(ctx, &a, &save, live, want.FolderUID); done || err != nil {
			return a, err
		}
	}
	if cv.opts.DryRun {
		return a, nil
	}
	if save.FolderID == 0 {
		if save.FolderID, err = cv.folderID(ctx, save.FolderUID); err != nil {
			return outcome(a, err)
		}
	}
	saved, err := cv.c.SaveDashboard(ctx, save)
	if errors.Is(err, ErrProvisioned) {
		a.Action, a.Reason = Skipped, "provisioned from files (Grafana answered: "+messageOf(err)+"): change its provisioning file instead"
		return a, nil
	}
	if err != nil {
		return outcome(a, err)
	}
	a.URL = cv.c.Link(saved.URL)
	return a, nil
}

// againstLive sets a and save for a dashboard Grafana has: done (a says
// why) when it is foreign, provisioned from files or unchanged; otherwise
// an overwrite, adopted or not.
func (cv *converger) againstLive(ctx context.Context, a *Action, save *DashboardSave, live *StoredDashboard, folderUID string) (done bool, err error) {
	a.URL = cv.c.Link(live.Meta.URL)
	adopted := cv.opts.OwnerTag != "" && !hasTag(live.Body, cv.opts.OwnerTag)
	if adopted && !cv.opts.Adopt {
		title, _ := live.Body["title"].(string)
		a.Action = Foreign
		a.Reason = fmt.Sprintf("Grafana already has dashboard %q under this uid without the %q tag (not written by this owner): left alone; give one of them another uid, or run with --adopt to take it over", title, cv.opts.OwnerTag)
		return true, nil
	}
	inFolder, err := cv.inFolder(ctx, live.Meta, folderUID)
	if err != nil {
		*a, err = outcome(*a, err)
		return true, err
	}
	if folderUID == "" { // keep the folder Grafana has it in
		save.FolderUID, save.FolderID = live.Meta.FolderUID, live.Meta.FolderID
		a.Folder = live.Meta.FolderTitle
	}
	cmp := CompareDashboard(live.Body, save.Body)
	cv.describe(a, cmp)
	if !inFolder {
		a.Reason = fmt.Sprintf("moved from folder %q", live.Meta.FolderTitle)
	}
	switch {
	case live.Meta.Provisioned:
		a.Action, a.Reason = Skipped, "provisioned from files: change its provisioning file instead"
		return true, nil
	case cmp.Equal && inFolder:
		a.Action = Unchanged
		return true, nil
	}
	// Replace what Grafana has, whatever its version: the content was
	// just compared, so this runs only when it differs. Through /apis, only
	// the resourceVersion compared (409 otherwise).
	a.Action, save.Overwrite, save.ResourceVersion = Updated, true, live.ResourceVersion
	if adopted {
		a.Reason = adoptedReason
	}
	return false, nil
}

// inFolder reports whether a stored dashboard is in the folder wanted
// (always, when none is wanted). Grafana 7.5's meta has only the folder id.
func (cv *converger) inFolder(ctx context.Context, meta models.DashboardMeta, folderUID string) (bool, error) {
	switch {
	case folderUID == "" || meta.FolderUID == folderUID:
		return true, nil
	case meta.FolderUID != "" || meta.FolderID == 0:
		return false, nil
	}
	id, err := cv.folderID(ctx, folderUID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return id == meta.FolderID, err
}

func messageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// hasTag reports whether a dashboard body's tags include tag.
func hasTag(body map[string]any, tag string) bool {
	tags, _ := body["tags"].([]any)
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// addTag appends tag to a dashboard body's tags unless it is there.
func addTag(body map[string]any, tag string) {
	if hasTag(body, tag) {
		return
	}
	tags, _ := body["tags"].([]any)
	body["tags"] = append(tags, tag)
}
