package addrule

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/configstore"
	"github.com/metricscale/kubectl-metricscale/pkg/grant"
	"github.com/metricscale/kubectl-metricscale/pkg/kube"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/similar"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// Env holds the clients add-rule works with.
type Env = kube.Clients

// Options is what the user asked for.
type Options struct {
	Request Request
	// Chain says where the adapter and Prometheus are.
	Chain     chain.Options
	DryRun    DryRun
	NoRestart bool
	// Grant creates the ClusterRole and binding that let the adapter's
	// ServiceAccount list what the rule maps, where it may not.
	Grant   bool
	Timeout time.Duration
	// HPA, when set, names a Deployment to autoscale on the new metric
	// with Target as the target value.
	HPA    string
	Target string
	// Namespace is where the HPA goes (kubectl's -n).
	Namespace string
	Now       func() time.Time
}

// Produced is one metric the new rule makes the adapter serve.
type Produced struct {
	Metric   string `json:"metric"`
	Resource string `json:"resource,omitempty"`
	// Kind and APIVersion name the resource's objects, as an HPA's
	// describedObject does.
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	SeriesName string `json:"seriesName"`
	External   bool   `json:"external,omitempty"`
}

// Sample is a value the new rule's metricsQuery returns today.
type Sample struct {
	Namespace string `json:"namespace,omitempty"`
	Resource  string `json:"resource,omitempty"`
	Object    string `json:"object,omitempty"`
	Value     string `json:"value"`
	Query     string `json:"query"`
}

// Plan is the rule to add and what it will do, before anything is written.
type Plan struct {
	Adapter    *adapter.Adapter       `json:"-"`
	AdapterRef string                 `json:"adapter"`
	ConfigMap  string                 `json:"configMap"`
	Key        string                 `json:"key"`
	Prometheus *prometheus.Connection `json:"prometheus"`
	Series     int                    `json:"series"`
	Proposal   rules.Proposal         `json:"-"`
	Rule       string                 `json:"rule"`
	List       string                 `json:"list"`
	Counter    bool                   `json:"counter,omitempty"`
	Produces   []Produced             `json:"produces"`
	Samples    []Sample               `json:"samples,omitempty"`
	// AlreadyServedBy names the rule that already serves every metric the
	// new one would ("" when none does): the add is a no-op.
	AlreadyServedBy string `json:"alreadyServedBy,omitempty"`
	// ServedNote says how the rule that serves it already differs.
	ServedNote string `json:"servedNote,omitempty"`
	// HelmRelease is set when Helm manages the ConfigMap.
	HelmRelease string `json:"helmRelease,omitempty"`
	HelmValues  string `json:"helmValues,omitempty"`
	// Diff is the change to the config file as read.
	Diff string `json:"diff"`
	// AdapterCannotList are the resources the rule maps that the adapter's
	// ServiceAccount may not list: it would fail every request of the
	// metric ("unable to list matching resources") until Grant gives them.
	AdapterCannotList []string     `json:"adapterCannotList,omitempty"`
	Grant             *grant.Grant `json:"-"`

	store      *configstore.Store
	rule       config.DiscoveryRule
	newRule    *simulate.Rule
	relistWait time.Duration
}

// Prepare finds the adapter and Prometheus, reads the live series, infers
// the rule and checks it; it writes nothing.
func Prepare(ctx context.Context, env Env, o Options) (*Plan, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	p, ch, err := load(ctx, env, o, now())
	if err != nil {
		return nil, err
	}
	series, err := p.seriesOf(ctx, o.Request, now())
	if err != nil {
		return nil, err
	}
	if err := p.propose(series, o.Request, ch.Config.Raw); err != nil {
		return nil, err
	}
	// What the adapter serves today (the chain's relist), and what the new
	// rule alone would.
	before := ch.Relist(ctx, env.Mapper, now(), nil)
	if err := p.simulateRule(ctx, env, now()); err != nil {
		return nil, err
	}
	if err := p.checkExisting(before, ch.Config.Parsed); err != nil {
		return nil, err
	}
	if err := p.checkAdapterRights(ctx, env); err != nil {
		return nil, err
	}
	p.Samples = samples(ctx, p.Prometheus, p.newRule, p.Proposal, series, p.Produces)
	if p.HelmRelease != "" {
		p.HelmValues = helmValues(p.Proposal)
	}
	return p, nil
}

// load reads the chain up to its Prometheus and starts the plan on the
// adapter's ConfigMap. The relist of the current config waits until the
// rule is inferred: a metric without series stops add-rule before it.
func load(ctx context.Context, env Env, o Options, now time.Time) (*Plan, *chain.Chain, error) {
	co := o.Chain
	co.External = o.Request.External
	ch := chain.Load(ctx, &env, co, chain.StagePrometheus, now)
	if a := ch.Adapter; a != nil && a.ConfigMap == "" {
		return nil, nil, fmt.Errorf("the adapter %s/%s reads --config=%s, which does not come from a ConfigMap volume: add the rule to that file by hand", a.Namespace, a.Name, a.ConfigPath)
	}
	if err := ch.Err(chain.StagePrometheus); err != nil {
		return nil, nil, err
	}
	a := ch.Adapter
	p := &Plan{Adapter: a, AdapterRef: ch.AdapterRef(), ConfigMap: a.Namespace + "/" + a.ConfigMap, Key: a.ConfigKey,
		store: storeOf(env, a), relistWait: a.RelistInterval, Prometheus: ch.Prometheus}
	if r, ok := configstore.Helm(ch.Config.ConfigMap); ok {
		p.HelmRelease = r
	}
	return p, ch, nil
}

// seriesOf are the series of the request's name that Prometheus has within
// the adapter's --metrics-max-age, by the request's series query.
func (p *Plan) seriesOf(ctx context.Context, req rules.Request, now time.Time) ([]prom.Series, error) {
	sel := prom.Selector(req.SeriesQuery)
	if req.SeriesQuery == "" {
		sel = prom.Selector(fmt.Sprintf("{__name__=%q}", req.SeriesName))
	}
	all, err := p.Prometheus.Series(ctx, now.Add(-p.Adapter.MaxAge), sel)
	if err != nil {
		return nil, fmt.Errorf("asking Prometheus for the series %s: %w", sel, err)
	}
	var series []prom.Series
	for _, s := range all {
		if s.Name == req.SeriesName {
			series = append(series, s)
		}
	}
	if len(series) == 0 {
		return nil, noSeries(ctx, p.Prometheus, req.SeriesName, sel, p.Adapter.MaxAge, now)
	}
	p.Series = len(series)
	return series, nil
}

// propose infers the rule from the series and puts it into the config's
// text, keeping the diff.
func (p *Plan) propose(series []prom.Series, req rules.Request, raw string) error {
	prop, err := rules.Propose(series, req)
	if err != nil {
		return err
	}
	p.Proposal, p.Rule, p.List, p.Counter = prop, prop.YAML, string(prop.List()), prop.Counter
	if err := yaml.Unmarshal([]byte(prop.YAML), &p.rule); err != nil {
		return fmt.Errorf("the rule does not parse: %w\n%s", err, prop.YAML)
	}
	edited, err := rules.Insert(raw, prop.List(), prop.YAML)
	if err != nil {
		return err
	}
	p.Diff = Diff(raw, edited, p.ConfigMap+" "+p.Key)
	return nil
}

// simulateRule runs the adapter's discovery with the new rule alone and
// keeps the metrics it would serve.
func (p *Plan) simulateRule(ctx context.Context, env Env, now time.Time) error {
	external := p.Proposal.External
	alone := &config.MetricsDiscoveryConfig{}
	if external {
		alone.ExternalRules = []config.DiscoveryRule{p.rule}
	} else {
		alone.Rules = []config.DiscoveryRule{p.rule}
	}
	after := simulate.Run(ctx, p.Prometheus, alone, env.Mapper, p.Adapter.MaxAge, now, simulate.KeepAll)
	if len(after.Rules) != 1 || after.Rules[0].BuildError != nil {
		return fmt.Errorf("the adapter would reject the rule: %v", after.Rules[0].BuildError)
	}
	p.newRule = after.Rules[0]
	if after.Rules[0].QueryError != nil {
		return fmt.Errorf("Prometheus rejects the rule's seriesQuery %s: %v", p.newRule.Namer.Selector(), after.Rules[0].QueryError)
	}
	for _, m := range after.Metrics {
		if m.Resource == (schema.GroupResource{Resource: "namespaces"}) && !external {
			// Every namespaced series also yields a namespace-level metric;
			// it is not what the rule is for.
			continue
		}
		pr := Produced{Metric: m.Name, Resource: m.Resource.String(), SeriesName: m.SeriesName, External: external}
		if !external {
			if gvk, err := env.Mapper.KindFor(m.Resource.WithVersion("")); err == nil {
				pr.Kind, pr.APIVersion = gvk.Kind, gvk.GroupVersion().String()
			}
		}
		p.Produces = append(p.Produces, pr)
	}
	if len(p.Produces) == 0 {
		return fmt.Errorf("the rule selects %d series, but the adapter would serve no metric from them (%s): check --series-query and the labels", len(after.Rules[0].Selected), describeKept(after.Rules[0]))
	}
	return nil
}

// checkAdapterRights asks whether the adapter's ServiceAccount may list the
// resources the rule serves metrics for, and keeps the grant it needs.
func (p *Plan) checkAdapterRights(ctx context.Context, env Env) error {
	var resources []schema.GroupResource
	for _, m := range p.Produces {
		if !m.External {
			resources = append(resources, schema.ParseGroupResource(m.Resource))
		}
	}
	sa := p.Adapter.ServiceAccount()
	missing, err := grant.Missing(ctx, env.Client, sa, resources)
	if err != nil {
		return fmt.Errorf("checking what the adapter's ServiceAccount %s may read: %w", sa, err)
	}
	if len(missing) == 0 {
		return nil
	}
	p.Grant = &grant.Grant{ServiceAccount: sa, Resources: missing}
	for _, gr := range missing {
		p.AdapterCannotList = append(p.AdapterCannotList, gr.String())
	}
	return nil
}

// checkExisting makes the add a no-op when the config already serves the
// metric the same way, and refuses a rule whose metric another rule
// already serves for the same resource (the adapter would keep only one).
func (p *Plan) checkExisting(before *simulate.Discovery, current *config.MetricsDiscoveryConfig) error {
	if i := sameRule(listOf(current, p.Proposal.External), p.rule); i >= 0 {
		p.AlreadyServedBy = (&simulate.Rule{Index: i, External: p.Proposal.External}).Label()
		return nil
	}
	var servedBy []string
	for _, m := range p.Produces {
		gr := schema.ParseGroupResource(m.Resource)
		if m.External {
			gr = schema.GroupResource{}
		}
		old := before.Served(gr, m.Metric)
		if old == nil {
			continue
		}
		if old.SeriesName == m.SeriesName && !m.External && p.Proposal.ResourceLabel != "" {
			if label, err := old.Rule.Namer.LabelForResource(gr); err == nil && string(label) != p.Proposal.ResourceLabel {
				// Same series, other objects: e.g. the scrape target's
				// service instead of exported_service.
				return fmt.Errorf("%s already serves %s for %s from the same series, but takes the object from label %s, not %s: the two rules would name different objects\n  fix %s in ConfigMap %s (kubectl metricscale doctor prints the corrected rule), or serve this one under another name with --api-name",
					old.Rule.Label(), m.Metric, m.Resource, label, p.Proposal.ResourceLabel, old.Rule.Label(), p.ConfigMap)
			}
		}
		if old.SeriesName == m.SeriesName {
			// The same metric from the same series: it is served already,
			// whatever the query (a rate window, say) of that rule.
			servedBy = append(servedBy, old.Rule.Label())
			if !sameQuery(old.Rule.Rule.MetricsQuery, p.rule.MetricsQuery) {
				p.ServedNote = fmt.Sprintf("%s computes it with %q", old.Rule.Label(), old.Rule.Rule.MetricsQuery)
			}
			continue
		}
		what := m.Metric
		if m.Resource != "" {
			what += " for " + m.Resource
		}
		return fmt.Errorf("%s already serves %s, from another series (%s); a second rule for the same metric would shadow one of them (the adapter keeps only the later)\n  serve this one under another name with --api-name, or edit %s in ConfigMap %s",
			old.Rule.Label(), what, old.SeriesName, old.Rule.Label(), p.ConfigMap)
	}
	if len(servedBy) == len(p.Produces) {
		sort.Strings(servedBy)
		p.AlreadyServedBy = strings.Join(slices.Compact(servedBy), ", ")
	}
	return nil
}

func listOf(c *config.MetricsDiscoveryConfig, external bool) []config.DiscoveryRule {
	if external {
		return c.ExternalRules
	}
	return c.Rules
}

// sameRule is the index of the rule in rules that is r but for whitespace
// in its queries, or -1.
func sameRule(rules []config.DiscoveryRule, r config.DiscoveryRule) int {
	want := normalize(r)
	for i, x := range rules {
		if reflect.DeepEqual(normalize(x), want) {
			return i
		}
	}
	return -1
}

func normalize(r config.DiscoveryRule) config.DiscoveryRule {
	r.SeriesQuery = squeeze(r.SeriesQuery)
	r.MetricsQuery = squeeze(r.MetricsQuery)
	if len(r.SeriesFilters) == 0 {
		r.SeriesFilters = nil
	}
	if len(r.Resources.Overrides) == 0 {
		r.Resources.Overrides = nil
	}
	return r
}

func sameQuery(a, b string) bool { return squeeze(a) == squeeze(b) }

// squeeze drops the whitespace of a query outside its quoted strings, so
// that two spellings of one query compare equal and job="a b" stays
// different from job="ab".
func squeeze(q string) string {
	var b strings.Builder
	var quote rune
	escaped := false
	for _, c := range q {
		switch {
		case quote != 0:
			b.WriteRune(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == quote:
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
			b.WriteRune(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func describeKept(r *simulate.Rule) string {
	if len(r.Kept) == 0 && len(r.Selected) > 0 {
		return "name.matches or seriesFilters drop them all"
	}
	return "no label of the series is mapped to a resource"
}

// noSeries explains an empty series list: nothing recent, or a near name.
func noSeries(ctx context.Context, c *prometheus.Connection, name string, sel prom.Selector, window time.Duration, now time.Time) error {
	msg := fmt.Sprintf("Prometheus has no series %s in the adapter's window (the last %s)", sel, window)
	if older, err := c.Series(ctx, now.Add(-time.Hour), sel); err == nil && len(older) > 0 {
		return fmt.Errorf("%s, though it had some in the last hour: the metric is not being exported or pushed now; fix the exporter first, then run add-rule again", msg)
	}
	if names, err := c.MetricNames(ctx); err == nil {
		if near := similar.Nearest(name, names, 3); len(near) > 0 {
			return fmt.Errorf("%s; did you mean %s?", msg, strings.Join(near, ", "))
		}
	}
	return fmt.Errorf("%s: check the metric's name and that Prometheus scrapes it (kubectl metricscale doctor shows the chain)", msg)
}

// maxSamples bounds the objects (or namespaces) a plan samples.
const maxSamples = 5

// samples runs the new rule's metricsQuery for a few of the objects its
// series name, as the adapter will.
func samples(ctx context.Context, c *prometheus.Connection, r *simulate.Rule, p rules.Proposal, series []prom.Series, produced []Produced) []Sample {
	// run sends a rendered query; a query that cannot be rendered or run
	// gives no sample (the plan still shows the rule).
	run := func(q prom.Selector, err error) pmodel.Vector {
		if err != nil {
			return nil
		}
		res, err := c.Query(ctx, string(q))
		if err != nil {
			return nil
		}
		return prometheus.Vector(res)
	}
	if p.External {
		return externalSamples(run, r, p, series)
	}
	gr := schema.GroupResource{Resource: p.Resource}
	if len(produced) > 0 {
		gr = schema.ParseGroupResource(produced[0].Resource)
	}
	var out []Sample
	order, byNS := objectsByNamespace(p, series)
	for _, ns := range order {
		q, err := r.Namer.QueryForSeries(series[0].Name, gr, ns, labels.Everything(), byNS[ns]...)
		for _, v := range run(q, err) {
			out = append(out, Sample{Namespace: ns, Resource: gr.String(), Object: string(v.Metric[pmodel.LabelName(p.ResourceLabel)]), Value: v.Value.String(), Query: string(q)})
			if len(out) == maxSamples {
				return out
			}
		}
	}
	return out
}

// externalSamples are an external rule's values in a few namespaces.
func externalSamples(run func(prom.Selector, error) pmodel.Vector, r *simulate.Rule, p rules.Proposal, series []prom.Series) []Sample {
	var out []Sample
	namespaces := map[string]bool{}
	for _, s := range series {
		ns := string(s.Labels[pmodel.LabelName(p.NamespaceLabel)])
		if namespaces[ns] || len(namespaces) == maxSamples {
			continue
		}
		namespaces[ns] = true
		q, err := r.Namer.QueryForExternalSeries(s.Name, ns, labels.Everything())
		for _, v := range run(q, err) {
			out = append(out, Sample{Namespace: ns, Value: v.Value.String(), Query: string(q)})
		}
	}
	return out
}

// objectsByNamespace are up to maxSamples objects per namespace that the
// series name, with the namespaces in the order the series give them.
func objectsByNamespace(p rules.Proposal, series []prom.Series) ([]string, map[string][]string) {
	byNS := map[string][]string{}
	var order []string
	for _, s := range series {
		ns := string(s.Labels[pmodel.LabelName(p.NamespaceLabel)])
		obj := string(s.Labels[pmodel.LabelName(p.ResourceLabel)])
		if obj == "" {
			continue
		}
		if _, ok := byNS[ns]; !ok {
			order = append(order, ns)
		}
		if len(byNS[ns]) < maxSamples && !slices.Contains(byNS[ns], obj) {
			byNS[ns] = append(byNS[ns], obj)
		}
	}
	return order, byNS
}

// helmValues is the rule as the prometheus-adapter chart's values take it.
func helmValues(p rules.Proposal) string {
	key := strings.TrimPrefix(helmPath(p), "rules.")
	var b strings.Builder
	b.WriteString("rules:\n  " + key + ":\n")
	for _, l := range strings.Split(strings.TrimRight(rules.ListItem(p.YAML), "\n"), "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
