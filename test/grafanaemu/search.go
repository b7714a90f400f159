package grafanaemu

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// searchFilter is GET /api/search's query string.
type searchFilter struct {
	query      string
	tags       []string
	kind       string // dash-db, dash-folder or "" for both
	folderUIDs []string
	folderIDs  []int64
	dashUIDs   []string
	limit      int
}

// multi reads a parameter given repeated or comma-separated.
func multi(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (s *Server) searchFilter(q url.Values) searchFilter {
	f := searchFilter{query: strings.ToLower(q.Get("query")), tags: q["tag"], kind: q.Get("type"), dashUIDs: multi(q, "dashboardUIDs")}
	if s.current() {
		f.folderUIDs = multi(q, "folderUIDs") // unknown to 7.5, which ignores it
	}
	for _, id := range multi(q, "folderIds") {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			f.folderIDs = append(f.folderIDs, n)
		}
	}
	f.limit, _ = strconv.Atoi(q.Get("limit"))
	return f
}

// hit is one search result with what the filter looks at.
type hit struct {
	folder   bool
	title    string
	uid      string
	tags     []string
	folderID int64 // the folder it is in (0: General)
	body     map[string]any
}

func (f searchFilter) match(h hit, folderUID string) bool {
	switch {
	case f.kind == "dash-db" && h.folder, f.kind == "dash-folder" && !h.folder:
		return false
	case f.query != "" && !strings.Contains(strings.ToLower(h.title), f.query):
		return false
	case len(f.dashUIDs) > 0 && !slices.Contains(f.dashUIDs, h.uid):
		return false
	case len(f.folderIDs) > 0 && !slices.Contains(f.folderIDs, h.folderID):
		return false
	case len(f.folderUIDs) > 0 && !slices.Contains(f.folderUIDs, cmp.Or(folderUID, "general")):
		return false
	}
	for _, t := range f.tags {
		if !slices.Contains(h.tags, t) {
			return false
		}
	}
	return true
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, _ *session) {
	filter := s.searchFilter(r.URL.Query())
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []hit
	for _, f := range s.store.folders {
		var parent int64
		if p := s.store.folderByUID(f.parentUID); p != nil {
			parent = p.id
		}
		hits = append(hits, hit{folder: true, title: f.title, uid: f.uid, tags: []string{}, folderID: parent,
			body: map[string]any{"type": "dash-folder", "url": s.folderURL(f), "uri": "db/" + slugify(f.title)}})
	}
	for _, d := range s.store.dashboards {
		tags := d.tags()
		if tags == nil {
			tags = []string{}
		}
		hits = append(hits, hit{title: d.title(), uid: d.uid, tags: tags, folderID: d.folderID,
			body: map[string]any{"type": "dash-db", "url": dashboardURL(d), "uri": "db/" + slugify(d.title())}})
	}
	// Folders first, then by title, as Grafana's default sort.
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.folder != b.folder {
			if a.folder {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.title), strings.ToLower(b.title))
	})
	out := []any{}
	for _, h := range hits {
		f := s.store.folderByID(h.folderID)
		folderUID := ""
		if f != nil {
			folderUID = f.uid
		}
		if !filter.match(h, folderUID) {
			continue
		}
		if filter.limit > 0 && len(out) == filter.limit {
			break
		}
		item := h.body
		item["id"], item["uid"], item["title"], item["tags"], item["isStarred"], item["slug"] = s.idOf(h), h.uid, h.title, h.tags, false, ""
		if f != nil {
			item["folderId"], item["folderUid"], item["folderTitle"], item["folderUrl"] = f.id, f.uid, f.title, s.folderURL(f)
		}
		if !s.current() {
			item["sortMeta"] = 0
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) idOf(h hit) int64 {
	if h.folder {
		return s.store.folderByUID(h.uid).id
	}
	return s.store.dashboardByUID(h.uid).id
}
