package sidecar

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
)

// Source is one labelled ConfigMap or Secret as the informers cache it.
type Source struct {
	Kind        string // "ConfigMap" or "Secret"
	Namespace   string
	Name        string
	UID         types.UID
	Annotations map[string]string
	// Data holds every key: a ConfigMap's data and binaryData, a Secret's data.
	Data map[string][]byte
}

// Key names one key of one Source, e.g. "ConfigMap monitoring/dashboards key cpu.json".
type Key struct {
	Kind, Namespace, Name, Key string
}

func (k Key) String() string {
	return fmt.Sprintf("%s %s/%s key %s", k.Kind, k.Namespace, k.Name, k.Key)
}

// Problem is a key that gives no dashboard, and why.
type Problem struct {
	Key     Key
	Message string
}

// Note is something worth a log line that is not a problem: a derived
// uid, or with Reason a warning also recorded as an Event (a nested folder
// Grafana cannot make).
type Note struct {
	Key     Key
	Message string
	Reason  string
}

// Plan is the desired state built from the cached objects.
type Plan struct {
	Desired grafana.Desired
	// UIDs maps each key that gave a dashboard to its uid.
	UIDs map[Key]string
	// Keep are uids that are not desired but must not be deleted: those of
	// keys that no longer parse (a typo must not remove a dashboard).
	Keep     map[string]bool
	Notes    []Note
	Problems []Problem
}

// maxUID is Grafana's limit on a uid's length.
const maxUID = 40

// maxDashboardBytes bounds a decompressed dashboard (a gzip bomb in a
// ConfigMap must not take the process down).
const maxDashboardBytes = 16 << 20

// BuildPlan turns the cached objects into the dashboards and folders
// Grafana should have. It is a pure function of its input: the same
// objects in any order give the same plan. nested says whether Grafana has
// nested folders (11 and later). Only keys ending in .json are read, as
// Grafana's file provisioning reads only those files. previous is the key → uid map of the last
// plan; it keeps the dashboards of keys that stopped parsing.
func BuildPlan(sources []Source, folderAnnotations []string, nested bool, previous map[Key]string) Plan {
	p := Plan{UIDs: map[Key]string{}, Keep: map[string]bool{}}
	var candidates []candidate
	folders := map[string]grafana.Folder{}
	for _, src := range sources {
		chain, flattened := folderChain(folderPath(src.Annotations, folderAnnotations), nested)
		folderUID := ""
		for _, f := range chain {
			folders[f.UID] = f
			folderUID = f.UID
		}
		for key, raw := range src.Data {
			k := Key{Kind: src.Kind, Namespace: src.Namespace, Name: src.Name, Key: key}
			if flattened && strings.HasSuffix(key, ".json") {
				p.Notes = append(p.Notes, Note{Key: k, Reason: ReasonNestedFolder,
					Message: fmt.Sprintf("Grafana before 11 has no nested folders: the dashboard goes into the root folder %q instead", chain[0].Title)})
			}
			if c, ok := p.readKey(k, raw, previous); ok {
				c.dashboard.FolderUID = folderUID
				candidates = append(candidates, c)
			}
		}
	}
	// The first key in a fixed order keeps a uid two keys give.
	slices.SortFunc(candidates, func(a, b candidate) int { return compareKeys(a.key, b.key) })
	owner := map[string]Key{}
	for _, c := range candidates {
		if first, taken := owner[c.dashboard.UID]; taken {
			p.Problems = append(p.Problems, Problem{Key: c.key, Message: fmt.Sprintf("dashboard uid %q is also given by %s, which is kept; give one of them another uid", c.dashboard.UID, first)})
			continue
		}
		owner[c.dashboard.UID] = c.key
		p.UIDs[c.key] = c.dashboard.UID
		p.Desired.Dashboards = append(p.Desired.Dashboards, c.dashboard)
	}
	for _, f := range folders {
		p.Desired.Folders = append(p.Desired.Folders, f)
	}
	slices.SortFunc(p.Desired.Folders, func(a, b grafana.Folder) int { return strings.Compare(a.UID, b.UID) })
	slices.SortFunc(p.Problems, func(a, b Problem) int { return compareKeys(a.Key, b.Key) })
	slices.SortFunc(p.Notes, func(a, b Note) int { return compareKeys(a.Key, b.Key) })
	return p
}

// candidate is the dashboard one key gives, before uid clashes are settled.
type candidate struct {
	key       Key
	dashboard grafana.Dashboard
}

// readKey reads one key as a dashboard, with its note or problem recorded
// in p; ok is false when it gives none.
func (p *Plan) readKey(k Key, raw []byte, previous map[Key]string) (c candidate, ok bool) {
	if !strings.HasSuffix(k.Key, ".json") {
		p.Notes = append(p.Notes, Note{Key: k, Message: "not a .json key: skipped, as Grafana's file provisioning reads no other file"})
		return c, false
	}
	d, derived, err := dashboardOf(k, raw)
	if err != nil {
		p.Problems = append(p.Problems, Problem{Key: k, Message: err.Error()})
		if uid, ok := previous[k]; ok {
			p.Keep[uid] = true
		}
		return c, false
	}
	if derived {
		p.Notes = append(p.Notes, Note{Key: k, Message: fmt.Sprintf("the dashboard has no uid: using %s, derived from kind, namespace, name and key; set a uid in its JSON to choose one", d.UID)})
	}
	return candidate{key: k, dashboard: d}, true
}

func compareKeys(a, b Key) int {
	for _, c := range [][2]string{{a.Kind, b.Kind}, {a.Namespace, b.Namespace}, {a.Name, b.Name}, {a.Key, b.Key}} {
		if n := strings.Compare(c[0], c[1]); n != 0 {
			return n
		}
	}
	return 0
}

// folderPath is the folder the first annotation present names, as path
// elements. A relative path (team/payments) names nested folders; an
// absolute one is a directory on the Grafana pod's disk, where k8s-sidecar
// would write the file, and names its last element.
func folderPath(annotations map[string]string, names []string) []string {
	for _, name := range names {
		v := strings.TrimSpace(annotations[name])
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "/") {
			if title := path.Base(v); title != "/" {
				return []string{title}
			}
			continue
		}
		var elems []string
		for _, e := range strings.Split(path.Clean(v), "/") {
			if e = strings.TrimSpace(e); e != "" && e != "." {
				elems = append(elems, e)
			}
		}
		if len(elems) > 0 {
			return elems
		}
	}
	return nil
}

// folderChain is the folders of a path, root first, each uid derived from
// the path down to it (a root folder's from its title alone). Without
// nested folders a longer path is one root folder titled by the whole path
// (flattened), under a uid of its own, so that once Grafana nests folders
// the tree is made beside it rather than the flat folder being renamed.
func folderChain(elems []string, nested bool) (chain []grafana.Folder, flattened bool) {
	if len(elems) > 1 && !nested {
		title := strings.Join(elems, "/")
		return []grafana.Folder{{UID: derivedUID("folder", title), Title: title}}, true
	}
	parent := ""
	for i, title := range elems {
		f := grafana.Folder{UID: derivedUID("folder", elems[:i+1]...), Title: title, ParentUID: parent}
		chain = append(chain, f)
		parent = f.UID
	}
	return chain, false
}

// derivedUID is a stable uid for something that has none: a prefix and a
// hash of what names it, within Grafana's 40 characters.
func derivedUID(kind string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(append([]string{kind}, parts...), "\x00")))
	return "msc-" + hex.EncodeToString(sum[:])[:32]
}

// dashboardOf reads one key as a dashboard: plain or gzipped JSON with a
// title. The contents of a Secret never appear in an error.
func dashboardOf(k Key, raw []byte) (d grafana.Dashboard, derived bool, err error) {
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		if raw, err = gunzip(raw); err != nil {
			return d, false, err
		}
	}
	var body struct {
		UID   *string `json:"uid"`
		Title *string `json:"title"`
	}
	err = json.Unmarshal(raw, &body)
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil && bytes.Equal(bytes.TrimSpace(raw), []byte("null")), err != nil && !(errors.As(err, &typ) && typ.Field != ""):
		return d, false, fmt.Errorf("not a dashboard: %s; every key of a dashboard object must be a dashboard's JSON object", jsonProblem(err))
	case err != nil:
		return d, false, fmt.Errorf("not a dashboard: %s", jsonProblem(err))
	}
	head, err := grafana.PeekDashboard(raw)
	if err != nil {
		return d, false, fmt.Errorf("not a dashboard: %w", err)
	}
	if strings.TrimSpace(head.Title) == "" {
		return d, false, errors.New("the dashboard has no title: set \"title\" in its JSON (a resource's in its spec)")
	}
	d.Body = raw
	if head.UID != "" {
		d.UID = head.UID
		if len(d.UID) > maxUID {
			return d, false, fmt.Errorf("the dashboard's uid %q is longer than Grafana's %d characters", d.UID, maxUID)
		}
		return d, false, nil
	}
	d.UID = derivedUID("dashboard", k.Kind, k.Namespace, k.Name, k.Key)
	return d, true, nil
}

// jsonProblem says where JSON is wrong without quoting it (it may be a Secret's).
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return "null is not a JSON object"
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("a JSON %s, not an object", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q is a JSON %s, not a %s", typ.Field, typ.Value, typ.Type)
	}
	return "invalid JSON"
}

func gunzip(raw []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gzip data that does not decompress: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDashboardBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gzip data that does not decompress: %v", err)
	}
	if len(out) > maxDashboardBytes {
		return nil, fmt.Errorf("decompresses to more than %d bytes", maxDashboardBytes)
	}
	return out, nil
}

// FolderRef is a folder Grafana already has.
type FolderRef struct{ UID, Title string }

// AdoptFolders puts dashboards (and nested folders) into a root folder
// Grafana already has with the wanted title (made by hand, or by file provisioning under the sidecar
// this one replaces) instead of a second folder of that name; 7.5 would
// refuse the second anyway. An adopted folder is used, never renamed. A
// folder Grafana has under the derived uid stays as it is.
func AdoptFolders(d grafana.Desired, existing []FolderRef) grafana.Desired {
	byUID := map[string]bool{}
	for _, f := range existing {
		byUID[f.UID] = true
	}
	// The smallest uid wins among folders of one title, so every pass adopts the same.
	sorted := slices.Clone(existing)
	slices.SortFunc(sorted, func(a, b FolderRef) int { return strings.Compare(a.UID, b.UID) })
	adopted := map[string]string{}
	for _, f := range d.Folders {
		if f.ParentUID != "" || byUID[f.UID] {
			continue
		}
		if i := slices.IndexFunc(sorted, func(e FolderRef) bool { return strings.EqualFold(e.Title, f.Title) }); i >= 0 {
			adopted[f.UID] = sorted[i].UID
		}
	}
	var folders []grafana.Folder
	for _, f := range d.Folders {
		if _, ok := adopted[f.UID]; ok {
			continue
		}
		if uid, ok := adopted[f.ParentUID]; ok {
			f.ParentUID = uid
		}
		folders = append(folders, f)
	}
	out := grafana.Desired{DataSources: d.DataSources, Folders: folders}
	for _, db := range d.Dashboards {
		if uid, ok := adopted[db.FolderUID]; ok {
			db.FolderUID = uid
		}
		out.Dashboards = append(out.Dashboards, db)
	}
	return out
}
