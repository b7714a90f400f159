package grafana

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/grafana/grafana-openapi-client-go/models"
	"github.com/pmezard/go-difflib/difflib"
)

// Comparison of what Grafana has with what is wanted, both normalised.
type Comparison struct {
	Equal bool
	// Diff is a unified diff of the normalised JSON (live → desired), empty
	// when Equal; against nothing when Grafana has no such object.
	Diff string
	// Summary says in one line what differs (see summarize).
	Summary string
}

// dashboardServerFields are set or rewritten by Grafana on every save, so
// they never count as a difference: the numeric id, the version counter and
// the iteration timestamp of old versions.
var dashboardServerFields = []string{"id", "version", "iteration"}

// CompareDashboard compares a dashboard body Grafana has (nil when it has
// none) with the body to save. Fields Grafana manages are dropped, and a
// schemaVersion Grafana raised on its own is taken as the one sent.
func CompareDashboard(live, desired map[string]any) Comparison {
	want := normalizeDashboard(desired)
	var have map[string]any
	if live != nil {
		have = normalizeDashboard(live)
		if newer, ok := have["schemaVersion"].(float64); ok {
			if sent, ok := want["schemaVersion"].(float64); ok && newer > sent {
				have["schemaVersion"] = sent
			}
		}
	}
	uid, _ := desired["uid"].(string)
	return compare("dashboards/"+uid+".json", live != nil, have, want)
}

func normalizeDashboard(body map[string]any) map[string]any {
	out, _ := canonical(body).(map[string]any)
	for _, k := range dashboardServerFields {
		delete(out, k)
	}
	return out
}

// CompareDataSource compares only the fields metricscale sets: uid, name,
// type, url, access, isDefault and the jsonData keys it sets (Grafana and
// people may add others). An Exact data source is compared whole: its
// credentials' fields, all of jsonData, and which of its secrets Grafana
// holds (secureJsonFields; their values are never returned).
func CompareDataSource(live *models.DataSource, want DataSource) Comparison {
	want = want.withDefaults()
	var have map[string]any
	if live != nil {
		liveJSON, _ := canonical(live.JSONData).(map[string]any)
		subset := liveJSON
		if !want.Exact {
			subset = map[string]any{}
			for k := range want.JSONData {
				if v, ok := liveJSON[k]; ok {
					subset[k] = v
				}
			}
		}
		have = dataSourceView(live.UID, live.Name, live.Type, live.URL, string(live.Access), live.IsDefault, subset)
		if want.Exact {
			var held []string
			for _, k := range want.SecureJSONData.Keys() {
				if live.SecureJSONFields[k] {
					held = append(held, k)
				}
			}
			exactView(have, live.BasicAuth, live.BasicAuthUser, live.User, live.Database, live.WithCredentials, held)
		}
	}
	wantView := dataSourceView(want.UID, want.Name, want.Type, want.URL, want.Access, want.IsDefault, want.JSONData)
	if want.Exact {
		exactView(wantView, want.BasicAuth, want.BasicAuthUser, want.User, want.Database, want.WithCredentials, want.SecureJSONData.Keys())
	}
	return compare("datasources/"+want.UID+".json", live != nil, have, wantView)
}

func dataSourceView(uid, name, typ, url, access string, isDefault bool, jsonData map[string]any) map[string]any {
	view := map[string]any{"uid": uid, "name": name, "type": typ, "url": url, "access": access, "isDefault": isDefault}
	if len(jsonData) > 0 {
		view["jsonData"] = canonical(jsonData)
	}
	return view
}

// exactView adds the fields only an Exact data source manages; secure
// lists the names of the secrets, never their values.
func exactView(view map[string]any, basicAuth bool, basicAuthUser, user, database string, withCredentials bool, secure []string) {
	view["basicAuth"], view["basicAuthUser"], view["user"] = basicAuth, basicAuthUser, user
	view["database"], view["withCredentials"] = database, withCredentials
	if len(secure) > 0 {
		view["secureJsonFields"] = canonical(secure)
	}
}

// CompareFolder compares a folder's title and parent.
func CompareFolder(live *models.Folder, want Folder) Comparison {
	var have map[string]any
	if live != nil {
		have = map[string]any{"uid": live.UID, "title": live.Title, "parentUid": live.ParentUID}
	}
	wantView := map[string]any{"uid": want.UID, "title": want.Title, "parentUid": want.ParentUID}
	return compare("folders/"+want.UID+".json", live != nil, have, wantView)
}

func compare(name string, exists bool, have, want map[string]any) Comparison {
	if exists && reflect.DeepEqual(have, want) {
		return Comparison{Equal: true}
	}
	from := ""
	if exists {
		from = indentJSON(have)
	}
	diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(from),
		B:        difflib.SplitLines(indentJSON(want)),
		FromFile: "live/" + name,
		ToFile:   "desired/" + name,
		Context:  3,
	})
	return Comparison{Diff: diff, Summary: summarize(exists, have, want)}
}

// canonical turns any JSON-shaped value (json.Number, typed maps) into the
// plain form encoding/json decodes to, so equal JSON compares equal.
func canonical(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unencodable: %v", err)
	}
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

func indentJSON(v any) string {
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out) + "\n"
}
