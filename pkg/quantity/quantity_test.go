package quantity

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"102312m", "102.312"},
		{"150", "150"},
		{"500m", "0.5"},
		{"1k", "1000"},
		{"2Mi", "2097152"},
		{"333333u", "0.333"},
		{"-1500m", "-1.5"},
		{"0", "0"},
		{"-100u", "0"},
		{"1E", "1000000000000000000"},
		{"8Ei", "9223372036854776000"},
	} {
		if got := Decode(resource.MustParse(c.in)); got != c.want {
			t.Errorf("Decode(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, s := range []string{"not a quantity", "1E1000000000000"} {
		if got := DecodeString(s); got != s {
			t.Errorf("DecodeString passes %q through, got %q", s, got)
		}
	}
}
