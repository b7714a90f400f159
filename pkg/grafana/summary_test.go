package grafana

import "testing"

func TestSummarize(t *testing.T) {
	panel := func(id float64, title, expr string) map[string]any {
		return map[string]any{"id": id, "title": title, "targets": []any{map[string]any{"expr": expr}}}
	}
	row := func(title string, panels ...any) map[string]any {
		return map[string]any{"type": "row", "title": title, "panels": panels}
	}
	live := map[string]any{"title": "HPAs", "panels": []any{
		panel(1, "Replicas", "a"), panel(2, "Queue", "b"), row("More", panel(3, "Old", "c"), panel(4, "Kept", "d"))}}
	want := map[string]any{"title": "HPA metrics", "panels": []any{
		panel(1, "Replicas", "a"), panel(2, "Queue", "b2"), row("More", panel(4, "Kept", "d"), panel(5, "", "e"))}}
	tests := []struct {
		name       string
		exists     bool
		have, want map[string]any
		summary    string
	}{
		{"dashboard", true, live, want, "panels: 1 added (#5), 1 changed (Queue), 1 removed (Old); fields changed: title"},
		{"new dashboard", false, nil, want, "new, 5 panels"},
		{"data source", true, map[string]any{"url": "http://a", "name": "x"}, map[string]any{"url": "http://b", "name": "x"}, "fields changed: url"},
		{"new folder", false, nil, map[string]any{"title": "f"}, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.exists, tt.have, tt.want); got != tt.summary {
				t.Fatalf("got  %q\nwant %q", got, tt.summary)
			}
		})
	}
}
