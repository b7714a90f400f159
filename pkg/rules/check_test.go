package rules

import (
	"errors"
	"strings"
	"testing"

	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
)

// interlokResources maps the Interlok series' labels.
const interlokResources = "resources: {overrides: {k8s_namespace: {resource: namespace}, k8s_pod_name: {resource: pod}}}\n"

func ruleYAML(seriesQuery, resources, metricsQuery string) string {
	return "seriesQuery: " + quoted(seriesQuery) + "\n" + resources + "metricsQuery: " + quoted(metricsQuery) + "\n"
}

func TestCheckQueriesInferred(t *testing.T) {
	cases := []struct {
		name   string
		series prom.Series
		req    Request
	}{
		{"pods", series("MessageMetrics", "k8s_namespace=a", "k8s_pod_name=p"), Request{SeriesName: "MessageMetrics"}},
		{"counter", series("http_requests_total", "namespace=a", "pod=p"), Request{SeriesName: "http_requests_total"}},
		{"service", series("prom_fake_value", "namespace=a", "service=s"), Request{SeriesName: "prom_fake_value", Resource: "services"}},
		{"group resource", series("backlog", "namespace=a", "statefulset=db"), Request{SeriesName: "backlog", Resource: "statefulsets", Group: "apps", ResourceLabel: "statefulset"}},
		{"recording rule", series("namespace:http_requests:rate5m", "namespace=a", "pod=p"), Request{SeriesName: "namespace:http_requests:rate5m"}},
		{"external", series("jobs_waiting", "namespace=a"), Request{SeriesName: "jobs_waiting", External: true}},
		{"external, not namespaced", series("jobs_waiting", "queue=q"), Request{SeriesName: "jobs_waiting", External: true, NotNamespaced: true}},
		{"multi-line query", series("x", "namespace=a", "pod=p"), Request{SeriesName: "x", MetricsQuery: "sum by (<<.GroupBy>>) (\n  rate(<<.Series>>{<<.LabelMatchers>>}[5m])\n)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Propose([]prom.Series{c.series}, c.req)
			if err != nil {
				t.Fatal(err)
			}
			rule, err := ParseRule(p.List(), p.YAML)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckQueries(rule, p.List()); err != nil {
				t.Fatalf("%v\n%s", err, p.YAML)
			}
			q, sample, err := RenderMetricsQuery(rule, p.List())
			if err != nil || strings.Contains(q, "<<") || sample == "" {
				t.Fatalf("rendered %q for %q: %v", q, sample, err)
			}
		})
	}
}

func TestCheckQueriesRefuses(t *testing.T) {
	const seriesQ = `{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}`
	const sumQ = "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
	cases := []struct {
		name string
		list List
		rule string
		// want are parts of the error, in order; the last is the caret line.
		want []string
	}{
		{"unclosed parenthesis", Custom, ruleYAML(seriesQ, interlokResources, "sum(<<.Series>>{<<.LabelMatchers>>}"), []string{
			"metricsQuery is not valid PromQL",
			"for pod sample-1, sample-2 in namespace default",
			"1:78: parse error: unclosed left parenthesis",
			`    sum(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"sample-1|sample-2"}` + "\n" +
				"    " + strings.Repeat(" ", 77) + "^"}},
		{"error on the second line", Custom, ruleYAML(seriesQ, interlokResources, "sum by (<<.GroupBy>>) (\n\trate(<<.Series>>{<<.LabelMatchers>>}[5m] offset)\n)"), []string{
			"metricsQuery is not valid PromQL", `unexpected ")" in offset`,
			"\n    \trate(MessageMetrics{", "offset)\n    \t" + strings.Repeat(" ", len(`rate(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"sample-1|sample-2"}[5m] offset`)) + "^"}},
		{"unterminated series selector", Custom, ruleYAML(`{__name__="x",a!=""`, interlokResources, sumQ), []string{
			"seriesQuery is not valid PromQL", "1:20: parse error: unexpected end of input inside braces",
			"    {__name__=\"x\",a!=\"\"\n" + "    " + strings.Repeat(" ", 19) + "^"}},
		{"series query is an expression", Custom, ruleYAML(`sum(x)`, interlokResources, sumQ), []string{
			"seriesQuery is not valid PromQL", `1:4: parse error: unexpected "("`, "    sum(x)\n       ^"}},
		{"series query matches everything", Custom, ruleYAML(`{job=~".*"}`, interlokResources, sumQ), []string{
			"seriesQuery is not valid PromQL", "at least one matcher that does not match the empty string"}},
		{"template syntax", Custom, ruleYAML(seriesQ, interlokResources, "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>"), []string{
			"metricsQuery is not a valid template", "metrics-query:1: bad character"}},
		{"template field", Custom, ruleYAML(seriesQ, interlokResources, "sum(<<.Sereis>>{<<.LabelMatchers>>})"), []string{
			"metricsQuery is not a valid template", "can't evaluate field Sereis"}},
		{"label name PromQL cannot write", Custom, ruleYAML(`{__name__="x"}`, "resources: {overrides: {k8s-namespace: {resource: namespace}, pod: {resource: pod}}}\n", sumQ), []string{
			"metricsQuery is not valid PromQL", `sum(x{k8s-namespace="default"`}},
		{"external, not namespaced, comma before extra matchers", External, ruleYAML(`{__name__="jobs"}`, "resources: {namespaced: false}\n", "sum(<<.Series>>{<<.LabelMatchers>>,queue='a'})"), []string{
			"metricsQuery is not valid PromQL", "for an external metric with no selector", `unexpected ","`, "    sum(jobs{,queue='a'})\n             ^"}},
		{"both queries", Custom, ruleYAML(`{__name__="x"`, interlokResources, "sum(<<.Series>>{<<.LabelMatchers>>}"), []string{
			"seriesQuery is not valid PromQL", "metricsQuery is not valid PromQL", "sum(series_name{"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rule, err := ParseRule(c.list, c.rule)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckQueries(rule, c.list)
			var qe *QueryError
			if err == nil || !errors.As(err, &qe) {
				t.Fatalf("err %v, want a *QueryError", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error\n%s\nlacks %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

// TestProposeRefusesBadQuery: add-rule's --metrics-query is checked before
// anything is written.
func TestProposeRefusesBadQuery(t *testing.T) {
	_, err := Propose([]prom.Series{series("MessageMetrics", "k8s_namespace=a", "k8s_pod_name=p")},
		Request{SeriesName: "MessageMetrics", MetricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>"})
	var qe *QueryError
	rendered := `sum(MessageMetrics{k8s_namespace="default",k8s_pod_name=~"sample-1|sample-2"`
	if !errors.As(err, &qe) || qe.Query != "metricsQuery" || qe.Rendered != rendered || qe.Pos != len(rendered) {
		t.Fatalf("err %v, want the metricsQuery refused at its end", err)
	}
	if !strings.Contains(err.Error(), "1:77: parse error: unexpected end of input inside braces") {
		t.Fatal(err)
	}
}

func TestParseRule(t *testing.T) {
	if _, err := ParseRule(Custom, "seriesQuery: x\nbogus: 1\n"); err == nil || !strings.Contains(err.Error(), "rejected by the adapter") {
		t.Fatalf("err %v", err)
	}
	r, err := ParseRule(External, ruleYAML(`{__name__="x"}`, "resources: {namespaced: false}\n", "sum(x)"))
	if err != nil || r.SeriesQuery != `{__name__="x"}` || r.Resources.Namespaced == nil || *r.Resources.Namespaced {
		t.Fatalf("%+v, %v", r, err)
	}
	var _ config.DiscoveryRule = r
}

func TestSelects(t *testing.T) {
	lbls := map[string]string{"k8s_namespace": "default", "k8s_pod_name": "p-1"}
	for _, c := range []struct {
		query string
		want  bool
	}{
		{`{__name__="MessageMetrics",k8s_namespace!="",k8s_pod_name!=""}`, true},
		{`MessageMetrics{k8s_namespace!=""}`, true},
		{`{__name__=~"^container_.*",namespace!=""}`, false},
		{`{__name__="MessageMetrics",namespace!=""}`, false},
		{`{__name__="MessageMetrics",k8s_pod_name=~"p-.*"}`, true},
		{`{__name__="MessageMetrics"`, false},
	} {
		if got := Selects(c.query, "MessageMetrics", lbls); got != c.want {
			t.Errorf("Selects(%s) = %v, want %v", c.query, got, c.want)
		}
	}
}
