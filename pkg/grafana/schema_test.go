package grafana

import (
	"strings"
	"testing"
)

func TestParseDashboardSchema(t *testing.T) {
	cases := []struct {
		name, json string
		want       DashboardHead
		err        string
	}{
		{name: "classic", json: `{"uid":"a","title":"A","panels":[],"schemaVersion":41}`, want: DashboardHead{UID: "a", Title: "A"}},
		{name: "classic without panels", json: `{"title":"A"}`, want: DashboardHead{Title: "A"}},
		{name: "bare v2 by elements", json: `{"title":"A","elements":{},"layout":{"kind":"GridLayout","spec":{"items":[]}}}`, want: DashboardHead{Title: "A", Schema: DashboardSchema{V2: true}}},
		{name: "bare v2 by layout alone", json: `{"title":"A","layout":{"kind":"RowsLayout"}}`, want: DashboardHead{Title: "A", Schema: DashboardSchema{V2: true}}},
		{name: "elements that is no object is classic", json: `{"title":"A","elements":[]}`, want: DashboardHead{Title: "A"}},
		{name: "v2 resource", json: `{"apiVersion":"dashboard.grafana.app/v2beta1","kind":"Dashboard","metadata":{"name":"x","annotations":{"grafana.app/folder":"f"}},"spec":{"title":"X","elements":{}}}`,
			want: DashboardHead{UID: "x", Title: "X", Folder: "f", Schema: DashboardSchema{V2: true, APIVersion: "dashboard.grafana.app/v2beta1"}}},
		{name: "v1 resource of a classic dashboard", json: `{"apiVersion":"dashboard.grafana.app/v1","kind":"Dashboard","metadata":{"name":"y"},"spec":{"title":"Y","uid":"other","panels":[]}}`,
			want: DashboardHead{UID: "y", Title: "Y", Schema: DashboardSchema{APIVersion: "dashboard.grafana.app/v1"}}},
		{name: "another group", json: `{"apiVersion":"folder.grafana.app/v1","kind":"Folder","spec":{"title":"F"}}`, err: `apiVersion "folder.grafana.app/v1" is not dashboard.grafana.app/<version>`},
		{name: "unknown version", json: `{"apiVersion":"dashboard.grafana.app/v3","spec":{}}`, err: `not a version of Grafana's dashboards`},
		{name: "another kind", json: `{"apiVersion":"dashboard.grafana.app/v2","kind":"LibraryPanel","spec":{}}`, err: "kind is LibraryPanel"},
		{name: "resource without spec", json: `{"apiVersion":"dashboard.grafana.app/v2","kind":"Dashboard"}`, err: "no spec object"},
		{name: "spec that is no object", json: `{"apiVersion":"dashboard.grafana.app/v2","spec":[]}`, err: "not a JSON object"},
		{name: "garbage", json: `dashboard`, err: "not a JSON object"},
		{name: "array", json: `[{"title":"A"}]`, err: "not a JSON object"},
		{name: "two objects", json: `{"title":"A"} {"title":"B"}`, err: "data after its JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := peekDashboard([]byte(tc.json))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzParseDashboardSchema: any input either fails or gives a schema that
// agrees with the body's own decoding: a resource names a dashboard version,
// and the bytes decodeDashboard refuses are refused here too.
func FuzzParseDashboardSchema(f *testing.F) {
	for _, seed := range []string{`{"title":"A","panels":[]}`, `{"elements":{},"layout":{}}`,
		`{"apiVersion":"dashboard.grafana.app/v2","kind":"Dashboard","metadata":{"name":"x"},"spec":{"title":"x"}}`,
		`{"spec":null}`, `null`, `{"apiVersion":1}`, `{"layout":{"kind":"GridLayout"},"uid":7}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseDashboardSchema(raw)
		if err != nil {
			return
		}
		if _, err := decodeDashboard(raw); err != nil {
			t.Fatalf("schema %v for bytes decodeDashboard refuses: %v", s, err)
		}
		if s.APIVersion != "" {
			_, version, _ := strings.Cut(s.APIVersion, "/")
			if v2, known := dashboardVersion(version); !known || v2 != s.V2 {
				t.Fatalf("schema %+v: its version says v2=%v (known %v)", s, v2, known)
			}
		}
	})
}
