// Package table renders the plugin's tables in kubectl's style: no borders,
// upper-case headers, columns two spaces apart, every line indented.
package table

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Render writes header and rows to w, each line prefixed with indent. Like
// kubectl's printers it aligns with a tabwriter: columns are as wide as
// their widest cell (in runes) and two spaces apart.
func Render(w io.Writer, indent string, header []string, rows [][]string) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	line := make([]string, 0, len(header))
	for _, h := range header {
		line = append(line, headerCell(h))
	}
	fmt.Fprintln(tw, strings.Join(line, "\t"))
	for _, r := range rows {
		line = line[:0]
		for _, c := range r {
			line = append(line, oneLine.Replace(c))
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	_ = tw.Flush()
	for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintln(w, indent+strings.TrimRight(l, " "))
	}
}

// oneLine keeps a cell in its column: a tab or newline in it would break
// the alignment.
var oneLine = strings.NewReplacer("\t", " ", "\n", " ")

// headerCell is a column title as kubectl prints it: upper case, words
// apart.
func headerCell(h string) string {
	h = strings.TrimSpace(strings.NewReplacer("_", " ", ".", " ").Replace(h))
	return strings.ToUpper(h)
}

// Count is n and the noun, plural unless n is 1: "1 pod", "3 pods".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
