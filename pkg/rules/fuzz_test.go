package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
)

// FuzzInsert: a config the adapter accepts takes the rule, the result is
// accepted too, holds the old rules and the new one, and differs from the
// input only by the insertion (see insertedOnly).
func FuzzInsert(f *testing.F) {
	befores, _ := filepath.Glob(filepath.Join("testdata", "*.before.yaml"))
	for _, p := range befores {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), false)
		f.Add(string(b), true)
	}
	for _, s := range []string{
		"", "\n", "# only a comment", "rules:\n", "rules: []", "rules: [] # c\n", "rules: ~\n", "rules: null # none\n",
		"rules:\n- seriesQuery: x\n", "rules:\n  - seriesQuery: x\n    # last\n\n# next\nexternalRules: []\n",
		"externalRules:\n- seriesQuery: x\nrules: []\n", "rules:\n- seriesQuery: x", "rules: [{seriesQuery: x}]\n",
		"rules:\r\n- seriesQuery: x\r\n", "\"rules\": []\n", "rules:\n  []\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, external bool) {
		if !utf8.ValidString(raw) {
			return // a ConfigMap's data is UTF-8 (a UTF-16 BOM makes the parser read UTF-16)
		}
		list, rule := Custom, interlokRule
		if external {
			list, rule = External, externalRule
		}
		before, err := config.FromYAML([]byte(raw))
		out, ierr := Insert(raw, list, rule)
		if err != nil {
			if ierr == nil {
				t.Fatalf("a config the adapter rejects was edited: %v", err)
			}
			return
		}
		if ierr != nil && !strings.Contains(ierr.Error(), "is a flow list") &&
			!(strings.Contains(ierr.Error(), "would change the rules already there") && endLine(raw) != raw) {
			t.Fatalf("a config the adapter accepts was refused: %v", ierr)
		}
		if ierr != nil {
			return
		}
		after, err := config.FromYAML([]byte(out))
		if err != nil {
			t.Fatalf("the result is rejected: %v\n%s", err, out)
		}
		want, err := ParseRule(list, rule)
		if err != nil {
			t.Fatal(err)
		}
		if !addsRule(before, after, list, want) {
			t.Fatalf("the rules changed beyond the new one:\n%s", out)
		}
		if err := insertedOnly(raw, out, list, rule); err != nil {
			t.Fatalf("%v\ninput:\n%q\noutput:\n%q", err, raw, out)
		}
	})
}

// insertedOnly checks that out is raw with item(rule, indent) inserted, for
// some indent, and nothing else changed but one of:
//   - a newline ended the last line if it had none, before the insertion;
//   - "list:\n" went before the item, at the end, when there was no list;
//   - the lines of an empty list ("rules: []", "rules:", "rules: ~", each
//     with a comment or not), or a document that is only "~" or "null",
//     became "rules:" with their indentation and comments.
func insertedOnly(raw, out string, list List, rule string) error {
	key := string(list) + ":"
	// The indentations the item may have: those of the lines that start
	// like it.
	first, _, _ := strings.Cut(item(rule, 0), "\n")
	indents := map[int]bool{}
	for _, l := range strings.Split(out, "\n") {
		if t := strings.TrimLeft(l, " "); strings.HasPrefix(t, first) {
			indents[len(l)-len(t)] = true
		}
	}
	for indent := range indents {
		ins := item(rule, indent)
		for from := 0; ; {
			i := strings.Index(out[from:], ins)
			if i < 0 {
				break
			}
			i += from
			from = i + 1
			rest, atEnd := out[:i]+out[i+len(ins):], i == len(out)-len(ins)
			switch {
			case rest == raw, atEnd && rest == endLine(raw):
				return nil
			case atEnd && indent == 0 && rest == endLine(raw)+key+"\n":
				return nil
			case indent == 0 && i > len(key) && rest[i-len(key)-1:i] == key+"\n" && rest[:i-len(key)-1]+rest[i:] == raw:
				return nil // the new list went first
			case valueEmptied(raw, rest, i, key):
				return nil
			}
		}
	}
	return errors.New("the output is not the input with the rule inserted")
}

// valueEmptied reports whether rest is raw with the lines of an empty list
// (from its key to its value: "rules: []", "rules:\n  []", "rules: ~", ...)
// rewritten as one line "KEY:", with their indentation and comments; the new
// line ends at offset at in rest.
func valueEmptied(raw, rest string, at int, key string) bool {
	if at == 0 {
		return false
	}
	start := strings.LastIndexByte(rest[:at-1], '\n') + 1
	newLine, tail := rest[start:at], rest[at:]
	if len(raw) < start+len(tail) || raw[:start] != rest[:start] || !strings.HasSuffix(raw, tail) {
		return false
	}
	old := splitLines(raw[start : len(raw)-len(tail)])
	if len(old) == 0 || (tail != "" && endLine(old[len(old)-1]) != old[len(old)-1]) {
		return false
	}
	want := leading(old[0]) + key
	for _, l := range old {
		if c := trailingComment(l); c != "" {
			want += " " + c
		}
	}
	return newLine == want+"\n"
}

// FuzzPropose: whatever the series and flags, Propose does not panic; a
// proposal it returns is a rule the adapter's parser accepts, whose queries
// pass CheckQueries and whose name.matches selects exactly the series; and
// the queries it writes itself are valid for any legacy metric name.
func FuzzPropose(f *testing.F) {
	f.Add("MessageMetrics", "job=interlok,k8s_namespace=a,k8s_pod_name=p", "", "", "", "", "", "", false, false)
	f.Add("http_requests_total", "namespace=a,pod=p", "", "", "", "", "", "", false, false)
	f.Add("prom_fake_value", "namespace=a,service=s,pod=p", "services", "", "", "", "", "", false, false)
	f.Add("x", "namespace=a,pod=p,k8s_pod_name=q", "pods", "y", "", "k8s_pod_name", "", "", false, false)
	f.Add("jobs_waiting", "namespace=a", "", "", "", "", "", "", true, false)
	f.Add("jobs_waiting", "queue=q", "", "", "", "", "", "", true, true)
	f.Add("queue_depth", "namespace=a,pod=p", "", "", "", "", `{__name__="queue_depth",job='w'}`, `sum(<<.Series>>{<<.LabelMatchers>>,msg="a: b"}) by (<<.GroupBy>>)`, false, false)
	f.Add("namespace:http_requests:rate5m", "exported_namespace=a,exported_pod=p,namespace=m,pod=g", "", "", "", "", "", "sum(<<.Series>>{<<.LabelMatchers>>", false, false)
	f.Add("a.b-c", "namespace=a,pod=p", "", "", "", "", "", "", false, false)
	f.Add(`a\d`, "namespace=a,pod=p", "", "", "", "", "", "sum(x) by (<<.GroupBy>>)", false, false)
	f.Add("a #b", "namespace=a,pod=p", "", "", "", "", "", "sum(x) by (<<.GroupBy>>)", false, false)
	f.Add("a: b", "namespace=a,pod=p", "", "", "", "", "", "sum(x) by (<<.GroupBy>>)", false, false)
	f.Fuzz(func(t *testing.T, name, labelList, resource, as, nsLabel, resLabel, seriesQuery, metricsQuery string, external, notNamespaced bool) {
		for _, s := range []string{name, labelList, resource, as, nsLabel, resLabel, seriesQuery, metricsQuery} {
			if !utf8.ValidString(s) {
				return // Prometheus's names and labels are UTF-8, as are flags read from a shell
			}
		}
		s := prom.Series{Name: name, Labels: pmodel.LabelSet{pmodel.MetricNameLabel: pmodel.LabelValue(name)}}
		for _, l := range strings.Split(labelList, ",") {
			k, v, _ := strings.Cut(l, "=")
			s.Labels[pmodel.LabelName(k)] = pmodel.LabelValue(v)
		}
		req := Request{SeriesName: name, Resource: resource, As: as, NamespaceLabel: nsLabel, ResourceLabel: resLabel,
			SeriesQuery: seriesQuery, MetricsQuery: metricsQuery, External: external, NotNamespaced: notNamespaced}
		p, err := Propose([]prom.Series{s}, req)
		if err != nil {
			var qe *QueryError
			if errors.As(err, &qe) && seriesQuery == "" && metricsQuery == "" && pmodel.IsValidLegacyMetricName(name) &&
				validLabel(nsLabel) && validLabel(resLabel) {
				t.Fatalf("a generated query is refused: %v", err)
			}
			return
		}
		rule, err := ParseRule(p.List(), p.YAML)
		if err != nil {
			t.Fatalf("%v\n%s", err, p.YAML)
		}
		if _, err := Insert("rules: []\n", p.List(), p.YAML); err != nil {
			t.Fatalf("%v\n%s", err, p.YAML)
		}
		if err := CheckQueries(rule, p.List()); err != nil {
			t.Fatalf("%v\n%s", err, p.YAML)
		}
		if (seriesQuery != "" && rule.SeriesQuery != seriesQuery) || (metricsQuery != "" && rule.MetricsQuery != metricsQuery) || rule.Name.As != p.APIName {
			t.Fatalf("the rule does not keep what was asked:\n%s", p.YAML)
		}
		re, err := regexp.Compile(rule.Name.Matches)
		if err != nil || !re.MatchString(name) || re.MatchString(name+"x") || re.MatchString("x"+name) {
			t.Fatalf("name.matches %q does not select exactly %q (%v)", rule.Name.Matches, name, err)
		}
	})
}

func validLabel(l string) bool {
	return l == "" || (pmodel.LabelName(l).IsValidLegacy() && !strings.HasPrefix(l, "__"))
}

// FuzzCheckQueries: rendering and checking any rule's queries does not
// panic, and a refused query points inside what the parser was given.
func FuzzCheckQueries(f *testing.F) {
	f.Add(`{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}`, "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)", "", "k8s_namespace", "k8s_pod_name", false, false)
	f.Add(`{__name__="MessageMetrics"}`, "sum(<<.Series>>{<<.LabelMatchers>>", "", "k8s_namespace", "k8s_pod_name", false, false)
	f.Add(`{__name__=~"^container_.*",container!="POD"}`, "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[2m])) by (<<.GroupBy>>)", "<<.Resource>>", "", "", false, false)
	f.Add(`{__name__="jobs"}`, "sum(<<.Series>>{<<.LabelMatchers>>,queue='a'}) by (<<index .GroupBySlice 0>>)", "", "", "", true, true)
	f.Add(`{__name__="jobs"`, "sum by (<<.GroupBy>>) (\n\trate(<<.Series>>{<<.LabelMatchers>>}[5m] offset)\n)", "kube_<<.Group>>_<<.Resource>>", "namespace", "", true, false)
	f.Add(`{a=""}`, "<<range .LabelValuesByName>><<.>><<end>>", "", "", "", false, false)
	f.Fuzz(func(t *testing.T, seriesQuery, metricsQuery, template, nsLabel, resLabel string, external, notNamespaced bool) {
		list := Custom
		if external {
			list = External
		}
		rule := config.DiscoveryRule{SeriesQuery: seriesQuery, MetricsQuery: metricsQuery,
			Resources: config.ResourceMapping{Template: template, Overrides: map[string]config.GroupResource{}}}
		if nsLabel != "" {
			rule.Resources.Overrides[nsLabel] = config.GroupResource{Resource: "namespace"}
		}
		if resLabel != "" && resLabel != nsLabel {
			rule.Resources.Overrides[resLabel] = config.GroupResource{Resource: "pods"}
		}
		if notNamespaced {
			no := false
			rule.Resources.Namespaced = &no
		}
		_, _, _ = RenderMetricsQuery(rule, list)
		err := CheckQueries(rule, list)
		if err == nil {
			return
		}
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Fatalf("not a *QueryError: %v", err)
		}
		if qe.Pos > len(qe.Rendered) || qe.End < qe.Pos {
			t.Fatalf("position %d-%d outside %q", qe.Pos, qe.End, qe.Rendered)
		}
		_ = err.Error()
	})
}
