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
	} {
		if got := Decode(resource.MustParse(c.in)); got != c.want {
			t.Errorf("Decode(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := DecodeString("not a quantity"); got != "not a quantity" {
		t.Errorf("DecodeString passes other text through, got %q", got)
	}
}
