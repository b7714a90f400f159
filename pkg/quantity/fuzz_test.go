package quantity

import (
	"math"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// FuzzDecodeString: any text decodes without panicking; a quantity comes
// out as a plain decimal number within 0.0005 of its value, other text
// unchanged.
func FuzzDecodeString(f *testing.F) {
	for _, s := range []string{"102312m", "150", "500m", "1k", "2Mi", "333333u", "-1500m", "0", "-0.0004", "1E400", "1e-400", "1e-401", "1E+0400", "1E", "1e15", "-999999999999999.9995", "8Ei", "0.0005", "-0.0005", "not a quantity", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := DecodeString(s)
		if hugeExponent(s) {
			if got != s {
				t.Fatalf("DecodeString(%q) = %q, want the text unchanged", s, got)
			}
			return
		}
		q, err := resource.ParseQuantity(s)
		if err != nil {
			if got != s {
				t.Fatalf("DecodeString(%q) = %q, want the text unchanged", s, got)
			}
			return
		}
		want := q.AsApproximateFloat64()
		v, err := strconv.ParseFloat(got, 64)
		if err != nil {
			t.Fatalf("DecodeString(%q) = %q, not a number", s, got)
		}
		if math.IsInf(want, 0) {
			if v != want {
				t.Fatalf("DecodeString(%q) = %q, want %v", s, got, want)
			}
			return
		}
		if math.Abs(v-want) > 0.0005+1e-12*math.Abs(want) {
			t.Fatalf("DecodeString(%q) = %q, want about %v", s, got, want)
		}
	})
}
