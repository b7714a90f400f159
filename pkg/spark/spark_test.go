package spark

import "testing"

func TestBetween(t *testing.T) {
	tests := []struct {
		values []float64
		lo, hi float64
		want   string
	}{
		{[]float64{1, 2, 3, 4, 5}, 1, 5, "▁▂▄▆█"},
		{[]float64{0, 10}, 1, 5, "▁█"},
		{[]float64{3, 3}, 3, 3, "▁▁"},
		{nil, 0, 1, ""},
	}
	for _, tc := range tests {
		if got := Between(tc.values, tc.lo, tc.hi); got != tc.want {
			t.Errorf("Between(%v, %g, %g) = %q, want %q", tc.values, tc.lo, tc.hi, got, tc.want)
		}
	}
}
