package rules

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	pmodel "github.com/prometheus/common/model"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
)

func series(name string, labels ...string) prom.Series {
	s := prom.Series{Name: name, Labels: pmodel.LabelSet{}}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		s.Labels[pmodel.LabelName(k)] = pmodel.LabelValue(v)
	}
	return s
}

func TestPropose(t *testing.T) {
	cases := []struct {
		name     string
		series   prom.Series
		req      Request
		wantNS   string
		wantRes  string
		wantAPI  string
		counter  bool
		wantCmd  string
		wantErr  string
		ambiguos bool
	}{
		{"namespace/pod", series("queue_depth", "namespace=a", "pod=p"), Request{SeriesName: "queue_depth", Resource: "pods"},
			"namespace", "pod", "queue_depth", false, "kubectl metricscale add-rule queue_depth --namespace-label namespace --pod-label pod", "", false},
		{"k8s_namespace/k8s_pod_name (Interlok)", series("MessageMetrics", "job=interlok", "k8s_namespace=a", "k8s_pod_name=p"), Request{SeriesName: "MessageMetrics", Resource: "pods"},
			"k8s_namespace", "k8s_pod_name", "MessageMetrics", false, "kubectl metricscale add-rule MessageMetrics --namespace-label k8s_namespace --pod-label k8s_pod_name", "", false},
		{"exported_* win over the target's labels", series("MessageMetrics", "exported_namespace=a", "exported_pod=p", "namespace=monitoring", "pod=pushgateway"), Request{SeriesName: "MessageMetrics", Resource: "pods"},
			"exported_namespace", "exported_pod", "MessageMetrics", false, "kubectl metricscale add-rule MessageMetrics --namespace-label exported_namespace --pod-label exported_pod", "", false},
		{"kubernetes_namespace/kubernetes_pod_name", series("jobs", "kubernetes_namespace=a", "kubernetes_pod_name=p"), Request{SeriesName: "jobs", Resource: "pods"},
			"kubernetes_namespace", "kubernetes_pod_name", "jobs", false, "", "", false},
		{"counter: rate, name without _total", series("http_requests_total", "namespace=a", "pod=p"), Request{SeriesName: "http_requests_total", Resource: "pods"},
			"namespace", "pod", "http_requests", true, "kubectl metricscale add-rule http_requests_total --namespace-label namespace --pod-label pod", "", false},
		{"service", series("prom_fake_value", "namespace=a", "service=s", "pod=p"), Request{SeriesName: "prom_fake_value", Resource: "services"},
			"namespace", "service", "prom_fake_value", false, "kubectl metricscale add-rule prom_fake_value --namespace-label namespace --resource service=service", "", false},
		{"flags win", series("x", "namespace=a", "pod=p", "k8s_pod_name=q"), Request{SeriesName: "x", Resource: "pods", ResourceLabel: "k8s_pod_name", As: "y"},
			"namespace", "k8s_pod_name", "y", false, "kubectl metricscale add-rule x --api-name y --namespace-label namespace --pod-label k8s_pod_name", "", false},
		{"two pod labels: ambiguous", series("x", "namespace=a", "pod=p", "k8s_pod_name=q"), Request{SeriesName: "x", Resource: "pods"},
			"", "", "", false, "", "pod, k8s_pod_name; choose one with --pod-label", true},
		{"no pod label", series("x", "namespace=a", "instance=i"), Request{SeriesName: "x", Resource: "pods"},
			"", "", "", false, "", "no label of the series names a pod", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Propose([]prom.Series{c.series}, c.req)
			if c.wantErr != "" {
				var amb *Ambiguous
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || errors.As(err, &amb) != c.ambiguos {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.NamespaceLabel != c.wantNS || p.ResourceLabel != c.wantRes || p.APIName != c.wantAPI || p.Counter != c.counter {
				t.Fatalf("got %+v", p)
			}
			if c.wantCmd != "" && p.Command != c.wantCmd {
				t.Fatalf("command %q, want %q", p.Command, c.wantCmd)
			}
			// The proposal is a rule the adapter accepts.
			if _, err := Insert("rules: []\n", Custom, p.YAML); err != nil {
				t.Fatalf("%v\n%s", err, p.YAML)
			}
			if c.counter && !strings.Contains(p.YAML, "rate(") {
				t.Fatal(p.YAML)
			}
		})
	}
}

// parseProposal checks that a proposal is a rule the adapter accepts, as
// add-rule writes it, and returns the rule as the adapter reads it.
func parseProposal(t *testing.T, p Proposal) config.DiscoveryRule {
	t.Helper()
	out, err := Insert("rules: []\n", p.List(), p.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.YAML)
	}
	cfg, err := config.FromYAML([]byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	list := cfg.Rules
	if p.External {
		list = cfg.ExternalRules
		if len(cfg.Rules) != 0 {
			t.Fatalf("an external rule went into rules:\n%s", out)
		}
	}
	if len(list) != 1 {
		t.Fatalf("%d rules in %s:\n%s", len(list), p.List(), out)
	}
	return list[0]
}

func overrides(r config.DiscoveryRule) map[string]string {
	out := map[string]string{}
	for l, gr := range r.Resources.Overrides {
		out[l] = gr.Resource
	}
	return out
}

func TestProposeResource(t *testing.T) {
	cases := []struct {
		name     string
		series   []prom.Series
		req      Request
		wantRes  string // the resource served
		wantLab  string
		wantAlt  []string
		wantCmd  string
		wantErr  []string
		ambiguos bool
	}{
		{name: "inferred: pods first", series: []prom.Series{series("x", "namespace=a", "pod=p", "service=s", "deployment=d")}, req: Request{SeriesName: "x"},
			wantRes: "pods", wantLab: "pod", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --pod-label pod"},
		{name: "inferred: services without a pod label", series: []prom.Series{series("x", "namespace=a", "service=s", "deployment=d")}, req: Request{SeriesName: "x"},
			wantRes: "services", wantLab: "service", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --resource service=service"},
		{name: "inferred: deployments last", series: []prom.Series{series("x", "namespace=a", "k8s_deployment_name=d", "instance=i")}, req: Request{SeriesName: "x"},
			wantRes: "deployments", wantLab: "k8s_deployment_name", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --resource k8s_deployment_name=deployment"},
		{name: "inferred from any series", series: []prom.Series{series("x", "namespace=a", "service=s"), series("x", "namespace=a", "pod=p")}, req: Request{SeriesName: "x"},
			wantRes: "pods", wantLab: "pod"},
		{name: "inferred: exported_service wins", series: []prom.Series{series("x", "exported_namespace=a", "exported_service=s", "service=pushgateway", "namespace=monitoring")}, req: Request{SeriesName: "x"},
			wantRes: "services", wantLab: "exported_service", wantAlt: []string{"service"},
			wantCmd: "kubectl metricscale add-rule x --namespace-label exported_namespace --resource exported_service=service"},
		{name: "inferred: two service labels are ambiguous", series: []prom.Series{series("x", "namespace=a", "service=s", "k8s_service_name=t")}, req: Request{SeriesName: "x"},
			wantErr: []string{"service, k8s_service_name", "--resource LABEL=service"}, ambiguos: true},
		{name: "a pod label given, no resource: pods", series: []prom.Series{series("x", "namespace=a", "service=s", "podname=p")}, req: Request{SeriesName: "x", ResourceLabel: "podname"},
			wantRes: "pods", wantLab: "podname", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --pod-label podname"},
		{name: "nothing names a resource", series: []prom.Series{series("x", "namespace=a", "job=j"), series("x", "namespace=b", "instance=i")}, req: Request{SeriesName: "x"},
			wantErr: []string{"looked for exported_pod, pod, k8s_pod_name, kubernetes_pod_name, pod_name, exported_service, service, k8s_service_name, kubernetes_service_name, exported_deployment, deployment, k8s_deployment_name",
				"the series have instance, job, namespace", "--pod-label"}},
		{name: "--resource services", series: []prom.Series{series("x", "namespace=a", "pod=p", "service=s")}, req: Request{SeriesName: "x", Resource: "services"},
			wantRes: "services", wantLab: "service", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --resource service=service"},
		{name: "--resource svc=service", series: []prom.Series{series("x", "namespace=a", "pod=p", "svc=s")}, req: Request{SeriesName: "x", Resource: "services", ResourceLabel: "svc"},
			wantRes: "services", wantLab: "svc", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --resource svc=service"},
		{name: "--resource deployments", series: []prom.Series{series("x", "namespace=a", "pod=p", "deployment=d")}, req: Request{SeriesName: "x", Resource: "deployments"},
			wantRes: "deployments", wantLab: "deployment", wantCmd: "kubectl metricscale add-rule x --namespace-label namespace --resource deployment=deployment"},
		{name: "--resource services, no service label", series: []prom.Series{series("x", "namespace=a", "pod=p")}, req: Request{SeriesName: "x", Resource: "services"},
			wantErr: []string{"no label of the series names a service (looked for exported_service, service, k8s_service_name, kubernetes_service_name;", "the series have namespace, pod", "--resource LABEL=service"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Propose(c.series, c.req)
			if c.wantErr != nil {
				wantError(t, err, c.wantErr, c.ambiguos)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Resource != c.wantRes || p.ResourceLabel != c.wantLab || p.External || p.List() != Custom || strings.Join(p.Alternatives, ",") != strings.Join(c.wantAlt, ",") {
				t.Fatalf("got %+v", p)
			}
			if c.wantCmd != "" && p.Command != c.wantCmd {
				t.Fatalf("command %q, want %q", p.Command, c.wantCmd)
			}
			r := parseProposal(t, p)
			want := map[string]string{p.NamespaceLabel: "namespace", c.wantLab: strings.TrimSuffix(c.wantRes, "s")}
			if got := overrides(r); !reflect.DeepEqual(got, want) {
				t.Fatalf("overrides %v, want %v", got, want)
			}
			for _, l := range []string{p.NamespaceLabel, c.wantLab} {
				if !strings.Contains(r.SeriesQuery, l+`!=""`) {
					t.Fatalf("seriesQuery %s does not require %s", r.SeriesQuery, l)
				}
			}
		})
	}
}

// TestProposeNoResourceNamesFlags: with no resource asked for and none
// inferred, the error looks for pod, service and deployment labels, so it
// should point at --resource as well as --pod-label.
func TestProposeNoResourceNamesFlags(t *testing.T) {
	_, err := Propose([]prom.Series{series("x", "namespace=a", "svc_name=s")}, Request{SeriesName: "x"})
	if err == nil || !strings.Contains(err.Error(), "--resource") {
		t.Fatalf("err %v, want it to name --resource", err)
	}
}

// A pod label alone is not a rule an HPA can use: the adapter answers a
// request for pods of a namespace only from series naming it.
func TestProposeNeedsANamespaceLabel(t *testing.T) {
	s := []prom.Series{series("newbie_backlog", "team_namespace=newbie-x", "team_pod=p-1")}
	_, err := Propose(s, Request{SeriesName: "newbie_backlog", Resource: "pods", Singular: "pod", ResourceLabel: "team_pod"})
	if err == nil || !strings.Contains(err.Error(), "no label of the series names a namespace") ||
		!strings.Contains(err.Error(), "the series have team_namespace, team_pod") || !strings.Contains(err.Error(), "--namespace-label") {
		t.Fatalf("err %v", err)
	}
	p, err := Propose(s, Request{SeriesName: "newbie_backlog", Resource: "pods", Singular: "pod", ResourceLabel: "team_pod", NamespaceLabel: "team_namespace"})
	if err != nil || p.NamespaceLabel != "team_namespace" {
		t.Fatalf("with --namespace-label: %+v, %v", p, err)
	}
	// Nodes belong to no namespace: no namespace label is needed.
	n := []prom.Series{series("node_load", "node=n-1")}
	if _, err := Propose(n, Request{SeriesName: "node_load", Resource: "nodes", Singular: "node", ResourceLabel: "node", ClusterScoped: true}); err != nil {
		t.Fatal(err)
	}
}

func TestProposeExternal(t *testing.T) {
	cases := []struct {
		name     string
		series   prom.Series
		req      Request
		wantNS   string
		wantCmd  string
		wantYAML string // a line of the YAML
		wantErr  []string
		ambiguos bool
	}{
		{name: "namespaced by its namespace label", series: series("jobs_waiting", "namespace=a", "queue=q"), req: Request{SeriesName: "jobs_waiting", External: true},
			wantNS: "namespace", wantCmd: "kubectl metricscale add-rule jobs_waiting --external --namespace-label namespace", wantYAML: "    namespace: {resource: namespace}\n"},
		{name: "object labels and flags are ignored", series: series("jobs_waiting", "k8s_namespace=a", "pod=p"), req: Request{SeriesName: "jobs_waiting", External: true, Resource: "pods", ResourceLabel: "pod"},
			wantNS: "k8s_namespace", wantCmd: "kubectl metricscale add-rule jobs_waiting --external --namespace-label k8s_namespace", wantYAML: "    k8s_namespace: {resource: namespace}\n"},
		{name: "--namespace-label", series: series("jobs_waiting", "tenant=a"), req: Request{SeriesName: "jobs_waiting", External: true, NamespaceLabel: "tenant"},
			wantNS: "tenant", wantCmd: "kubectl metricscale add-rule jobs_waiting --external --namespace-label tenant", wantYAML: "    tenant: {resource: namespace}\n"},
		{name: "--namespaced=false", series: series("jobs_waiting", "namespace=a", "queue=q"), req: Request{SeriesName: "jobs_waiting", External: true, NotNamespaced: true},
			wantNS: "", wantCmd: "kubectl metricscale add-rule jobs_waiting --external --namespaced=false", wantYAML: "resources:\n  namespaced: false\n"},
		{name: "--namespaced=false wins over --namespace-label", series: series("jobs_waiting", "namespace=a"), req: Request{SeriesName: "jobs_waiting", External: true, NotNamespaced: true, NamespaceLabel: "namespace"},
			wantNS: "", wantCmd: "kubectl metricscale add-rule jobs_waiting --external --namespaced=false", wantYAML: "resources:\n  namespaced: false\n"},
		{name: "no namespace label", series: series("jobs_waiting", "queue=q", "job=j"), req: Request{SeriesName: "jobs_waiting", External: true},
			wantErr: []string{"no label of the series names a namespace", "the series have job, queue", "--namespace-label", "--namespaced=false"}},
		{name: "two namespace labels", series: series("jobs_waiting", "namespace=a", "k8s_namespace=b"), req: Request{SeriesName: "jobs_waiting", External: true},
			wantErr: []string{"namespace, k8s_namespace; choose one with --namespace-label"}, ambiguos: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Propose([]prom.Series{c.series}, c.req)
			if c.wantErr != nil {
				wantError(t, err, c.wantErr, c.ambiguos)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !p.External || p.List() != External || p.Resource != "" || p.ResourceLabel != "" || p.NamespaceLabel != c.wantNS {
				t.Fatalf("got %+v", p)
			}
			if p.Command != c.wantCmd {
				t.Fatalf("command %q, want %q", p.Command, c.wantCmd)
			}
			if !strings.Contains(p.YAML, c.wantYAML) {
				t.Fatalf("YAML lacks %q:\n%s", c.wantYAML, p.YAML)
			}
			r := parseProposal(t, p)
			if c.wantNS == "" {
				if r.Resources.Namespaced == nil || *r.Resources.Namespaced || len(r.Resources.Overrides) != 0 {
					t.Fatalf("resources %+v, want namespaced: false", r.Resources)
				}
			} else if got := overrides(r); !reflect.DeepEqual(got, map[string]string{c.wantNS: "namespace"}) {
				t.Fatalf("overrides %v", got)
			}
		})
	}
}

// shellWords splits a command line as a POSIX shell does, for the quoting
// add-rule's commands use: single quotes and backslash escapes.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	var w strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case quoted:
			if ch == '\'' {
				quoted = false
			} else {
				w.WriteByte(ch)
			}
		case ch == '\'':
			quoted, in = true, true
		case ch == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			in = true
		case ch == ' ':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		case strings.IndexByte("\"$`;&|<>(){}*?#~", ch) >= 0 && !in:
			t.Fatalf("unquoted shell metacharacter %q starts a word in %s", ch, s)
		case strings.IndexByte("\"$`;&|<>", ch) >= 0:
			t.Fatalf("unquoted shell metacharacter %q in %s", ch, s)
		default:
			w.WriteByte(ch)
			in = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %s", s)
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

// flagValue returns the word after flag.
func flagValue(words []string, flag string) (string, bool) {
	for i := 0; i+1 < len(words); i++ {
		if words[i] == flag {
			return words[i+1], true
		}
	}
	return "", false
}

func TestProposeQueries(t *testing.T) {
	const std = "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
	cases := []struct {
		name                      string
		seriesQuery, metricsQuery string
		external                  bool
	}{
		{"plain", `{__name__="queue_depth",job="worker"}`, "max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)", false},
		{"series query only", `{__name__=~"queue_depth|queue_size"}`, "", false},
		{"metrics query only", "", "avg(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)", false},
		{"single quotes", `{__name__="queue_depth",job='worker'}`, `sum(<<.Series>>{<<.LabelMatchers>>,job='it\'s'}) by (<<.GroupBy>>)`, false},
		{"colon space", `{__name__="queue_depth",msg="a: b"}`, `sum(<<.Series>>{<<.LabelMatchers>>,msg="a: b"}) by (<<.GroupBy>>)`, false},
		{"single quote and colon space", `{__name__="queue_depth",msg='a: b'}`, `sum(<<.Series>>{<<.LabelMatchers>>,msg='it\'s: b'}) by (<<.GroupBy>>)`, false},
		{"hash", `{__name__="queue_depth",path="/a #b"}`, `sum(<<.Series>>{<<.LabelMatchers>>,path="/a #b"}) by (<<.GroupBy>>)`, false},
		{"starts like YAML", `{__name__="queue_depth"}`, `{__name__="queue_depth"}`, false},
		{"dash and backslash", `{__name__="queue_depth",path=~"\\d+"}`, `- sum(<<.Series>>{<<.LabelMatchers>>,path=~"\\d+"}) by (<<.GroupBy>>)`, false},
		{"shell characters", `{__name__="queue_depth",cmd="$(rm -rf /); echo \"x\" | y && z"}`, "sum(<<.Series>>{<<.LabelMatchers>>,cmd=\"`id` > /tmp/x\"}) by (<<.GroupBy>>)", false},
		{"external with single quote", `{__name__="jobs_waiting",queue='a'}`, `sum(<<.Series>>{<<.LabelMatchers>>,queue='a: b'})`, true},
		{"trailing space", `{__name__="queue_depth"} `, std + " ", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "queue_depth"
			if c.external {
				name = "jobs_waiting"
			}
			req := Request{SeriesName: name, SeriesQuery: c.seriesQuery, MetricsQuery: c.metricsQuery, External: c.external}
			p, err := Propose([]prom.Series{series(name, "namespace=a", "pod=p")}, req)
			if err != nil {
				t.Fatal(err)
			}
			r := parseProposal(t, p)
			if c.seriesQuery != "" && r.SeriesQuery != c.seriesQuery {
				t.Errorf("seriesQuery %q, want %q\n%s", r.SeriesQuery, c.seriesQuery, p.YAML)
			}
			if c.metricsQuery != "" && r.MetricsQuery != c.metricsQuery {
				t.Errorf("metricsQuery %q, want %q\n%s", r.MetricsQuery, c.metricsQuery, p.YAML)
			}
			if c.seriesQuery == "" && r.SeriesQuery != `{__name__="queue_depth",namespace!="",pod!=""}` {
				t.Errorf("generated seriesQuery %q", r.SeriesQuery)
			}
			if c.metricsQuery == "" && r.MetricsQuery != std {
				t.Errorf("generated metricsQuery %q", r.MetricsQuery)
			}
			// The command gives the same queries back to a shell.
			words := shellWords(t, p.Command)
			for _, f := range []struct{ flag, want string }{{"--series-query", c.seriesQuery}, {"--metrics-query", c.metricsQuery}} {
				got, ok := flagValue(words, f.flag)
				if ok != (f.want != "") || got != f.want {
					t.Errorf("%s %q (given: %v), want %q\n%s", f.flag, got, ok, f.want, p.Command)
				}
			}
			if words[0] != "kubectl" || words[3] != name {
				t.Errorf("command %s", p.Command)
			}
		})
	}
}

// TestProposeMultiLineQuery: a query read from a file keeps its newlines.
func TestProposeMultiLineQuery(t *testing.T) {
	q := "sum by (<<.GroupBy>>) (\n  rate(<<.Series>>{<<.LabelMatchers>>}[5m])\n)"
	p, err := Propose([]prom.Series{series("x", "namespace=a", "pod=p")}, Request{SeriesName: "x", MetricsQuery: q, SeriesQuery: `{__name__="x"}`})
	if err != nil {
		t.Fatal(err)
	}
	if r := parseProposal(t, p); r.MetricsQuery != q {
		t.Fatalf("metricsQuery %q, want %q", r.MetricsQuery, q)
	}
}

func TestProposeCounter(t *testing.T) {
	cases := []struct {
		name       string
		req        Request
		wantAPI    string
		counter    bool
		wantCmd    string
		wantMQuery string
	}{
		{"counter: rate, name without _total", Request{SeriesName: "http_requests_total"}, "http_requests", true,
			"kubectl metricscale add-rule http_requests_total --namespace-label namespace --pod-label pod", "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"},
		{"--api-name keeps the given name", Request{SeriesName: "http_requests_total", As: "http_requests_total"}, "http_requests_total", true,
			"kubectl metricscale add-rule http_requests_total --api-name http_requests_total --namespace-label namespace --pod-label pod", "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"},
		{"--api-name another name", Request{SeriesName: "http_requests_total", As: "rps"}, "rps", true,
			"kubectl metricscale add-rule http_requests_total --api-name rps --namespace-label namespace --pod-label pod", "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)"},
		{"--metrics-query replaces the rate", Request{SeriesName: "http_requests_total", MetricsQuery: "sum(increase(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)"}, "http_requests", true,
			"", "sum(increase(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)"},
		{"gauge: no rate", Request{SeriesName: "queue_depth"}, "queue_depth", false,
			"kubectl metricscale add-rule queue_depth --namespace-label namespace --pod-label pod", "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"},
		{"recording rule name", Request{SeriesName: "namespace:http_requests:rate5m"}, "namespace:http_requests:rate5m", false,
			"kubectl metricscale add-rule namespace:http_requests:rate5m --namespace-label namespace --pod-label pod", "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"},
		{"_total inside the name", Request{SeriesName: "a_total_b"}, "a_total_b", false, "", "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Propose([]prom.Series{series(c.req.SeriesName, "namespace=a", "pod=p")}, c.req)
			if err != nil {
				t.Fatal(err)
			}
			if p.APIName != c.wantAPI || p.Counter != c.counter {
				t.Fatalf("got %+v", p)
			}
			if c.wantCmd != "" && p.Command != c.wantCmd {
				t.Fatalf("command %q, want %q", p.Command, c.wantCmd)
			}
			r := parseProposal(t, p)
			if r.MetricsQuery != c.wantMQuery || r.Name.As != c.wantAPI {
				t.Fatalf("metricsQuery %q, as %q", r.MetricsQuery, r.Name.As)
			}
			// name.matches selects exactly the series.
			re, err := regexp.Compile(r.Name.Matches)
			if err != nil {
				t.Fatal(err)
			}
			if !re.MatchString(c.req.SeriesName) || re.MatchString(c.req.SeriesName+"x") || re.MatchString("x"+c.req.SeriesName) {
				t.Fatalf("name.matches %q", r.Name.Matches)
			}
		})
	}
}

// The singular in the add-rule command is the RESTMapper's (from the
// request), or the inferred resources' own: never made by hand.
func TestProposeSingular(t *testing.T) {
	cases := []struct {
		req  Request
		want string
	}{
		{Request{SeriesName: "hits", Resource: "ingresses", Group: "networking.k8s.io", Singular: "ingress", ResourceLabel: "ingress"}, "--resource ingress=ingress"},
		{Request{SeriesName: "hits", Resource: "endpoints", Singular: "endpoints", ResourceLabel: "ingress"}, "--resource ingress=endpoints"},
		{Request{SeriesName: "hits", Resource: "services", ResourceLabel: "ingress"}, "--resource ingress=service"},
	}
	for _, c := range cases {
		p, err := Propose([]prom.Series{series("hits", "namespace=a", "ingress=web")}, c.req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p.Command, c.want) {
			t.Errorf("command %q, want %q", p.Command, c.want)
		}
	}
}

// TestProposeGroupResource: a resource of an API group is mapped with its
// group, and the adapter's parser accepts it.
func TestProposeGroupResource(t *testing.T) {
	p, err := Propose([]prom.Series{series("backlog", "namespace=a", "statefulset=db")}, Request{SeriesName: "backlog", Resource: "statefulsets", Group: "apps", Singular: "statefulset", ResourceLabel: "statefulset"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.YAML, "statefulset: {group: apps, resource: statefulset}") || p.Command != "kubectl metricscale add-rule backlog --namespace-label namespace --resource statefulset=statefulset" {
		t.Fatalf("%s\n%s", p.Command, p.YAML)
	}
	if _, err := Insert("rules: []\n", Custom, p.YAML); err != nil {
		t.Fatal(err)
	}
}

// wantError fails unless err contains every part of want and is (or is
// not) an *Ambiguous.
func wantError(t *testing.T, err error, want []string, ambiguous bool) {
	t.Helper()
	var amb *Ambiguous
	if err == nil || errors.As(err, &amb) != ambiguous {
		t.Fatalf("err %v, want %q (ambiguous: %v)", err, want, ambiguous)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("err %v, want %q", err, w)
		}
	}
}
