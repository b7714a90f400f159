// Package spark draws sparklines: one of eight bar heights per value.
package spark

import "strings"

// Bars are the eight heights, lowest first.
var Bars = []rune("▁▂▃▄▅▆▇█")

// Between draws each value on a scale from lo (the lowest bar) to hi (the
// highest); with hi <= lo every bar is the lowest.
func Between(values []float64, lo, hi float64) string {
	var b strings.Builder
	for _, v := range values {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(Bars)-1))
		}
		b.WriteRune(Bars[max(0, min(i, len(Bars)-1))])
	}
	return b.String()
}
