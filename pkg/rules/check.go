package rules

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	prom "sigs.k8s.io/prometheus-adapter/pkg/client"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"
)

// QueryError is a query of a discovery rule that Prometheus would refuse.
type QueryError struct {
	// Query is "seriesQuery" or "metricsQuery".
	Query string
	// Rendered is the PromQL the parser was given: the seriesQuery as
	// written, or the metricsQuery rendered as the adapter renders it for
	// Sample. Empty when the metricsQuery template itself is broken.
	Rendered string
	// Sample says for what request the metricsQuery was rendered.
	Sample string
	// Pos and End are the byte offsets in Rendered of the part the parser
	// rejects (Pos == End == -1 when there is none).
	Pos, End int
	// Err is the parser's or the template's error.
	Err error
}

func (e *QueryError) Error() string {
	var b strings.Builder
	switch {
	case e.Rendered == "" && e.Query == "metricsQuery":
		fmt.Fprintf(&b, "metricsQuery is not a valid template: %v", e.Err)
		return b.String()
	case e.Sample != "":
		fmt.Fprintf(&b, "%s is not valid PromQL (rendered as the adapter does for %s): %v", e.Query, e.Sample, e.Err)
	default:
		fmt.Fprintf(&b, "%s is not valid PromQL: %v", e.Query, e.Err)
	}
	if e.Pos >= 0 {
		b.WriteString("\n")
		b.WriteString(pointAt(e.Rendered, e.Pos, e.End, "    "))
	}
	return b.String()
}

func (e *QueryError) Unwrap() error { return e.Err }

// pointAt shows the line of text that holds byte offset pos, and under it a
// caret at pos (with ~ up to end on the same line), each line after indent.
func pointAt(text string, pos, end int, indent string) string {
	pos = max(0, min(pos, len(text)))
	start := strings.LastIndexByte(text[:pos], '\n') + 1
	stop := len(text)
	if i := strings.IndexByte(text[pos:], '\n'); i >= 0 {
		stop = pos + i
	}
	line := text[start:stop]
	var pad strings.Builder
	for _, r := range text[start:pos] {
		if r == '\t' {
			pad.WriteRune('\t')
		} else {
			pad.WriteRune(' ')
		}
	}
	mark := "^"
	if hi := min(end, stop); hi > pos+1 {
		mark += strings.Repeat("~", len([]rune(text[pos+1:hi])))
	}
	return indent + line + "\n" + indent + pad.String() + mark
}

// CheckQueries parses the queries of rule, a rule of list, with Prometheus's
// own PromQL parser: the seriesQuery as the series selector the adapter
// sends to /api/v1/series, and the metricsQuery as the expression the
// adapter sends to /api/v1/query after rendering its template (with the
// adapter's own code) for a sample request. It returns nil, a *QueryError,
// or both queries' errors joined.
func CheckQueries(rule config.DiscoveryRule, list List) error {
	var errs []error
	matchers, qerr := parseSeriesQuery(rule.SeriesQuery)
	if qerr != nil {
		errs = append(errs, qerr)
	}
	rendered, sample, err := renderQuery(rule, list, seriesName(matchers))
	switch {
	case err != nil:
		errs = append(errs, &QueryError{Query: "metricsQuery", Pos: -1, End: -1, Err: err})
	default:
		if _, err := parser.ParseExpr(rendered); err != nil {
			errs = append(errs, parseError("metricsQuery", rendered, sample, err))
		}
	}
	return errors.Join(errs...)
}

// CheckSeriesQuery parses a seriesQuery as the series selector the adapter
// sends to /api/v1/series; nil or a *QueryError.
func CheckSeriesQuery(q string) error {
	if _, err := parseSeriesQuery(q); err != nil {
		return err
	}
	return nil
}

func parseSeriesQuery(q string) ([]*labels.Matcher, *QueryError) {
	matchers, err := parser.ParseMetricSelector(q)
	switch {
	case err != nil:
		return nil, parseError("seriesQuery", q, "", err)
	case matchesEmpty(matchers):
		// Prometheus's series API refuses such a match[].
		return matchers, &QueryError{Query: "seriesQuery", Rendered: q, Pos: -1, End: -1,
			Err: errors.New("a series selector must contain at least one matcher that does not match the empty string")}
	}
	return matchers, nil
}

// RenderMetricsQuery renders the metricsQuery of rule, a rule of list, as
// the adapter does for a sample request: a custom rule for two objects of
// its resource in namespace default, an external rule for namespace default
// (when it is namespaced) with no metric selector. It also returns that
// sample's description.
func RenderMetricsQuery(rule config.DiscoveryRule, list List) (query, sample string, err error) {
	matchers, _ := parser.ParseMetricSelector(rule.SeriesQuery)
	return renderQuery(rule, list, seriesName(matchers))
}

func parseError(query, text, sample string, err error) *QueryError {
	e := &QueryError{Query: query, Rendered: text, Sample: sample, Pos: -1, End: -1, Err: err}
	var perrs parser.ParseErrors
	var perr *parser.ParseErr
	switch {
	case errors.As(err, &perrs) && len(perrs) > 0:
		perr = &perrs[0]
	case errors.As(err, &perr):
	}
	if perr != nil {
		e.Pos, e.End = int(perr.PositionRange.Start), int(perr.PositionRange.End)
		if e.End < e.Pos {
			e.End = e.Pos
		}
	}
	return e
}

// matchesEmpty reports whether every matcher matches the empty string.
func matchesEmpty(matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if m != nil && !m.Matches("") {
			return false
		}
	}
	return true
}

// sampleSeries is the series name a metricsQuery is rendered with when the
// seriesQuery names none.
const sampleSeries = "series_name"

// seriesName is the metric name an equality matcher of the seriesQuery
// selects, or sampleSeries.
func seriesName(matchers []*labels.Matcher) string {
	for _, m := range matchers {
		// The parser may return nil matchers with its error.
		if m != nil && m.Name == pmodel.MetricNameLabel && m.Type == labels.MatchEqual && m.Value != "" {
			return m.Value
		}
	}
	return sampleSeries
}

// Sample objects a custom metricsQuery is rendered for.
var (
	sampleNamespace = "default"
	sampleObjects   = []string{"sample-1", "sample-2"}
)

// renderQuery renders the metricsQuery with the adapter's naming package.
func renderQuery(rule config.DiscoveryRule, list List, series string) (string, string, error) {
	conv := newSampleConverter(rule.Resources)
	if list == External {
		namespaced := rule.Resources.Namespaced == nil || *rule.Resources.Namespaced
		q, err := naming.NewExternalMetricsQuery(rule.MetricsQuery, conv, namespaced)
		if err != nil {
			return "", "", err
		}
		ns, sample := "", "an external metric with no selector"
		if namespaced && conv.namespace != "" {
			ns, sample = sampleNamespace, "an external metric of namespace "+sampleNamespace+" with no selector"
		}
		sel, err := q.BuildExternal(series, ns, "", []string{}, k8slabels.Everything())
		return string(sel), sample, err
	}
	q, err := naming.NewMetricsQuery(rule.MetricsQuery, conv)
	if err != nil {
		return "", "", err
	}
	ns, sample := "", fmt.Sprintf("%s %s", conv.resource.Resource, strings.Join(sampleObjects, ", "))
	if conv.namespace != "" {
		ns, sample = sampleNamespace, sample+" in namespace "+sampleNamespace
	}
	sel, err := q.Build(series, conv.resource, ns, nil, k8slabels.Everything(), sampleObjects...)
	return string(sel), sample, err
}

// sampleConverter is the adapter's ResourceConverter reduced to what
// rendering a query needs, without a RESTMapper: the label of the namespace
// and of one resource, from the rule's overrides or template.
type sampleConverter struct {
	namespace     pmodel.LabelName
	resource      schema.GroupResource
	resourceLabel pmodel.LabelName
}

func newSampleConverter(m config.ResourceMapping) *sampleConverter {
	c := &sampleConverter{}
	names := make([]string, 0, len(m.Overrides))
	for l := range m.Overrides {
		names = append(names, l)
	}
	sort.Strings(names)
	for _, l := range names {
		gr := m.Overrides[l]
		switch {
		case gr.Group == "" && (gr.Resource == "namespace" || gr.Resource == "namespaces"):
			c.namespace = pmodel.LabelName(l)
		case c.resourceLabel == "":
			c.resource, c.resourceLabel = schema.GroupResource{Group: gr.Group, Resource: gr.Resource}, pmodel.LabelName(l)
		}
	}
	// The adapter fills in the template with the singular resource.
	fromTemplate := func(singular string) pmodel.LabelName {
		if m.Template == "" {
			return ""
		}
		t, err := template.New("resource-label").Delims("<<", ">>").Parse(m.Template)
		if err != nil {
			return ""
		}
		var b bytes.Buffer
		if t.Execute(&b, schema.GroupResource{Resource: singular}) != nil {
			return ""
		}
		return pmodel.LabelName(b.String())
	}
	if c.namespace == "" {
		c.namespace = fromTemplate("namespace")
	}
	if c.resourceLabel == "" {
		c.resource, c.resourceLabel = schema.GroupResource{Resource: "pods"}, fromTemplate("pod")
		if c.resourceLabel == "" {
			c.resourceLabel = "pod"
		}
	}
	return c
}

func (c *sampleConverter) ResourcesForSeries(prom.Series) ([]schema.GroupResource, bool) {
	return []schema.GroupResource{c.resource}, c.namespace != ""
}

func (c *sampleConverter) LabelForResource(gr schema.GroupResource) (pmodel.LabelName, error) {
	switch {
	case gr == naming.NsGroupResource && c.namespace != "":
		return c.namespace, nil
	case gr == c.resource:
		return c.resourceLabel, nil
	}
	return "", fmt.Errorf("no label for resource %s", gr)
}

// Selects reports whether seriesQuery, as the adapter sends it to the
// series API, selects the series name{labels}: every matcher holds (a label
// the series lacks is the empty string, as in Prometheus).
func Selects(seriesQuery, name string, lbls map[string]string) bool {
	matchers, err := parseSeriesQuery(seriesQuery)
	if err != nil {
		return false
	}
	for _, m := range matchers {
		v := lbls[m.Name]
		if m.Name == labels.MetricName {
			v = name
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
}
