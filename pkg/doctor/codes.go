package doctor

import "fmt"

// Code identifies a finding: "MS201". A code means one thing, has one
// severity and one message template, and is documented in docs/checks.md.
type Code string

// The finding codes: MS1xx plumbing, MS2xx discovery, MS3xx query and value,
// MS4xx the HPA.
const (
	CodeCustomAPIServiceMissing   Code = "MS101"
	CodeAPIServiceUnavailable     Code = "MS102"
	CodeAPIServiceTimeout         Code = "MS103"
	CodeAPIServiceRejected        Code = "MS104"
	CodeExternalAPIServiceMissing Code = "MS105"
	CodeAPIServiceOtherBackend    Code = "MS106"
	CodeAdapterNotFound           Code = "MS107"
	CodeAdapterNotReady           Code = "MS108"
	CodeAdapterConfigInvalid      Code = "MS109"
	CodePrometheusUnreachable     Code = "MS110"
	CodePrometheusPathPrefix      Code = "MS111"
	CodePrometheusAuth            Code = "MS112"
	CodeAdapterTooOld             Code = "MS113"
	CodeHPAForbidden              Code = "MS114"
	CodeAdapterCannotList         Code = "MS115"
	CodeUnusedAPIServiceDown      Code = "MS116"
	CodeAdapterConfigUnreadable   Code = "MS117"
	CodePrometheusHTTPError       Code = "MS118"
	CodeAdapterCannotListUnused   Code = "MS119"
	CodeTriggerServerUnreachable  Code = "MS120"
	CodeExternalAPIWrongBackend   Code = "MS121"
	// MS122-MS124: the resource metrics API (metrics.k8s.io).
	CodeResourceAPIServiceMissing Code = "MS122"
	CodeResourceAPIByAdapter      Code = "MS123"
	CodeResourceRulesMissing      Code = "MS124"
	CodeGivenPrometheusFails      Code = "MS125"

	CodeNoRule              Code = "MS201"
	CodeLabelsNotMapped     Code = "MS202"
	CodeRuleFiltersSeries   Code = "MS203"
	CodeRuleMapsNoResource  Code = "MS204"
	CodeNoNamespaceLabel    Code = "MS205"
	CodeExportedLabels      Code = "MS206"
	CodeSeriesNameInHPA     Code = "MS207"
	CodeNoSeries            Code = "MS208"
	CodeSeriesTooOld        Code = "MS209"
	CodeTooManyMetrics      Code = "MS210"
	CodeOtherResource       Code = "MS211"
	CodeConfigNotLoaded     Code = "MS212"
	CodeRuleCollision       Code = "MS213"
	CodeSeriesQueryFails    Code = "MS214"
	CodeMetricsQueryInvalid Code = "MS215"
	// MS216: the adapter's discovery window is shorter than a used series' sample interval.
	CodeWindowShorterThanSamples Code = "MS216"
	CodeNotListedYet             Code = "MS217"

	CodeQueryDropsLabels Code = "MS301"
	CodeNoValue          Code = "MS302"
	CodeQueryFails       Code = "MS303"
	CodeSomePodsMissing  Code = "MS304"
	CodeSeriesSummed     Code = "MS305"
	CodeMilliQuantity    Code = "MS306"
	CodeExternalNoValue  Code = "MS307"
	// MS308-MS311: a KEDA prometheus trigger's query, run as KEDA runs it.
	CodeTriggerNoData          Code = "MS308"
	CodeTriggerManySeries      Code = "MS309"
	CodeTriggerBelowActivation Code = "MS310"
	CodeTriggerQueryFails      Code = "MS311"
	CodeTriggerNotRun          Code = "MS312"
	// MS313-MS314: a Resource or ContainerResource metric's pods.
	CodeResourceSomePods   Code = "MS313"
	CodeResourceNoPodValue Code = "MS314"

	CodeQueryPartEmpties Code = "MS315"

	CodeCannotCompute          Code = "MS401"
	CodeTargetNotFound         Code = "MS402"
	CodeNoReadyPods            Code = "MS403"
	CodeNotServed              Code = "MS404"
	CodeAtMaxReplicas          Code = "MS405"
	CodeDescribedObjectMissing Code = "MS406"
	CodeMetricAPIUnavailable   Code = "MS407"
	CodeStaleCondition         Code = "MS408"
	CodeInvalidSelector        Code = "MS409"
	CodeNoPodSelector          Code = "MS410"
	CodeScaledObjectNotReady   Code = "MS411"
	CodeScaledObjectFallback   Code = "MS412"
	CodeScaledObjectPaused     Code = "MS413"
	CodeSharedScaleTarget      Code = "MS414"
	CodeNoResourceRequest      Code = "MS415"
	CodeContainerNotInPods     Code = "MS416"
)

// Check is the registry entry of a code. Message is the fmt template of the
// finding's message: call sites pass only its values.
type Check struct {
	Severity Severity
	Title    string
	Message  string
}

// Checks is the registry of every finding doctor can report.
var Checks = map[Code]Check{
	CodeCustomAPIServiceMissing: {SeverityError, "custom metrics APIService is missing",
		"no APIService registers custom.metrics.k8s.io, so every Pods and Object metric of every HPA is unknown"},
	CodeAPIServiceUnavailable: {SeverityError, "metrics APIService is not available",
		"Available=False (%s): %s"},
	CodeAPIServiceTimeout: {SeverityError, "API server times out reaching the adapter",
		"Available=False (%s): %s"},
	CodeAPIServiceRejected: {SeverityError, "aggregation layer rejects the adapter (TLS or authentication)",
		"Available=False (%s): %s"},
	CodeExternalAPIServiceMissing: {SeverityError, "external metrics APIService is missing",
		"external metrics are configured or used, but no APIService registers external.metrics.k8s.io, so /apis/external.metrics.k8s.io/v1beta1 is 404"},
	CodeAPIServiceOtherBackend: {SeverityWarning, "metrics APIService is served by another backend",
		"%s is served by Service %s, not by the prometheus-adapter in namespace %s: only one backend can own an API group/version, so the adapter's rules for it do not apply"},
	CodeAdapterNotFound: {SeverityError, "prometheus-adapter not found",
		"cannot locate prometheus-adapter: %v"},
	CodeAdapterNotReady: {SeverityError, "prometheus-adapter has no Ready pod",
		"none of the adapter's %d pods is Ready, so the metrics APIs it serves are down"},
	// The last value is a note on the config, or "".
	CodeAdapterConfigInvalid: {SeverityError, "adapter config is invalid",
		"the adapter rejects its config (%s): %v%s"},
	CodeGivenPrometheusFails: {SeverityWarning, "the Prometheus doctor was given does not answer",
		"doctor cannot read Prometheus at %s (given with %s): %s; the series and queries are not checked, the metrics APIs still are (the adapter reads its own --prometheus-url, %s)"},
	CodePrometheusUnreachable: {SeverityError, "Prometheus unreachable at the adapter's --prometheus-url",
		"Prometheus is not reachable at %s: %s; the adapter logs \"unable to update list of all metrics\" and discovers nothing"},
	CodePrometheusPathPrefix: {SeverityError, "Prometheus API not found at the URL (path prefix?)",
		"%s answers 404 for /api/v1/...: Prometheus is probably served under a path prefix (--web.route-prefix, e.g. /prometheus) that the URL lacks"},
	CodePrometheusAuth: {SeverityError, "Prometheus refuses the request (authentication)",
		"Prometheus (or the proxy in front of it) answers %d: it requires authentication the adapter does not send"},
	CodeAdapterTooOld: {SeverityError, "adapter version too old for this Kubernetes",
		"the adapter image %s predates v0.11.0, whose fix for Kubernetes 1.26+ aggregated discovery it lacks; this cluster runs 1.%d"},
	CodeHPAForbidden: {SeverityError, "HPA controller is forbidden to read the metrics API",
		"ScalingActive=False %s: %s"},
	CodeAdapterCannotList: {SeverityError, "adapter ServiceAccount cannot list a resource its rules map",
		"the adapter's rules serve metrics for %s, but its ServiceAccount may not list them, so requests for those metrics fail with \"unable to list matching resources\""},
	CodeUnusedAPIServiceDown: {SeverityWarning, "metrics APIService no walked metric needs is not available",
		"Available=False (%s): %s"},
	CodeAdapterConfigUnreadable: {SeverityWarning, "adapter config cannot be read",
		"doctor cannot read the adapter's config: %v; the checks of its rules are skipped"},
	CodePrometheusHTTPError: {SeverityError, "Prometheus answers its API with an HTTP error",
		"%s answers HTTP %d: Prometheus (or a proxy in front of it) is reachable, but fails its API requests"},
	CodeAdapterCannotListUnused: {SeverityWarning, "adapter ServiceAccount cannot list a resource its rules map, which no HPA reads",
		"the adapter's rules serve metrics for %s, but its ServiceAccount may not list them; no HPA in scope reads those metrics, whose requests would fail with \"unable to list matching resources\""},
	CodeTriggerServerUnreachable: {SeverityError, "KEDA trigger's serverAddress is unreachable",
		"ScaledObject %s: triggers[%d] queries Prometheus at serverAddress %s, which does not answer: %s"},
	CodeExternalAPIWrongBackend: {SeverityError, "external metrics APIService points at the other backend than the HPA needs",
		"the HPA reads its external metrics from %s, but APIService v1beta1.external.metrics.k8s.io points at Service %s; it must point at %s"},
	CodeResourceAPIServiceMissing: {SeverityError, "resource metrics APIService is missing",
		"no APIService registers metrics.k8s.io, so the cpu and memory metrics of %d HPAs in scope are unknown: metrics-server (or another resource metrics backend) is not installed"},
	CodeResourceAPIByAdapter: {SeverityInfo, "resource metrics API is served by prometheus-adapter",
		"APIService %s points at the adapter's Service %s: cpu and memory come from its resourceRules over Prometheus series, not from kubelets through metrics-server"},
	CodeResourceRulesMissing: {SeverityError, "resource metrics API points at an adapter without resourceRules",
		"APIService %s points at the adapter's Service %s, but the adapter's config has no resourceRules, so it serves no cpu or memory"},

	CodeNoRule: {SeverityError, "no adapter rule selects the metric's series",
		"Prometheus has %d series of %s, but no %s selects them, so the adapter never discovers the metric"},
	CodeLabelsNotMapped: {SeverityError, "series labels are not mapped to the resource",
		"%s selects %s, but none of the series' labels maps to a resource (overrides: %s)"},
	CodeRuleFiltersSeries: {SeverityError, "rule filters the series out",
		"%s selects the series of %s, but its seriesFilters or name.matches drop them"},
	CodeRuleMapsNoResource: {SeverityWarning, "rule maps no resources",
		"rules[%d] (seriesQuery %s) maps no label to a resource: none of its series can be served for pods, services or any object"},
	CodeNoNamespaceLabel: {SeverityError, "series have no namespace label",
		"the series of %s carry no label mapped to namespace; the adapter adds namespace=%q to every query for a namespaced resource, so nothing comes back"},
	CodeExportedLabels: {SeverityError, "series carry exported_* labels (scraped without honor_labels)",
		"the series of %s carry %s: Prometheus scraped them without honor_labels, so namespace/pod/service name the exporter (e.g. the Pushgateway) and the workload's own labels moved to exported_*; a rule mapping the plain labels attributes the metric to the wrong object"},
	CodeSeriesNameInHPA: {SeverityError, "HPA names the Prometheus series, not the API metric",
		"%s is the Prometheus series name; %s turns it into the API metric %q, which the HPA should name"},
	CodeNoSeries: {SeverityError, "Prometheus has no series for the metric",
		"Prometheus has no series named %s in the last %s: the exporter does not export it, Prometheus does not scrape it, or the HPA names it wrongly"},
	CodeSeriesTooOld: {SeverityWarning, "series are older than the adapter's discovery window",
		"the series of %s are older than the adapter's discovery window (%s, --metrics-max-age or else --metrics-relist-interval): it lists only series seen since then"},
	CodeTooManyMetrics: {SeverityWarning, "adapter rules discover very many metrics",
		"the rules discover %d (resource, metric) pairs; broad rules (the chart's defaults, container_.*) slow every relist and can time discovery out"},
	CodeOtherResource: {SeverityError, "metric is served for another resource than the HPA asks",
		"%s serves %s for %s, but the HPA reads it for %s: no label of the series is mapped to %[4]s"},
	CodeConfigNotLoaded: {SeverityError, "running adapter has not loaded the current config",
		"the adapter's current config serves %s for %s (%s, series %s), but the running adapter does not: it has not loaded this config, or has not relisted yet"},
	CodeRuleCollision: {SeverityWarning, "two rules produce the same metric for the same resource",
		"%s and %s both produce %s for %s; the adapter keeps only the later one"},
	CodeSeriesQueryFails: {SeverityError, "a rule's seriesQuery fails in Prometheus",
		"the seriesQuery of %s fails in Prometheus: %v; the adapter's relist fails as a whole on it (\"unable to update list of all metrics\"), so it lists no new metric"},
	CodeMetricsQueryInvalid: {SeverityError, "a rule's metricsQuery is not valid PromQL",
		"%s's metricsQuery is not valid PromQL, so Prometheus rejects every request for the metrics it serves: %v"},

	CodeWindowShorterThanSamples: {SeverityError, "discovery window shorter than the sample interval",
		"the adapter's discovery window (%s) is shorter than the interval between the samples of %s (%s): the metric drops out of the API on most relists, and the HPAs that read it fail until a relist lists it again"},
	CodeNotListedYet: {SeverityWarning, "the loaded config serves the metric, the adapter has not listed it",
		"the adapter runs its current config (its pods started after the ConfigMap's last change, %s), which serves %s for %s by %s, but the API does not list it: its last relist did not see the series of %s"},
	CodeQueryDropsLabels: {SeverityError, "metricsQuery aggregates the resource labels away",
		"%s's metricsQuery returns series without the %s label, so the adapter cannot attribute them to %s: the query aggregates the resource labels away (keep <<.LabelMatchers>> and by (<<.GroupBy>>))"},
	CodeQueryPartEmpties: {SeverityError, "a part of the metricsQuery empties its answer",
		"%s's metricsQuery returns nothing for %s, but it does without the %s %s: the series exist, and that part of the query drops them"},
	CodeNoValue: {SeverityError, "metric has no value for the scale target's objects",
		"the API lists %s for %s, but returns no value for %s in namespace %s"},
	CodeQueryFails: {SeverityError, "metricsQuery fails in Prometheus",
		"%s's metricsQuery fails in Prometheus: %v"},
	CodeSomePodsMissing: {SeverityWarning, "metric has values for only some target pods",
		"%s has %s for %d of %d pods; the HPA treats the others conservatively (as 0 when scaling up, as the target when scaling down)"},
	CodeSeriesSummed: {SeverityWarning, "several series per object are summed",
		"several series of %s carry the same %s, and the rule's sum() adds them up: two scrape jobs or exporters probably report the same object"},
	CodeMilliQuantity: {SeverityInfo, "value is a milli-quantity",
		"%s = %s is a Kubernetes milli-quantity: %s"},
	CodeExternalNoValue: {SeverityError, "external metric has no value for the HPA's namespace and selector",
		"the adapter serves external metric %s (%s, series %s), but it has no value in namespace %s for selector %q"},
	CodeTriggerNoData: {SeverityError, "KEDA trigger's query returns no data",
		"ScaledObject %s: triggers[%d]'s query %s returns no series at %s: %s"},
	CodeTriggerManySeries: {SeverityError, "KEDA trigger's query returns more than one series",
		"ScaledObject %s: triggers[%d]'s query %s returns %d series; KEDA's prometheus trigger needs exactly one and fails on more (\"returned multiple elements\")"},
	CodeTriggerBelowActivation: {SeverityWarning, "KEDA trigger's value does not reach its activationThreshold",
		"ScaledObject %s: triggers[%d]'s value %s is not above its activationThreshold %s: KEDA counts the trigger inactive, so the workload stays at 0 (or minReplicaCount) until it is"},
	CodeTriggerQueryFails: {SeverityError, "KEDA trigger's query fails in Prometheus",
		"ScaledObject %s: triggers[%d]'s query %s fails at %s: %v"},
	CodeTriggerNotRun: {SeverityInfo, "KEDA trigger's source is not checked",
		"ScaledObject %s: triggers[%d] is of type %s, whose source doctor does not run: the value checked is %s as KEDA's metrics server serves it"},
	CodeResourceSomePods: {SeverityWarning, "HPA controller cannot use some pods' resource usage",
		"the HPA controller cannot use the %s usage of %d of %d pods of %s: it leaves their samples out and counts those pods conservatively (as 0 when scaling up; one without a value at its request when scaling down)"},
	CodeResourceNoPodValue: {SeverityError, "HPA controller has no usable resource usage for any pod",
		"the resource metrics API has no %s usage the HPA controller can use for any of the %d pods of %s, so it cannot compute replicas (\"did not receive metrics for targeted pods\")"},

	CodeCannotCompute: {SeverityError, "HPA cannot compute replicas",
		"ScalingActive=False %s: %s"},
	CodeTargetNotFound: {SeverityError, "HPA scale target not found",
		"the HPA controller cannot get the scale of %s %s in namespace %s: %s"},
	CodeNoReadyPods: {SeverityWarning, "scale target has no Ready pods",
		"%s %s has %d Running pods and none is Ready: the HPA controller reads the metrics of Ready pods only"},
	// The last value names the served metrics of similar names, or is "".
	CodeNotServed: {SeverityError, "metrics API does not serve the metric",
		"the %s metrics API does not serve %s for %s%s"},
	CodeAtMaxReplicas: {SeverityInfo, "HPA is held at maxReplicas",
		"the HPA wants more than maxReplicas=%d and is held there (%s)"},
	CodeDescribedObjectMissing: {SeverityError, "Object metric's described object does not exist",
		"the Object metric %s describes %s %s, which does not exist in namespace %s"},
	CodeMetricAPIUnavailable: {SeverityError, "metrics API the HPA reads is unavailable",
		"the HPA reads %s from the %s metrics API, which is unavailable: %s"},
	CodeStaleCondition: {SeverityWarning, "HPA condition predates the metrics being served",
		"the HPA's ScalingActive=False condition is from the controller's last sync: doctor sent the controller's own request for every metric of this HPA and each returned values, so the condition clears on its next"},
	CodeInvalidSelector: {SeverityError, "metric's selector is invalid",
		"the selector of %s metric %s is invalid: %v"},
	CodeNoPodSelector: {SeverityError, "scale target's pod selector is unknown",
		"the HPA controller reads Pods metric %s for the pods its scale target %s %s selects, but that selector cannot be read: %s"},
	CodeScaledObjectNotReady: {SeverityError, "ScaledObject is not Ready",
		"Ready=False (%s): %s"},
	CodeScaledObjectFallback: {SeverityError, "ScaledObject's fallback is active",
		"KEDA's fallback is active: the triggers keep failing, so KEDA feeds the HPA the value that holds %d replicas (%s)"},
	CodeScaledObjectPaused: {SeverityWarning, "ScaledObject is paused",
		"autoscaling is paused by %s"},
	CodeSharedScaleTarget: {SeverityError, "several HPAs scale one target",
		"%d HPAs scale %s %s (%s): the HPA controller marks each AmbiguousSelector and scales none of them"},
	CodeNoResourceRequest: {SeverityError, "container has no request for the resource a Utilization target divides by",
		"%s: container %s has no %s request, so the HPA controller cannot compute %s utilization (it reports \"missing request for %s in container %s of Pod %s\")"},
	CodeContainerNotInPods: {SeverityError, "ContainerResource metric names a container the pods do not run",
		"the ContainerResource metric %s names container %s, which %d of %d pods of %s do not run: the HPA controller fails on them (\"container %[2]s not present in metrics\")"},
}

// newFinding builds a finding of a registered code: its severity and title
// come from the registry, its message from the code's template filled with
// values.
func newFinding(code Code, object string, values ...any) Finding {
	c, ok := Checks[code]
	if !ok {
		panic("unregistered check code " + string(code))
	}
	return Finding{Code: string(code), Severity: c.Severity, Title: c.Title, Object: object, Message: fmt.Sprintf(c.Message, values...)}
}

func (f Finding) withEvidence(e ...string) Finding {
	f.Evidence = append(f.Evidence, e...)
	return f
}

func (f Finding) withFix(fix Fix) Finding {
	f.Fix = &fix
	return f
}
