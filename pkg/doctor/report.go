package doctor

// Severity of a finding. Only errors make doctor exit 1.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Link status in the chain picture.
type LinkStatus string

const (
	LinkOK      LinkStatus = "ok"
	LinkBroken  LinkStatus = "broken"
	LinkUnknown LinkStatus = "unknown" // not checked: an earlier link is broken
)

// The links of a metric's chain, in order.
const (
	LinkPrometheus = "prometheus"
	LinkRule       = "rule"
	LinkAPI        = "api"
	LinkHPA        = "hpa"
)

// Report is the stable schema of `doctor -o json|yaml` (apiVersion
// metricscale.io/v1alpha1, kind DoctorReport). Fields are only ever added.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is the namespace doctor looked in ("" for all namespaces).
	Namespace string      `json:"namespace,omitempty"`
	Inventory Inventory   `json:"inventory"`
	Findings  []Finding   `json:"findings"` // not tied to one HPA metric: APIServices, adapter, Prometheus, config
	HPAs      []HPAReport `json:"hpas"`
	Summary   Summary     `json:"summary"`
	// Causes groups the HPAs' findings by code and metric.
	Causes []Cause `json:"causes"`
}

// Summary counts findings by severity over the whole report.
type Summary struct {
	HPAs     int `json:"hpas"`
	Metrics  int `json:"metrics"`
	Healthy  int `json:"healthyMetrics"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// Inventory is what doctor found, before judging it.
type Inventory struct {
	APIServices []APIService `json:"apiServices"`
	Adapter     *AdapterInfo `json:"adapter,omitempty"`
	Prometheus  *PromInfo    `json:"prometheus,omitempty"`
	// DiscoveredMetrics is how many (resource, metric) pairs the adapter's
	// rules yield on the live series (simulated; from Prometheus's index on
	// a large Prometheus, which may count series that stopped within its
	// head block), and how many the API lists.
	DiscoveredMetrics int `json:"discoveredMetrics"`
	ServedMetrics     int `json:"servedMetrics"`
}

// APIService is one of the three metrics APIServices.
type APIService struct {
	Name      string `json:"name"`
	Service   string `json:"service,omitempty"` // namespace/name; empty when served locally
	Present   bool   `json:"present"`
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

// AdapterInfo describes the prometheus-adapter Deployment and its flags.
type AdapterInfo struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	Image          string `json:"image"`
	PrometheusURL  string `json:"prometheusURL"`
	Config         string `json:"config"`    // --config path
	ConfigMap      string `json:"configMap"` // namespace/name:key
	RelistInterval string `json:"metricsRelistInterval"`
	MaxAge         string `json:"metricsMaxAge"`
	ReadyPods      int    `json:"readyPods"`
	Pods           int    `json:"pods"`
	Rules          int    `json:"rules"`
	ExternalRules  int    `json:"externalRules"`
}

// PromInfo says how doctor reached Prometheus.
type PromInfo struct {
	URL       string `json:"url"`
	Source    string `json:"source"` // adapter-flag, flag, env
	Via       string `json:"via,omitempty"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
}

// HPAReport is one HorizontalPodAutoscaler and its metrics.
type HPAReport struct {
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	ScaleTarget     string `json:"scaleTarget"` // Kind/name
	MinReplicas     int32  `json:"minReplicas"`
	MaxReplicas     int32  `json:"maxReplicas"`
	CurrentReplicas int32  `json:"currentReplicas"`
	DesiredReplicas int32  `json:"desiredReplicas"`
	// Decision is what the HPA controller decides at its next sync and
	// why, reproduced from what it reads (not with -A).
	Decision string         `json:"decision,omitempty"`
	Metrics  []MetricReport `json:"metrics"`
	Findings []Finding      `json:"findings"` // about the HPA as a whole
}

// MetricReport is one entry of an HPA's spec.metrics and its chain.
type MetricReport struct {
	Type   string `json:"type"` // Pods, Object, External, Resource, ContainerResource
	Name   string `json:"name"`
	Object string `json:"object,omitempty"` // Kind/name for Object metrics
	Target string `json:"target"`           // "100 (AverageValue)"
	// Current is the value the HPA reads, decoded (102312m → 102.312).
	Current string `json:"current,omitempty"`
	// Now is, for a Resource or ContainerResource metric, the value the
	// controller would compute from the resource metrics API's answer now.
	Now string `json:"now,omitempty"`
	// Request is the HPA controller's request for the metric (its path),
	// set when doctor sent it and it returned values.
	Request  string    `json:"request,omitempty"`
	Chain    []Link    `json:"chain"`
	Healthy  bool      `json:"healthy"`
	Findings []Finding `json:"findings"`
}

// Link is one step of the chain picture.
type Link struct {
	Name   string     `json:"name"`
	Status LinkStatus `json:"status"`
}

// Finding is one coded diagnosis.
type Finding struct {
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Object is what the finding is about: "HorizontalPodAutoscaler default/x".
	Object   string   `json:"object"`
	Message  string   `json:"message"`
	Evidence []string `json:"evidence,omitempty"`
	Fix      *Fix     `json:"fix,omitempty"`
}

// Fix is what to do: a command to run, and/or YAML to apply or paste.
type Fix struct {
	Description string `json:"description"`
	// Command is one command per line.
	Command string `json:"command,omitempty"`
	YAML    string `json:"yaml,omitempty"`
}
