package doctor

import "fmt"

// Check is one registered finding code. Every code is documented in
// docs/checks.md and covered by a test.
type Check struct {
	Code     string
	Severity Severity
	Title    string
}

// Checks is the registry of every finding doctor can report: MS1xx plumbing,
// MS2xx discovery, MS3xx query and value, MS4xx the HPA.
var Checks = []Check{
	{"MS101", SeverityError, "custom metrics APIService is missing"},
	{"MS102", SeverityError, "metrics APIService is not available"},
	{"MS103", SeverityError, "API server times out reaching the adapter"},
	{"MS104", SeverityError, "aggregation layer rejects the adapter (TLS or authentication)"},
	{"MS105", SeverityError, "external metrics APIService is missing"},
	{"MS106", SeverityWarning, "metrics APIService is served by another backend"},
	{"MS107", SeverityError, "prometheus-adapter not found"},
	{"MS108", SeverityError, "prometheus-adapter has no Ready pod"},
	{"MS109", SeverityError, "adapter config is invalid"},
	{"MS110", SeverityError, "Prometheus unreachable at the adapter's --prometheus-url"},
	{"MS111", SeverityError, "Prometheus API not found at the URL (path prefix?)"},
	{"MS112", SeverityError, "Prometheus refuses the request (authentication)"},
	{"MS113", SeverityError, "adapter version too old for this Kubernetes"},
	{"MS114", SeverityError, "HPA controller is forbidden to read the metrics API"},
	{"MS115", SeverityError, "adapter ServiceAccount cannot list a resource its rules map"},
	{"MS116", SeverityWarning, "metrics APIService no walked metric needs is not available"},
	{"MS117", SeverityWarning, "adapter config cannot be read"},
	{"MS118", SeverityError, "Prometheus answers its API with an HTTP error"},
	{"MS119", SeverityWarning, "adapter ServiceAccount cannot list a resource its rules map, which no HPA reads"},

	{"MS201", SeverityError, "no adapter rule selects the metric's series"},
	{"MS202", SeverityError, "series labels are not mapped to the resource"},
	{"MS203", SeverityError, "rule filters the series out"},
	{"MS204", SeverityWarning, "rule maps no resources"},
	{"MS205", SeverityError, "series have no namespace label"},
	{"MS206", SeverityError, "series carry exported_* labels (scraped without honor_labels)"},
	{"MS207", SeverityError, "HPA names the Prometheus series, not the API metric"},
	{"MS208", SeverityError, "Prometheus has no series for the metric"},
	{"MS209", SeverityWarning, "series are older than the adapter's discovery window"},
	{"MS210", SeverityWarning, "adapter rules discover very many metrics"},
	{"MS211", SeverityError, "metric is served for another resource than the HPA asks"},
	{"MS212", SeverityError, "running adapter has not loaded the current config"},
	{"MS213", SeverityWarning, "two rules produce the same metric for the same resource"},
	{"MS214", SeverityError, "a rule's seriesQuery fails in Prometheus"},

	{"MS301", SeverityError, "metricsQuery aggregates the resource labels away"},
	{"MS302", SeverityError, "metric has no value for the scale target's objects"},
	{"MS303", SeverityError, "metricsQuery fails in Prometheus"},
	{"MS304", SeverityWarning, "metric has values for only some target pods"},
	{"MS305", SeverityWarning, "several series per object are summed"},
	{"MS306", SeverityInfo, "value is a milli-quantity"},
	{"MS307", SeverityError, "external metric has no value for the HPA's namespace and selector"},

	{"MS401", SeverityError, "HPA cannot compute replicas"},
	{"MS402", SeverityError, "HPA scale target not found"},
	{"MS403", SeverityWarning, "scale target has no Ready pods"},
	{"MS404", SeverityError, "metrics API does not serve the metric"},
	{"MS405", SeverityInfo, "HPA is held at maxReplicas"},
	{"MS406", SeverityError, "Object metric's described object does not exist"},
	{"MS407", SeverityError, "metrics API the HPA reads is unavailable"},
	{"MS408", SeverityWarning, "HPA condition predates the metrics being served"},
	{"MS409", SeverityError, "External metric's selector is invalid"},
}

var checkByCode = func() map[string]Check {
	m := map[string]Check{}
	for _, c := range Checks {
		if _, dup := m[c.Code]; dup {
			panic("duplicate check code " + c.Code)
		}
		m[c.Code] = c
	}
	return m
}()

// newFinding builds a finding for a registered code, with the code's
// severity and title.
func newFinding(code, object, format string, args ...any) Finding {
	c, ok := checkByCode[code]
	if !ok {
		panic("unregistered check code " + code)
	}
	return Finding{Code: code, Severity: c.Severity, Title: c.Title, Object: object, Message: fmt.Sprintf(format, args...)}
}

func (f Finding) withEvidence(e ...string) Finding {
	f.Evidence = append(f.Evidence, e...)
	return f
}

func (f Finding) withFix(fix Fix) Finding {
	f.Fix = &fix
	return f
}
