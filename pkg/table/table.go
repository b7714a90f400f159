// Package table renders the plugin's tables in kubectl's style: no borders,
// upper-case headers, columns two spaces apart, every line indented.
package table

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
)

// Render writes header and rows to w, each line prefixed with indent.
func Render(w io.Writer, indent string, header []string, rows [][]string) {
	var b strings.Builder
	t := tablewriter.NewWriter(&b)
	t.SetHeader(header)
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(true)
	t.SetBorder(false)
	t.SetHeaderLine(false)
	t.SetColumnSeparator("")
	t.SetTablePadding("  ")
	t.SetNoWhiteSpace(true)
	t.SetAlignment(tablewriter.ALIGN_LEFT)
	t.SetHeaderAlignment(tablewriter.ALIGN_LEFT)
	t.AppendBulk(rows)
	t.Render()
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintln(w, indent+strings.TrimRight(line, " "))
	}
}
