package grafanaemu

import (
	"crypto/rand"
	"maps"
	"regexp"
	"strings"
	"time"
)

// store is Grafana's database for one organisation. Folders and dashboards
// share one id sequence, as they share a table in Grafana. The legacy /api
// and /apis read and write the same objects.
type store struct {
	dataSources     []*dataSource
	folders         []*folder
	dashboards      []*dashboard
	tokens          map[string]Role // created through the API
	serviceAccounts map[int64]Role
	lastDSID        int64
	lastDashID      int64 // folders and dashboards
	lastSAID        int64
	lastKeyID       int64
	// lastRV is the last resourceVersion given: one counter for the whole
	// store, as unified storage keeps one, so that a list has one too.
	lastRV int64
}

func newStore() store { return store{tokens: map[string]Role{}, serviceAccounts: map[int64]Role{}} }

type dataSource struct {
	id       int64
	uid      string
	version  int64
	readOnly bool              // provisioned
	fields   map[string]any    // as saved, secrets removed
	secure   map[string]string // secureJsonData saved (Grafana encrypts them and never returns them)
}

func (d *dataSource) name() string { return str(d.fields["name"]) }

// objectMeta is what /apis shows of an object beyond the legacy fields.
type objectMeta struct {
	k8sUID      string // metadata.uid: random, stable, not the Grafana uid
	rv          int64  // metadata.resourceVersion: changes with any change
	labels      map[string]string
	annotations map[string]string // as sent, less those the emulator sets itself
	createdByID string            // session.identity of the creator
	updatedByID string            // of the last updater through an update; "" until then
}

func newObjectMeta(st *store, by *session) objectMeta {
	return objectMeta{k8sUID: newUID(44), rv: st.nextRV(), createdByID: by.identity()}
}

type folder struct {
	objectMeta
	id                   int64
	uid, title           string
	description          string // spec.description through /apis
	parentUID            string
	version              int64 // also metadata.generation
	created, updated     time.Time
	createdBy, updatedBy string
}

type dashboard struct {
	objectMeta
	id          int64
	uid         string
	version     int64 // also metadata.generation
	folderID    int64 // 0: General
	provisioned bool
	// apiVersion is the dashboard.grafana.app version it was stored in
	// (v1beta1, v2, ...); its family (schemaFamily) says how data reads.
	apiVersion string
	// data is a classic dashboard as saved, with id, uid and version set
	// as Grafana sets them; or, for the v2 family, the v2 spec as sent
	// (its title and tags are at the same keys, so search finds it).
	data                 map[string]any
	created, updated     time.Time
	createdBy, updatedBy string
}

// Schema families of dashboard.grafana.app: v0alpha1 and v1* carry the
// classic dashboard JSON, v2* the v2 schema (elements and layout).
const (
	familyClassic = "classic"
	familyV2      = "v2"
)

func schemaFamily(version string) string {
	if strings.HasPrefix(version, "v2") {
		return familyV2
	}
	return familyClassic
}

func (d *dashboard) title() string { return str(d.data["title"]) }

// spec is the dashboard as /apis returns it in its own family: Grafana
// drops the id, uid and version the legacy JSON carries (they are in the
// metadata).
func (d *dashboard) spec() map[string]any {
	out := maps.Clone(d.data)
	if schemaFamily(d.apiVersion) == familyClassic {
		delete(out, "id")
		delete(out, "uid")
		delete(out, "version")
	}
	return out
}

func (d *dashboard) tags() []string {
	var out []string
	if l, ok := d.data["tags"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func (st *store) dataSourceByUID(uid string) *dataSource {
	for _, d := range st.dataSources {
		if d.uid == uid {
			return d
		}
	}
	return nil
}

func (st *store) dataSourceByName(name string) *dataSource {
	for _, d := range st.dataSources {
		if d.name() == name {
			return d
		}
	}
	return nil
}

func (st *store) folderByUID(uid string) *folder {
	for _, f := range st.folders {
		if f.uid == uid {
			return f
		}
	}
	return nil
}

func (st *store) folderByID(id int64) *folder {
	for _, f := range st.folders {
		if f.id == id {
			return f
		}
	}
	return nil
}

func (st *store) dashboardByUID(uid string) *dashboard {
	for _, d := range st.dashboards {
		if d.uid == uid {
			return d
		}
	}
	return nil
}

func (st *store) dashboardByID(id int64) *dashboard {
	for _, d := range st.dashboards {
		if d.id == id {
			return d
		}
	}
	return nil
}

func (st *store) nextDashID() int64 { st.lastDashID++; return st.lastDashID }

func (st *store) nextRV() int64 { st.lastRV++; return st.lastRV }

func str(v any) string {
	s, _ := v.(string)
	return s
}

const uidAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newUID makes a uid as Grafana does when none is given: short, random.
func newUID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = uidAlphabet[int(b[i])%len(uidAlphabet)]
	}
	return string(b)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugify is Grafana's slug of a title: lower case, runs of anything else
// than letters and digits become one dash.
func slugify(title string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
}
