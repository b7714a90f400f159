package migrate

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// FuzzReduce: whatever the adapter's query, Reduce never panics, and what
// it returns is PromQL that gives one series (or a scalar).
func FuzzReduce(f *testing.F) {
	for _, s := range []string{
		`sum(MessageMetrics{k8s_pod_name=~"a|b"}) by (k8s_pod_name)`,
		`requests{service="web"}`, `sum(q)`, `1`, `q[5m]`, `(sum(q))`, `rate(x[1m]) * 2`, `sum(`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out, err := Reduce(q)
		if err != nil {
			return
		}
		e, err := parser.ParseExpr(out)
		if err != nil {
			t.Fatalf("Reduce(%q) = %q, which does not parse: %v", q, out, err)
		}
		if e.Type() != parser.ValueTypeScalar && !singleSeries(e) {
			t.Fatalf("Reduce(%q) = %q, which can return several series", q, out)
		}
	})
}
