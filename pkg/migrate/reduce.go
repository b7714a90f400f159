package migrate

import (
	"fmt"

	"github.com/prometheus/prometheus/promql/parser"
)

// oneSeries are the aggregations that return one series when they group
// by nothing.
var oneSeries = map[parser.ItemType]bool{
	parser.SUM: true, parser.AVG: true, parser.MIN: true, parser.MAX: true, parser.COUNT: true,
	parser.GROUP: true, parser.STDDEV: true, parser.STDVAR: true, parser.QUANTILE: true,
}

// Reduce turns the adapter's query into one KEDA can use: a single number.
// KEDA's prometheus scaler reads only the first series of the result, so a
// query that can return several (one per pod, per object, per label
// combination) is wrapped in sum(): the total the HPA works with (it
// averages Pods values over the pods and sums External items). A query
// that already aggregates to one series, or is a scalar, is kept as it is.
// The adapter's text is kept byte for byte: the parser only decides.
func Reduce(query string) (string, error) {
	if query == "" {
		return "", fmt.Errorf("no query to migrate")
	}
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return "", fmt.Errorf("the adapter's query %q is not PromQL that Prometheus's parser accepts: %v", query, err)
	}
	switch expr.Type() {
	case parser.ValueTypeScalar:
		return query, nil
	case parser.ValueTypeVector:
	default:
		return "", fmt.Errorf("the adapter's query %q returns a %s, not an instant vector: KEDA needs one number", query, expr.Type())
	}
	if singleSeries(expr) {
		return query, nil
	}
	wrapped := "sum(" + query + ")"
	if _, err := parser.ParseExpr(wrapped); err != nil {
		// A trailing # comment, for one, swallows the parenthesis.
		return "", fmt.Errorf("the adapter's query %q cannot be wrapped in sum(): %v", query, err)
	}
	return wrapped, nil
}

// singleSeries reports whether expr is an aggregation grouped by nothing.
func singleSeries(expr parser.Expr) bool {
	for {
		p, ok := expr.(*parser.ParenExpr)
		if !ok {
			break
		}
		expr = p.Expr
	}
	a, ok := expr.(*parser.AggregateExpr)
	return ok && oneSeries[a.Op] && !a.Without && len(a.Grouping) == 0
}
