package watch

import (
	"math"
	"strings"
	"testing"
)

// FuzzParseCondition: any --until text parses or fails without panicking;
// a parsed condition prints as text that parses to the same condition.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"replicas>=2", "replicas > 2", " desired=3 ", "value<100", "value!=100", "prometheus<=149.5",
		"value==-0", "replicas>=two", "pods>=2", "value>=1.", "\treplicas\n<\f7\r", "value<1" + strings.Repeat("0", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			return
		}
		if math.IsInf(c.Value, 0) || math.IsNaN(c.Value) {
			t.Fatalf("%q: value %v", s, c.Value)
		}
		back, err := ParseCondition(c.String())
		if err != nil {
			t.Fatalf("%q prints as %q, which does not parse: %v", s, c.String(), err)
		}
		if back.Field != c.Field || back.Op != c.Op || back.Value != c.Value || back.String() != c.String() {
			t.Fatalf("%q → %+v prints as %q → %+v", s, *c, c.String(), *back)
		}
	})
}
