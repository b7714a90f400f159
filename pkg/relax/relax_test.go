package relax

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// TestQuery: each part that can empty a query is relaxed alone, the
// outermost first, and the rest of the query is kept as it was.
func TestQuery(t *testing.T) {
	tests := []struct {
		name, query string
		want        []Relaxation
	}{
		{"the adapter's query with a hard-coded matcher",
			`sum(orders_backlog{namespace="shop",pod=~"web-1|web-2",queue="a"}) by (pod)`,
			[]Relaxation{
				{KindMatcher, `namespace="shop"`, `sum by (pod) (orders_backlog{pod=~"web-1|web-2",queue="a"})`},
				{KindMatcher, `pod=~"web-1|web-2"`, `sum by (pod) (orders_backlog{namespace="shop",queue="a"})`},
				{KindMatcher, `queue="a"`, `sum by (pod) (orders_backlog{namespace="shop",pod=~"web-1|web-2"})`},
			}},
		{"a rate over a range shorter than two scrapes, with an offset",
			`sum(rate(http_requests_total{namespace="shop"}[20s] offset 5m)) by (pod)`,
			[]Relaxation{
				{KindRange, `[20s]`, `sum by (pod) (rate(http_requests_total{namespace="shop"}[1m] offset 5m))`},
				{KindMatcher, `namespace="shop"`, `sum by (pod) (rate(http_requests_total[20s] offset 5m))`},
				{KindOffset, `offset 5m`, `sum by (pod) (rate(http_requests_total{namespace="shop"}[20s]))`},
			}},
		{"a filter and a set operation",
			`sum(queue_depth{namespace="shop"} > 0 and on (pod) up == 1) by (pod)`,
			[]Relaxation{
				{KindSetOp, `and on (pod) up == 1`, `sum by (pod) (queue_depth{namespace="shop"} > 0)`},
				{KindComparison, `> 0`, `sum by (pod) (queue_depth{namespace="shop"} and on (pod) up == 1)`},
				{KindMatcher, `namespace="shop"`, `sum by (pod) (queue_depth > 0 and on (pod) up == 1)`},
				{KindComparison, `== 1`, `sum by (pod) (queue_depth{namespace="shop"} > 0 and on (pod) up)`},
			}},
		{"a comparison at the root, and bool that does not filter",
			`queue_depth{queue="a"} > bool 5 > 0`,
			[]Relaxation{
				{KindComparison, `> 0`, `queue_depth{queue="a"} > bool 5`},
				{KindMatcher, `queue="a"`, `queue_depth > bool 5 > 0`},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Query(tc.query, 15*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d relaxations, want %d:\n%s", len(got), len(tc.want), describe(got))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("relaxation %d:\n got  %+v\n want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func describe(rs []Relaxation) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Kind + " " + r.Part + ": " + r.Query + "\n")
	}
	return b.String()
}

// TestQueryRefusesWhatDoesNotParse names the parser's error.
func TestQueryRefusesWhatDoesNotParse(t *testing.T) {
	if _, err := Query(`sum(x{`, time.Minute); err == nil {
		t.Fatal("no error for a query that does not parse")
	}
}

// FuzzQuery: every relaxation of a query that parses parses too, and
// differs from the query.
func FuzzQuery(f *testing.F) {
	f.Add(`sum(rate(x{a="b",c=~"d"}[10s] offset 1m)) by (pod) > 0 unless y`)
	f.Add(`avg(x) and on (pod) (z{q!="1"} < 3)`)
	f.Fuzz(func(t *testing.T, q string) {
		rs, err := Query(q, 15*time.Second)
		if err != nil {
			return
		}
		whole, _ := parser.ParseExpr(q)
		for _, r := range rs {
			if _, err := Query(r.Query, 0); err != nil {
				t.Fatalf("relaxing %s of %q gives %q, which does not parse: %v", r.Part, q, r.Query, err)
			}
			if r.Query == whole.String() {
				t.Fatalf("relaxing %s of %q changes nothing", r.Part, q)
			}
		}
	})
}
