package doctor

import (
	"testing"

	"github.com/metricscale/kubectl-metricscale/pkg/relax"
)

// TestWithoutPart: the part relax names is taken out of the metricsQuery
// template where it is written there, give or take spaces and quotes,
// once; a part written twice, or not as such, is left for a person.
func TestWithoutPart(t *testing.T) {
	tests := []struct {
		template string
		r        relax.Relaxation
		want     string
		ok       bool
	}{
		{`sum(<<.Series>>{<<.LabelMatchers>>,queue="a"}) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindMatcher, Part: `queue="a"`},
			`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, true},
		{`sum(<<.Series>>{queue = 'a', <<.LabelMatchers>>}) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindMatcher, Part: `queue="a"`},
			`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, true},
		{`sum(<<.Series>>{<<.LabelMatchers>>,env!~"prod|stage"}) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindMatcher, Part: `env!~"prod|stage"`},
			`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, true},
		{`sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m] offset 10m)) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindOffset, Part: `offset 10m`},
			`sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)`, true},
		{`sum(<<.Series>>{<<.LabelMatchers>>} > 0) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindComparison, Part: `> 0`},
			`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, true},
		{`sum(<<.Series>>{<<.LabelMatchers>>,queue="a"}) by (<<.GroupBy>>) / sum(x{queue="a"})`, relax.Relaxation{Kind: relax.KindMatcher, Part: `queue="a"`}, "", false},
		{`sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindMatcher, Part: `queue="a"`}, "", false},
		{`sum(rate(<<.Series>>{<<.LabelMatchers>>}[20s])) by (<<.GroupBy>>)`, relax.Relaxation{Kind: relax.KindRange, Part: `[20s]`}, "", false},
	}
	for _, tc := range tests {
		got, ok := withoutPart(tc.template, tc.r)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s without %s: %q %v, want %q %v", tc.template, tc.r.Part, got, ok, tc.want, tc.ok)
		}
	}
}
