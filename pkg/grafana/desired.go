package grafana

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Desired is what Grafana should have after Converge.
type Desired struct {
	DataSources []DataSource
	// Folders are created parents first, whatever their order here.
	Folders    []Folder
	Dashboards []Dashboard
}

// DataSource is a data source metricscale manages.
type DataSource struct {
	UID  string
	Name string
	// Type is the plugin id; "prometheus" when empty.
	Type string
	URL  string
	// Access is "proxy" (Grafana's server queries it) when empty.
	Access    string
	IsDefault bool
	// JSONData holds the jsonData keys metricscale sets; others Grafana
	// has are kept and not compared (all of it when Exact).
	JSONData map[string]any

	// Exact: the data source is complete, as a provisioning file gives it.
	// The fields below and the whole jsonData are compared and written
	// (what it leaves empty is cleared in Grafana), and no data source
	// Grafana has at the same URL is used in its place. Without it only
	// the fields above are managed and Grafana's other fields are kept.
	Exact           bool
	BasicAuth       bool
	BasicAuthUser   string
	User            string
	Database        string
	WithCredentials bool
	// SecureJSONData are its secrets (passwords, tokens). Grafana stores
	// them encrypted and never returns them, so they are written on
	// create, when a key is missing in Grafana, or when their digest
	// (jsonData[SecureDigestKey], an HMAC keyed by the client's own
	// credentials) differs; a secret changed in Grafana's UI is not seen.
	SecureJSONData Secrets
	// Prunable: deleted once nothing gives it any more, as Grafana deletes a
	// data source provisioned from a file that says prune: true. Marked in
	// jsonData[DataSourcePruneKey], so that the owner knows it after the
	// file is gone.
	Prunable bool
	// UIDDerived: UID was made up by the caller (its file gave none). A
	// data source Grafana has under this name is then this one, under the
	// uid Grafana gave it, as Grafana's own provisioning matches by name.
	UIDDerived bool
}

// Secrets are secureJsonData values; printing them shows only their keys.
type Secrets map[string]string

// Keys are the secrets' names, sorted.
func (s Secrets) Keys() []string { return slices.Sorted(maps.Keys(s)) }

// String hides the values.
func (s Secrets) String() string { return "secrets" + fmt.Sprint(s.Keys()) }

// Format hides the values from every verb.
func (s Secrets) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

func (d DataSource) withDefaults() DataSource {
	if d.Type == "" {
		d.Type = "prometheus"
	}
	if d.Access == "" {
		d.Access = "proxy"
	}
	return d
}

// Folder is a folder metricscale manages.
type Folder struct {
	UID   string
	Title string
	// ParentUID nests the folder (Grafana 11+); empty for the root.
	ParentUID string
}

// Dashboard is a dashboard metricscale manages.
type Dashboard struct {
	// UID identifies it; taken from Body when empty.
	UID string
	// Title replaces the body's title when set.
	Title string
	// FolderUID is its folder; empty keeps the folder Grafana has it in
	// (the root for a new one).
	FolderUID string
	// Body is the dashboard JSON (see RewriteDatasources for exports).
	Body []byte
}

// maxUIDLength is Grafana's limit; longer uids answer 400.
const maxUIDLength = 40

// dashboardToSave is a Dashboard checked, with its uid and title settled.
// Its JSON is decoded only when it is converged (body), so a large set
// holds one decoded dashboard at a time, not all of them.
type dashboardToSave struct {
	Dashboard
	Schema DashboardSchema
}

// body decodes the dashboard (a resource's spec) with the settled uid and
// title, and without Grafana's own id and version (another Grafana's id
// would name another dashboard or none; the version is Grafana's
// counter). A v2 dashboard has no uid of its own: its resource's name is.
func (d dashboardToSave) body() (map[string]any, error) {
	body, err := decodeDashboard(d.Body)
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	if d.Schema.APIVersion != "" {
		if body, _ = body["spec"].(map[string]any); body == nil { // peekDashboard saw an object
			return nil, fmt.Errorf("dashboard %s: the resource has no spec object", d.UID)
		}
	}
	body["title"] = d.Title
	if !d.Schema.V2 {
		body["uid"], body["id"] = d.UID, nil
		delete(body, "version")
	}
	return body, nil
}

// checkDashboard completes the i-th dashboard's uid and title from its JSON
// and reports what is wrong with them through bad; ok is false when its JSON
// does not read.
func checkDashboard(i int, db Dashboard, bad func(string, ...any), checkUID func(string)) (dashboardToSave, bool) {
	head, err := peekDashboard(db.Body)
	if err != nil {
		bad("dashboard %d (%s): %v", i+1, db.UID, err)
		return dashboardToSave{Dashboard: db}, false
	}
	bodyUID, bodyTitle := head.UID, head.Title
	switch {
	case db.UID == "":
		db.UID = bodyUID
	case bodyUID != "" && bodyUID != db.UID:
		bad("dashboard %q: its JSON says uid %q; give one uid", db.UID, bodyUID)
	}
	checkUID(db.UID)
	if db.Title == "" {
		db.Title = bodyTitle
	}
	if strings.TrimSpace(db.Title) == "" {
		bad("dashboard %q has no title", db.UID)
	}
	return dashboardToSave{Dashboard: db, Schema: head.Schema}, true
}

// validate checks everything before the first request, so bad input costs
// no call and writes nothing.
func (d Desired) validate() ([]dashboardToSave, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	checkUID := func(kind, uid string, seen map[string]bool) {
		switch {
		case uid == "":
			bad("a %s has no uid", kind)
		case len(uid) > maxUIDLength:
			bad("%s uid %q is longer than Grafana's %d characters", kind, uid, maxUIDLength)
		case seen[uid]:
			bad("%s uid %q is given twice", kind, uid)
		}
		seen[uid] = true
	}

	seen := map[string]bool{}
	for _, ds := range d.DataSources {
		checkUID("data source", ds.UID, seen)
		if ds.Name == "" {
			bad("data source %q has no name", ds.UID)
		}
		if ds.URL == "" && !ds.Exact { // an exact one is as its file says: some types have no URL
			bad("data source %q has no URL", ds.UID)
		}
	}
	seen = map[string]bool{}
	for _, f := range d.Folders {
		checkUID("folder", f.UID, seen)
		if f.Title == "" {
			bad("folder %q has no title", f.UID)
		}
	}
	seen = map[string]bool{}
	var out []dashboardToSave
	for i, db := range d.Dashboards {
		if db, ok := checkDashboard(i, db, bad, func(uid string) { checkUID("dashboard", uid, seen) }); ok {
			out = append(out, db)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("nothing was sent to Grafana; fix the desired objects:\n  %s", strings.Join(problems, "\n  "))
	}
	return out, nil
}

// parentsFirst orders folders so that a parent in the set comes before its children.
func parentsFirst(folders []Folder) []Folder {
	byUID := map[string]Folder{}
	for _, f := range folders {
		byUID[f.UID] = f
	}
	var out []Folder
	placed := map[string]bool{}
	var place func(f Folder, depth int)
	place = func(f Folder, depth int) {
		if placed[f.UID] || depth > len(folders) { // depth: a cycle ends here
			return
		}
		if parent, ok := byUID[f.ParentUID]; ok {
			place(parent, depth+1)
		}
		if !placed[f.UID] {
			placed[f.UID] = true
			out = append(out, f)
		}
	}
	for _, f := range folders {
		place(f, 0)
	}
	return out
}
