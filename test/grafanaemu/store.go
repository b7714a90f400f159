package grafanaemu

import (
	"crypto/rand"
	"regexp"
	"strings"
	"time"
)

// store is Grafana's database for one organisation. Folders and dashboards
// share one id sequence, as they share a table in Grafana.
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

type folder struct {
	id                   int64
	uid, title           string
	parentUID            string
	version              int64
	created, updated     time.Time
	createdBy, updatedBy string
}

type dashboard struct {
	id                   int64
	uid                  string
	version              int64
	folderID             int64 // 0: General
	provisioned          bool
	data                 map[string]any // as saved, with id, uid and version set as Grafana sets them
	created, updated     time.Time
	createdBy, updatedBy string
}

func (d *dashboard) title() string { return str(d.data["title"]) }

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
