// Package similar finds the names nearest to a mistyped or renamed one, so
// that "not found" can say "did you mean".
package similar

import (
	"sort"
	"strings"
)

// Nearest returns up to n candidates closest to name by edit distance,
// ignoring those too far to be a plausible typo or rename.
func Nearest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	var out []scored
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein(strings.ToLower(name), strings.ToLower(c))
		limit := max(3, len(name)/3)
		if strings.HasPrefix(c, name) || strings.HasPrefix(name, c) {
			d = min(d, 2)
		}
		if d <= limit {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].s < out[j].s
	})
	var names []string
	for i := 0; i < len(out) && i < n; i++ {
		names = append(names, out[i].s)
	}
	return names
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
