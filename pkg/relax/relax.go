// Package relax takes a PromQL query apart one piece at a time: each
// relaxation is the query with one part that can empty its answer removed
// or loosened (a label matcher of a selector, an offset, a range too short
// for two samples, a comparison or set operation that filters). Run
// against Prometheus, the first relaxation that answers where the query
// does not names the part that empties it (doctor's "what empties the
// adapter's query"). The parts are found in Prometheus's own AST, so any
// query the adapter renders is taken apart the same way, not a list of
// known mistakes.
package relax

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Kinds of parts.
const (
	KindMatcher    = "label matcher"
	KindOffset     = "offset"
	KindRange      = "range"
	KindComparison = "comparison"
	KindSetOp      = "set operation"
)

// Relaxation is the query without one part.
type Relaxation struct {
	Kind string `json:"kind"`
	// Part is the part as PromQL writes it: `queue="a"`, `offset 5m`,
	// `[30s]`, `> 0`, `and on (pod) up`.
	Part string `json:"part"`
	// Query is the whole query without it (with a range, a long enough
	// one instead).
	Query string `json:"query"`
}

// Query lists q's relaxations, the outermost part first, then left to
// right (the order of Prometheus's own walk of the tree). A
// range shorter than twice scrapeInterval becomes four scrape intervals
// (a rate needs two samples in it); a zero scrapeInterval leaves ranges
// alone.
func Query(q string, scrapeInterval time.Duration) ([]Relaxation, error) {
	expr, err := parser.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	n := len(parts(expr, scrapeInterval))
	out := make([]Relaxation, 0, n)
	for i := range n {
		fresh, _ := parser.ParseExpr(q) // each relaxation changes its own tree
		p := parts(fresh, scrapeInterval)[i]
		relaxed := p.apply(fresh).String()
		if _, err := parser.ParseExpr(relaxed); err != nil {
			continue // without the part, not a query (a comparison of two scalars)
		}
		out = append(out, Relaxation{Kind: p.kind, Part: p.text, Query: relaxed})
	}
	return out, nil
}

// part is one relaxable part of a tree: apply changes the tree and
// returns its root (which changes when the root itself is replaced).
type part struct {
	kind, text string
	apply      func(root parser.Expr) parser.Expr
}

// parts finds the relaxable parts of expr, outermost first.
func parts(expr parser.Expr, scrapeInterval time.Duration) []part {
	var out []part
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			out = append(out, selectorParts(n)...)
		case *parser.MatrixSelector:
			if scrapeInterval > 0 && n.Range < 2*scrapeInterval {
				out = append(out, part{KindRange, "[" + durationString(n.Range) + "]", func(root parser.Expr) parser.Expr {
					n.Range = 4 * scrapeInterval
					return root
				}})
			}
		case *parser.BinaryExpr:
			if p, ok := filterPart(n, path); ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out
}

// selectorParts are a selector's matchers (but its metric name) and its
// offset.
func selectorParts(v *parser.VectorSelector) []part {
	var out []part
	for i, m := range v.LabelMatchers {
		if m.Name == labels.MetricName {
			continue
		}
		out = append(out, part{KindMatcher, m.String(), func(root parser.Expr) parser.Expr {
			v.LabelMatchers = append(v.LabelMatchers[:i:i], v.LabelMatchers[i+1:]...)
			return root
		}})
	}
	if v.OriginalOffset != 0 {
		out = append(out, part{KindOffset, "offset " + durationString(v.OriginalOffset), func(root parser.Expr) parser.Expr {
			v.OriginalOffset, v.Offset = 0, 0
			return root
		}})
	}
	return out
}

// filterPart is a comparison without bool, or an and/unless: each keeps
// only some of its left side's series. Relaxed, the left side alone.
func filterPart(b *parser.BinaryExpr, path []parser.Node) (part, bool) {
	kind := ""
	switch {
	case b.Op == parser.LAND || b.Op == parser.LUNLESS:
		kind = KindSetOp
	case b.Op.IsComparisonOperator() && !b.ReturnBool:
		kind = KindComparison
	default:
		return part{}, false
	}
	text := b.Op.String()
	if b.VectorMatching != nil && (b.VectorMatching.On || len(b.VectorMatching.MatchingLabels) > 0) {
		text += " " + vectorMatching(b.VectorMatching)
	}
	text += " " + b.RHS.String()
	var parent parser.Node
	if len(path) > 0 {
		parent = path[len(path)-1]
	}
	return part{kind, text, func(root parser.Expr) parser.Expr {
		if parent == nil {
			return b.LHS
		}
		replace(parent, b, b.LHS)
		return root
	}}, true
}

func vectorMatching(m *parser.VectorMatching) string {
	on := "ignoring"
	if m.On {
		on = "on"
	}
	return fmt.Sprintf("%s (%s)", on, strings.Join(m.MatchingLabels, ", "))
}

// replace puts new where old is among parent's children.
func replace(parent parser.Node, old, new parser.Expr) {
	switch p := parent.(type) {
	case *parser.ParenExpr:
		p.Expr = new
	case *parser.AggregateExpr:
		if p.Expr == old {
			p.Expr = new
		} else {
			p.Param = new
		}
	case *parser.BinaryExpr:
		if p.LHS == old {
			p.LHS = new
		} else {
			p.RHS = new
		}
	case *parser.Call:
		for i, a := range p.Args {
			if a == old {
				p.Args[i] = new
			}
		}
	case *parser.SubqueryExpr:
		p.Expr = new
	case *parser.UnaryExpr:
		p.Expr = new
	case *parser.StepInvariantExpr:
		p.Expr = new
	}
}

// durationString writes a duration as PromQL does (5m, 1h30m, 30s).
func durationString(d time.Duration) string { return model.Duration(d).String() }
