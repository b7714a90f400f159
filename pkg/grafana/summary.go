package grafana

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/metricscale/kubectl-metricscale/pkg/table"
)

// summarize says in one line how want differs from have: for a dashboard,
// its panels added, changed and removed (by title) and the other fields
// that change; for any other object, the fields that change. A dry run
// prints it instead of the diff, which for a dashboard runs to hundreds
// of lines.
func summarize(exists bool, have, want map[string]any) string {
	panelsHave, panelsWant := panelsByTitle(have), panelsByTitle(want)
	if !exists {
		if _, ok := want["panels"]; ok {
			return "new, " + table.Count(len(panelsWant), "panel")
		}
		return "new"
	}
	var parts []string
	if _, ok := want["panels"]; ok {
		var added, changed, removed []string
		for _, t := range slices.Sorted(maps.Keys(panelsWant)) {
			old, ok := panelsHave[t]
			switch {
			case !ok:
				added = append(added, t)
			case !reflect.DeepEqual(old, panelsWant[t]):
				changed = append(changed, t)
			}
		}
		for _, t := range slices.Sorted(maps.Keys(panelsHave)) {
			if _, ok := panelsWant[t]; !ok {
				removed = append(removed, t)
			}
		}
		parts = append(parts, fmt.Sprintf("panels: %s", strings.Join([]string{
			listed(added, "added"), listed(changed, "changed"), listed(removed, "removed")}, ", ")))
	}
	var fields []string
	keys := slices.Sorted(maps.Keys(have))
	for k := range want {
		if _, ok := have[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k != "panels" && !reflect.DeepEqual(have[k], want[k]) {
			fields = append(fields, k)
		}
	}
	if len(fields) > 0 {
		parts = append(parts, "fields changed: "+strings.Join(fields, ", "))
	}
	return strings.Join(parts, "; ")
}

// panelsByTitle are a dashboard's panels, those in collapsed rows too, by
// title ("#ID" for a panel without one).
func panelsByTitle(dashboard map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(v any)
	walk = func(v any) {
		list, _ := v.([]any)
		for _, p := range list {
			panel, ok := p.(map[string]any)
			if !ok {
				continue
			}
			title, _ := panel["title"].(string)
			if title == "" {
				title = fmt.Sprintf("#%v", panel["id"])
			}
			// A row is compared without the panels it holds: they count
			// on their own.
			row := make(map[string]any, len(panel))
			for k, v := range panel {
				if k != "panels" {
					row[k] = v
				}
			}
			out[title] = row
			walk(panel["panels"])
		}
	}
	walk(dashboard["panels"])
	return out
}

// listed is "2 added (A, B)", at most three names shown.
func listed(names []string, what string) string {
	if len(names) == 0 {
		return "0 " + what
	}
	shown := names
	more := ""
	if len(names) > 3 {
		shown, more = names[:3], fmt.Sprintf(", +%d", len(names)-3)
	}
	return fmt.Sprintf("%d %s (%s%s)", len(names), what, strings.Join(shown, ", "), more)
}
