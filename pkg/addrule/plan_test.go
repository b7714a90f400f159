package addrule

import (
	"context"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate/simulatetest"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fakeSource answers series queries from a fixed set of series.
type fakeSource = simulatetest.Source

var series = simulatetest.Series

func parseConfig(t *testing.T, raw string) *config.MetricsDiscoveryConfig {
	t.Helper()
	cfg, err := config.FromYAML([]byte(raw))
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return cfg
}

// newPlan builds the parts of a Plan that Prepare derives from the live
// series: the proposal, the parsed rule and what the rule alone produces,
// without the namespace-level metrics.
func newPlan(t *testing.T, src fakeSource, req rules.Request) *Plan {
	t.Helper()
	var own []prom.Series
	for _, s := range src {
		if s.Name == req.SeriesName {
			own = append(own, s)
		}
	}
	prop, err := rules.Propose(own, req)
	if err != nil {
		t.Fatal(err)
	}
	p := &Plan{Proposal: prop, Rule: prop.YAML, List: string(prop.List()), ConfigMap: "monitoring/adapter-config", Key: "config.yaml"}
	if err := yaml.Unmarshal([]byte(prop.YAML), &p.rule); err != nil {
		t.Fatal(err)
	}
	alone := &config.MetricsDiscoveryConfig{}
	if prop.External {
		alone.ExternalRules = []config.DiscoveryRule{p.rule}
	} else {
		alone.Rules = []config.DiscoveryRule{p.rule}
	}
	after := simulate.Run(context.Background(), src, alone, kubetest.DiscoveryMapper(), time.Hour, now, simulate.KeepAll)
	if len(after.Rules) != 1 || after.Rules[0].BuildError != nil {
		t.Fatalf("the rule does not build: %+v", after.Rules)
	}
	for _, m := range after.Metrics {
		if m.Resource == (schema.GroupResource{Resource: "namespaces"}) && !prop.External {
			continue
		}
		p.Produces = append(p.Produces, Produced{Metric: m.Name, Resource: m.Resource.String(), SeriesName: m.SeriesName, External: prop.External})
	}
	if len(p.Produces) == 0 {
		t.Fatalf("the rule produces nothing:\n%s", prop.YAML)
	}
	return p
}

// rule renders a custom or external rule of the config.
func rule(seriesQuery, resources, as, metricsQuery string) string {
	return "- seriesQuery: '" + seriesQuery + "'\n" +
		"  resources: " + resources + "\n" +
		"  name: {matches: \"^(.*)$\", as: \"" + as + "\"}\n" +
		"  metricsQuery: '" + metricsQuery + "'\n"
}

const (
	podRes = "{overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}"
	nsRes  = "{overrides: {namespace: {resource: namespace}}}"
	svcRes = "{overrides: {namespace: {resource: namespace}, service: {resource: service}}}"
	sumQ   = "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
)

func TestCheckExisting(t *testing.T) {
	src := fakeSource{
		series("queue_depth{namespace=a,pod=p1}"),
		series("queue_depth{namespace=a,pod=p2}"),
		series("queue_size{namespace=a,pod=p1,service=s}"),
		series("queue_by_ns{namespace=a}"),
		series("jobs_waiting{namespace=a}"),
		series("jobs_pending{namespace=a}"),
		series("unrelated{namespace=a,pod=p1}"),
		series("kong_latency{namespace=kong,service=kong-proxy,exported_namespace=a,exported_service=echo}"),
	}
	podReq := rules.Request{SeriesName: "queue_depth"}
	extReq := rules.Request{SeriesName: "jobs_waiting", External: true}
	unrelated := rule(`{__name__="unrelated"}`, podRes, "unrelated", sumQ)
	cases := []struct {
		name    string
		req     rules.Request
		config  func(p *Plan) string
		served  string
		note    string
		wantErr []string
		// before are resource/metric pairs the config serves already
		// (resource "" for external), to show the case is what it says.
		before []string
	}{
		{name: "empty config", req: podReq, config: func(*Plan) string { return "rules: []\n" }},
		{name: "the same rule", req: podReq, config: func(p *Plan) string {
			out, err := rules.Insert("rules:\n"+unrelated, p.Proposal.List(), p.Proposal.YAML)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}, served: "rules[1]"},
		{name: "the same rule but for whitespace in its queries", req: podReq, config: func(*Plan) string {
			return "rules:\n" + "- seriesQuery: '{ __name__=\"queue_depth\", namespace!=\"\", pod!=\"\" }'\n" +
				"  resources: " + podRes + "\n  name: {matches: ^queue_depth$, as: queue_depth}\n" +
				"  metricsQuery: 'sum( <<.Series>>{<<.LabelMatchers>>} )  by (<<.GroupBy>>)'\n"
		}, served: "rules[0]"},
		{name: "same metric from the same series, another metricsQuery", req: podReq, config: func(*Plan) string {
			return "rules:\n" + unrelated + rule(`{__name__="queue_depth"}`, podRes, "queue_depth", "max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)")
		}, served: "rules[1]", note: `rules[1] computes it with "max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"`},
		{name: "same metric from the same series, another seriesQuery", req: podReq, config: func(*Plan) string {
			return "rules:\n" + rule(`{__name__=~"queue_.*"}`, podRes, "${1}", sumQ)
		}, served: "rules[0]"},
		{name: "same metric and resource from another series", req: podReq, config: func(*Plan) string {
			return "rules:\n" + unrelated + rule(`{__name__="queue_size"}`, podRes, "queue_depth", sumQ)
		}, wantErr: []string{"rules[1] already serves queue_depth for pods, from another series (queue_size)", "--api-name", "ConfigMap monitoring/adapter-config"},
			before: []string{"pods/queue_depth"}},
		{name: "same series, but the object from the scrape target's label (exported_* ignored)", req: rules.Request{SeriesName: "kong_latency", Resource: "services"}, config: func(*Plan) string {
			return "rules:\n" + rule(`{__name__="kong_latency"}`, svcRes, "kong_latency", sumQ)
		}, wantErr: []string{"rules[0] already serves kong_latency for services from the same series, but takes the object from label service, not exported_service", "doctor prints the corrected rule"},
			before: []string{"services/kong_latency"}},
		{name: "same metric from another series, for another resource", req: podReq, config: func(*Plan) string {
			return "rules:\n" + rule(`{__name__="queue_size"}`, svcRes, "queue_depth", sumQ)
		}, before: []string{"services/queue_depth"}},
		{name: "a namespace-level metric of another series is no collision", req: podReq, config: func(*Plan) string {
			return "rules:\n" + rule(`{__name__="queue_by_ns"}`, nsRes, "queue_depth", sumQ)
		}, before: []string{"namespaces/queue_depth"}},
		{name: "a custom rule for the series of an external one", req: extReq, config: func(*Plan) string {
			return "rules:\n" + rule(`{__name__="jobs_waiting"}`, nsRes, "jobs_waiting", sumQ)
		}, before: []string{"namespaces/jobs_waiting"}},
		{name: "external: the same rule", req: extReq, config: func(p *Plan) string {
			out, err := rules.Insert("rules: []\nexternalRules:\n"+rule(`{__name__="jobs_pending"}`, nsRes, "jobs_pending", sumQ), p.Proposal.List(), p.Proposal.YAML)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}, served: "externalRules[1]"},
		{name: "external: same metric from the same series, another metricsQuery", req: extReq, config: func(*Plan) string {
			return "externalRules:\n" + rule(`{__name__="jobs_waiting"}`, nsRes, "jobs_waiting", "max(<<.Series>>{<<.LabelMatchers>>})")
		}, served: "externalRules[0]", note: `externalRules[0] computes it with "max(<<.Series>>{<<.LabelMatchers>>})"`},
		{name: "external: same metric from another series", req: extReq, config: func(*Plan) string {
			return "externalRules:\n" + rule(`{__name__="jobs_pending"}`, nsRes, "jobs_waiting", sumQ)
		}, wantErr: []string{"externalRules[0] already serves jobs_waiting, from another series (jobs_pending)", "--api-name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPlan(t, src, c.req)
			for _, m := range p.Produces {
				if m.Resource == "namespaces" {
					t.Fatalf("Produces holds a namespace-level metric: %+v", p.Produces)
				}
			}
			current := parseConfig(t, c.config(p))
			before := simulate.Run(context.Background(), src, current, kubetest.DiscoveryMapper(), time.Hour, now, simulate.KeepAll)
			for _, b := range c.before {
				res, metric, _ := strings.Cut(b, "/")
				if before.Served(schema.ParseGroupResource(res), metric) == nil {
					t.Fatalf("the config does not serve %s", b)
				}
			}
			err := p.checkExisting(before, current)
			if c.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want %q", c.wantErr)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("err %v, want %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.AlreadyServedBy != c.served || p.ServedNote != c.note {
				t.Fatalf("AlreadyServedBy %q, ServedNote %q; want %q, %q", p.AlreadyServedBy, p.ServedNote, c.served, c.note)
			}
		})
	}
}

// TestCheckExistingPartly: a rule served for one of the resources it
// produces, but not the other, is not a no-op.
func TestCheckExistingPartly(t *testing.T) {
	src := fakeSource{series("queue_depth{namespace=a,pod=p,service=s}")}
	p := newPlan(t, src, rules.Request{SeriesName: "queue_depth"})
	p.Produces = append(p.Produces, Produced{Metric: "queue_depth", Resource: "services", SeriesName: "queue_depth"})
	current := parseConfig(t, "rules:\n"+rule(`{__name__="queue_depth"}`, podRes, "queue_depth", "max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"))
	before := simulate.Run(context.Background(), src, current, kubetest.DiscoveryMapper(), time.Hour, now, simulate.KeepAll)
	if err := p.checkExisting(before, current); err != nil {
		t.Fatal(err)
	}
	if p.AlreadyServedBy != "" {
		t.Fatalf("AlreadyServedBy %q, want none: services are not served yet", p.AlreadyServedBy)
	}
}

func TestNormalizeAndHasRule(t *testing.T) {
	src := fakeSource{series("queue_depth{namespace=a,pod=p}")}
	p := newPlan(t, src, rules.Request{SeriesName: "queue_depth"})
	spaced := "- seriesQuery: '{__name__=\"queue_depth\",\n    namespace!=\"\", pod!=\"\"}'\n" +
		"  resources: {overrides: {pod: {resource: pod}, namespace: {resource: namespace}}}\n" +
		"  seriesFilters: []\n" +
		"  name: {matches: ^queue_depth$, as: queue_depth}\n" +
		"  metricsQuery: |\n    sum(<<.Series>>{<<.LabelMatchers>>})\n      by (<<.GroupBy>>)\n"
	cases := []struct {
		name, current string
		want          bool
	}{
		{"the same rule", "rules:\n" + rules.ListItem(p.Proposal.YAML), true},
		{"the same rule but for whitespace", "rules:\n" + spaced, true},
		{"among others", "rules:\n" + rule(`{__name__="x"}`, podRes, "x", sumQ) + spaced, true},
		{"another metricsQuery", "rules:\n" + strings.Replace(spaced, "sum(", "max(", 1), false},
		{"another name", "rules:\n" + strings.Replace(spaced, "as: queue_depth", "as: depth", 1), false},
		{"another resource label", "rules:\n" + strings.Replace(spaced, "pod: {resource: pod}", "pod_name: {resource: pod}", 1), false},
		{"in externalRules", "externalRules:\n" + spaced, false},
		{"empty", "", false},
		{"not a config", "rules: {custom: []}\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := hasRule(c.current, p); got != c.want {
				t.Fatalf("hasRule = %v, want %v\n%s", got, c.want, c.current)
			}
		})
	}
}

func TestSqueeze(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"sum( x ) by ( pod )", "sum(x) by (pod)", true},
		{"sum(x{job=\"a b\"})", "sum(x{job=\"ab\"})", false},
		{"x{job='a b'}", "x{ job = 'a b' }", true},
		{`x{job="a \" b"}`, `x{job="a \" b"}`, true},
		{`x{job="a \" b"}`, `x{job="a \"b"}`, false},
	}
	for _, c := range cases {
		if got := sameQuery(c.a, c.b); got != c.same {
			t.Errorf("sameQuery(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
