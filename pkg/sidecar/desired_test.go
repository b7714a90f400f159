package sidecar

import (
	"bytes"
	"compress/gzip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

var folderAnnotations = []string{"grafana_folder", "k8s-sidecar-target-directory"}

func configMap(ns, name string, annotations map[string]string, data map[string]string) Source {
	s := Source{Kind: "ConfigMap", Namespace: ns, Name: name, Annotations: annotations, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// summary is what a test compares: uid → folder title, and the problems' keys and first words.
type summary struct {
	Dashboards map[string]string
	Folders    map[string]string // uid → title
	Problems   []string
	Notes      int
	Keep       []string
}

func summarise(p Plan) summary {
	s := summary{Dashboards: map[string]string{}, Folders: map[string]string{}}
	for _, f := range p.Desired.Folders {
		s.Folders[f.UID] = f.Title
	}
	for _, d := range p.Desired.Dashboards {
		s.Dashboards[d.UID] = s.Folders[d.FolderUID]
	}
	for _, pr := range p.Problems {
		s.Problems = append(s.Problems, pr.Key.String()+": "+pr.Message)
	}
	for uid := range p.Keep {
		s.Keep = append(s.Keep, uid)
	}
	s.Notes = len(p.Notes)
	return s
}

func TestBuildPlan(t *testing.T) {
	derived := derivedUID("dashboard", "ConfigMap", "team", "cm", "no-uid.json")
	teamA := derivedUID("folder", "Team A")
	tests := []struct {
		name     string
		sources  []Source
		previous map[Key]string
		want     summary
	}{{
		name:    "uid from the JSON, folder from grafana_folder",
		sources: []Source{configMap("team", "cm", map[string]string{"grafana_folder": "Team A"}, map[string]string{"a.json": `{"uid":"a","title":"A"}`})},
		want:    summary{Dashboards: map[string]string{"a": "Team A"}, Folders: map[string]string{teamA: "Team A"}},
	}, {
		name:    "k8s-sidecar's target directory names the folder by its last element",
		sources: []Source{configMap("team", "cm", map[string]string{"k8s-sidecar-target-directory": "/tmp/dashboards/Team A/"}, map[string]string{"a.json": `{"uid":"a","title":"A"}`})},
		want:    summary{Dashboards: map[string]string{"a": "Team A"}, Folders: map[string]string{teamA: "Team A"}},
	}, {
		name:    "no annotation: General",
		sources: []Source{configMap("team", "cm", nil, map[string]string{"a.json": `{"uid":"a","title":"A"}`})},
		want:    summary{Dashboards: map[string]string{"a": ""}, Folders: map[string]string{}},
	}, {
		name:    "no uid: derived from kind, namespace, name and key, with a note",
		sources: []Source{configMap("team", "cm", nil, map[string]string{"no-uid.json": `{"title":"A"}`})},
		want:    summary{Dashboards: map[string]string{derived: ""}, Folders: map[string]string{}, Notes: 1},
	}, {
		name:    "gzip",
		sources: []Source{configMap("team", "cm", nil, map[string]string{"a.json": gzipped(t, `{"uid":"a","title":"A"}`)})},
		want:    summary{Dashboards: map[string]string{"a": ""}, Folders: map[string]string{}},
	}, {
		name: "two keys with one uid: the first in kind/namespace/name/key order is kept",
		sources: []Source{
			configMap("team-b", "cm", nil, map[string]string{"x.json": `{"uid":"same","title":"B"}`}),
			configMap("team-a", "cm", nil, map[string]string{"x.json": `{"uid":"same","title":"A"}`}),
		},
		want: summary{Dashboards: map[string]string{"same": ""}, Folders: map[string]string{},
			Problems: []string{`ConfigMap team-b/cm key x.json: dashboard uid "same" is also given by ConfigMap team-a/cm key x.json, which is kept; give one of them another uid`}},
	}, {
		name: "bad keys are problems, the good one still converges, a known uid is kept",
		sources: []Source{configMap("team", "cm", nil, map[string]string{
			"broken.json":   `{"uid":"b",`,
			"array.json":    `[1]`,
			"untitled.json": `{"uid":"u"}`,
			"long.json":     `{"uid":"` + strings.Repeat("x", 41) + `","title":"L"}`,
			"ok.json":       `{"uid":"ok","title":"OK"}`,
		})},
		previous: map[Key]string{{Kind: "ConfigMap", Namespace: "team", Name: "cm", Key: "broken.json"}: "b"},
		want: summary{Dashboards: map[string]string{"ok": ""}, Folders: map[string]string{}, Keep: []string{"b"},
			Problems: []string{
				"ConfigMap team/cm key array.json: not a dashboard: a JSON array, not an object; every key of a dashboard object must be a dashboard's JSON object",
				"ConfigMap team/cm key broken.json: not a dashboard: invalid JSON at byte 11; every key of a dashboard object must be a dashboard's JSON object",
				`ConfigMap team/cm key long.json: the dashboard's uid "` + strings.Repeat("x", 41) + `" is longer than Grafana's 40 characters`,
				`ConfigMap team/cm key untitled.json: the dashboard has no title: set "title" in its JSON (a resource's in its spec)`,
			}},
	}, {
		name:    "a Secret's broken JSON is reported without its contents",
		sources: []Source{{Kind: "Secret", Namespace: "team", Name: "s", Data: map[string][]byte{"d.json": []byte(`{"uid": SECRET-VALUE}`)}}},
		want: summary{Dashboards: map[string]string{}, Folders: map[string]string{},
			Problems: []string{"Secret team/s key d.json: not a dashboard: invalid JSON at byte 9; every key of a dashboard object must be a dashboard's JSON object"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarise(BuildPlan(tt.sources, folderAnnotations, true, tt.previous))
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
		})
	}
}

// The plan is a function of the objects, not of their order.
func TestBuildPlanStable(t *testing.T) {
	a := configMap("a", "cm", map[string]string{"grafana_folder": "F"}, map[string]string{"1.json": `{"title":"one"}`, "2.json": `{"uid":"two","title":"two"}`})
	b := configMap("b", "cm", map[string]string{"grafana_folder": "G"}, map[string]string{"1.json": `{"title":"one"}`})
	p1 := BuildPlan([]Source{a, b}, folderAnnotations, true, nil)
	p2 := BuildPlan([]Source{b, a}, folderAnnotations, true, nil)
	if d := cmp.Diff(p1, p2); d != "" {
		t.Errorf("order changed the plan:\n%s", d)
	}
	if len(p1.Desired.Dashboards) != 3 {
		t.Fatalf("want 3 dashboards, got %d", len(p1.Desired.Dashboards))
	}
	for _, d := range p1.Desired.Dashboards {
		if len(d.UID) > maxUID {
			t.Errorf("uid %q longer than %d", d.UID, maxUID)
		}
	}
}

// TestBuildPlanNestedFolders: a relative path is a tree of folders on
// Grafana 11 and later, one root folder named by the whole path (with a
// warning per key) before; an absolute path names its last element.
func TestBuildPlanNestedFolders(t *testing.T) {
	team, payments := derivedUID("folder", "team"), derivedUID("folder", "team", "payments")
	flat := derivedUID("folder", "team/payments")
	one := func(folder string) []Source {
		return []Source{configMap("ns", "cm", map[string]string{"grafana_folder": folder}, map[string]string{"a.json": `{"uid":"a","title":"A"}`})}
	}
	tests := []struct {
		name    string
		sources []Source
		nested  bool
		folders []grafana.Folder // sorted by uid
		into    string
		notes   []string
	}{
		{"nested", one("team/payments"), true, sortedFolders(grafana.Folder{UID: team, Title: "team"}, grafana.Folder{UID: payments, Title: "payments", ParentUID: team}), payments, nil},
		{"spaces, empty and dot elements dropped", one(" team//./payments/ "), true, sortedFolders(grafana.Folder{UID: team, Title: "team"}, grafana.Folder{UID: payments, Title: "payments", ParentUID: team}), payments, nil},
		{"a root folder keeps the uid it had before nesting", one("team"), true, []grafana.Folder{{UID: team, Title: "team"}}, team, nil},
		{"Grafana 7.5: one root folder named by the path", one("team/payments"), false, []grafana.Folder{{UID: flat, Title: "team/payments"}}, flat,
			[]string{`NestedFolder: Grafana before 11 has no nested folders: the dashboard goes into the root folder "team/payments" instead`}},
		{"an absolute path is a directory: its last element", one("/tmp/dashboards/team/"), true, []grafana.Folder{{UID: team, Title: "team"}}, team, nil},
		{"two objects share a parent", []Source{
			configMap("ns", "a", map[string]string{"grafana_folder": "team/payments"}, map[string]string{"a.json": `{"uid":"a","title":"A"}`}),
			configMap("ns", "b", map[string]string{"grafana_folder": "team"}, map[string]string{"b.json": `{"uid":"b","title":"B"}`}),
		}, true, sortedFolders(grafana.Folder{UID: team, Title: "team"}, grafana.Folder{UID: payments, Title: "payments", ParentUID: team}), payments, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := BuildPlan(tt.sources, folderAnnotations, tt.nested, nil)
			if d := cmp.Diff(tt.folders, p.Desired.Folders); d != "" {
				t.Errorf("folders (-want +got):\n%s", d)
			}
			if got := p.Desired.Dashboards[0].FolderUID; p.Desired.Dashboards[0].UID != "a" || got != tt.into {
				t.Errorf("dashboard a in %q, want %q", got, tt.into)
			}
			var notes []string
			for _, n := range p.Notes {
				notes = append(notes, n.Reason+": "+n.Message)
			}
			if d := cmp.Diff(tt.notes, notes); d != "" {
				t.Errorf("notes (-want +got):\n%s", d)
			}
		})
	}
}

func sortedFolders(fs ...grafana.Folder) []grafana.Folder {
	slices.SortFunc(fs, func(a, b grafana.Folder) int { return strings.Compare(a.UID, b.UID) })
	return fs
}

func TestAdoptFolders(t *testing.T) {
	teamA := derivedUID("folder", "Team A")
	want := grafana.Desired{
		Folders:    []grafana.Folder{{UID: teamA, Title: "Team A"}, {UID: "new", Title: "New"}, {UID: "child", Title: "Child", ParentUID: teamA}},
		Dashboards: []grafana.Dashboard{{UID: "a", FolderUID: teamA}, {UID: "n", FolderUID: "new"}, {UID: "g"}, {UID: "c", FolderUID: "child"}},
	}
	tests := []struct {
		name     string
		existing []FolderRef
		folders  []string // uids still to converge
		into     map[string]string
		parent   string // of the nested folder
	}{
		{"nothing in Grafana: all made", nil, []string{teamA, "new", "child"}, map[string]string{"a": teamA, "n": "new", "g": "", "c": "child"}, teamA},
		{"the derived uid exists: kept", []FolderRef{{UID: teamA, Title: "renamed"}, {UID: "x", Title: "Team A"}}, []string{teamA, "new", "child"}, map[string]string{"a": teamA, "n": "new", "g": "", "c": "child"}, teamA},
		{"same title, any case: adopted, the smallest uid", []FolderRef{{UID: "zz", Title: "Team A"}, {UID: "hand", Title: "team a"}}, []string{"new", "child"}, map[string]string{"a": "hand", "n": "new", "g": "", "c": "child"}, "hand"},
		{"a nested folder is never adopted by a root folder of its title", []FolderRef{{UID: "root-child", Title: "Child"}}, []string{teamA, "new", "child"}, map[string]string{"a": teamA, "n": "new", "g": "", "c": "child"}, teamA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AdoptFolders(want, tt.existing)
			var folders []string
			for _, f := range got.Folders {
				folders = append(folders, f.UID)
				if f.UID == "child" && f.ParentUID != tt.parent {
					t.Errorf("the nested folder's parent is %q, want %q", f.ParentUID, tt.parent)
				}
			}
			into := map[string]string{}
			for _, d := range got.Dashboards {
				into[d.UID] = d.FolderUID
			}
			if d := cmp.Diff(tt.folders, folders); d != "" {
				t.Errorf("folders (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.into, into); d != "" {
				t.Errorf("dashboards' folders (-want +got):\n%s", d)
			}
		})
	}
	if want.Dashboards[0].FolderUID != teamA {
		t.Error("AdoptFolders changed its input")
	}
}

// FuzzBuildPlan: whatever a key holds, every key gives a dashboard or a
// problem, uids are unique and within Grafana's limit, and nothing panics.
func FuzzBuildPlan(f *testing.F) {
	f.Add([]byte(`{"uid":"a","title":"A"}`), []byte(`{"title":"B"}`), "Team", true)
	f.Add([]byte(`{"uid":"a","title":"A"}`), []byte(`{"uid":"a","title":"again"}`), "/tmp/x/", true)
	f.Add([]byte{0x1f, 0x8b, 0x08}, []byte(`null`), "", false)
	f.Add([]byte(`{"uid":42,"title":[]}`), []byte(`{"title":"  "}`), ".", true)
	f.Add([]byte(`{"title":"A"}`), []byte(`{"title":"B"}`), "team/../a//b/ ", false)
	f.Fuzz(func(t *testing.T, one, two []byte, folder string, nested bool) {
		src := Source{Kind: KindSecret, Namespace: "ns", Name: "s", Annotations: map[string]string{"grafana_folder": folder},
			Data: map[string][]byte{"one.json": one, "two.json": two}}
		p := BuildPlan([]Source{src}, folderAnnotations, nested, nil)
		if n := len(p.Desired.Dashboards) + len(p.Problems); n != 2 {
			t.Fatalf("%d dashboards and problems for 2 keys: %+v", n, p)
		}
		seen := map[string]bool{}
		for _, d := range p.Desired.Dashboards {
			if d.UID == "" || len(d.UID) > maxUID || seen[d.UID] {
				t.Fatalf("bad or repeated uid %q", d.UID)
			}
			seen[d.UID] = true
		}
		folders := map[string]grafana.Folder{}
		for _, fo := range p.Desired.Folders {
			if fo.Title == "" || len(fo.UID) > maxUID || (!nested && fo.ParentUID != "") {
				t.Fatalf("bad folder %+v (nested %v)", fo, nested)
			}
			folders[fo.UID] = fo
		}
		for _, fo := range p.Desired.Folders {
			if _, ok := folders[fo.ParentUID]; fo.ParentUID != "" && !ok {
				t.Fatalf("folder %+v has a parent the plan lacks", fo)
			}
		}
		for _, d := range p.Desired.Dashboards {
			if _, ok := folders[d.FolderUID]; d.FolderUID != "" && !ok {
				t.Fatalf("dashboard %s in a folder the plan lacks", d.UID)
			}
		}
	})
}
