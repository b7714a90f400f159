// Package printerstest checks, in each command's tests, that its data
// output shows queries and shell text as they are.
package printerstest

import (
	"strings"
	"testing"
)

// Text holds what JSON escapes for HTML: a template query and shell
// operators. Put it in a field of the value printed.
const Text = "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>) && a > b < c"

// Literal fails t unless out holds Text as it is and no HTML escape.
func Literal(t testing.TB, out string) {
	t.Helper()
	for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`} {
		if strings.Contains(out, esc) {
			t.Errorf("%s in the output:\n%s", esc, out)
		}
	}
	if !strings.Contains(out, Text) {
		t.Errorf("%q is not in the output as it is:\n%s", Text, out)
	}
}
