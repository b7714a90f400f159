package doctor

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	adapterchain "github.com/metricscale/kubectl-metricscale/pkg/chain"
	"github.com/metricscale/kubectl-metricscale/pkg/grant"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/rules"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"
)

// The three metrics APIServices doctor inventories.
const (
	CustomAPIService   = apiservice.Custom
	ExternalAPIService = apiservice.External
	ResourceAPIService = "v1beta1.metrics.k8s.io"
)

// checkAPIServices judges the aggregation layer: needCustom and needExternal
// say whether HPAs (or external rules) depend on the custom and external APIs.
func checkAPIServices(svcs []APIService, adapterRef string, needCustom, needExternal bool) []Finding {
	var out []Finding
	for _, s := range svcs {
		if s.Name == ResourceAPIService {
			continue // checkResourceAPIService
		}
		obj := "APIService " + s.Name
		need := (s.Name == CustomAPIService && needCustom) || (s.Name == ExternalAPIService && needExternal)
		if !s.Present {
			switch {
			case s.Name == CustomAPIService && needCustom:
				out = append(out, newFinding(CodeCustomAPIServiceMissing, obj).
					withFix(Fix{Description: "install prometheus-adapter with its APIService (the Helm chart creates it), or apply one pointing at the adapter's Service", YAML: apiServiceYAML(s.Name, adapterRef)}))
			case s.Name == ExternalAPIService && needExternal:
				out = append(out, newFinding(CodeExternalAPIServiceMissing, obj).
					withFix(Fix{Description: "create the external APIService (Helm chart: set rules.external so it is rendered)", YAML: apiServiceYAML(s.Name, adapterRef)}))
			}
			continue
		}
		if !s.Available {
			out = append(out, unavailableFinding(s, need || s.Name == CustomAPIService, "the adapter"))
		}
		if adapterRef != "" && s.Service != "" && (s.Name == CustomAPIService || s.Name == ExternalAPIService) && refNamespace(s.Service) != refNamespace(adapterRef) {
			out = append(out, newFinding(CodeAPIServiceOtherBackend, obj, s.Name, s.Service, refNamespace(adapterRef)).withEvidence("adapter Deployment "+adapterRef))
		}
	}
	return out
}

// unavailableFinding words an APIService that is not Available: the cause
// decides the code and the fix; the code says the cause, unless no metric
// doctor walks needs the API. backend names what serves it.
func unavailableFinding(s APIService, need bool, backend string) Finding {
	code := CodeAPIServiceUnavailable
	msg := strings.ToLower(s.Message)
	switch {
	case strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout") || strings.Contains(msg, "i/o timeout"):
		code = CodeAPIServiceTimeout
	case strings.Contains(msg, "x509") || strings.Contains(msg, "certificate") || strings.Contains(msg, "system:anonymous") || strings.Contains(msg, "unauthorized") || strings.Contains(msg, "subjectaccessreview"):
		code = CodeAPIServiceRejected
	}
	var fix Fix
	switch code {
	case CodeAPIServiceUnavailable:
		fix = Fix{Description: "the API server cannot reach " + backend + ": check that its pods are Ready and that the Service " + s.Service + " selects them on the APIService's port",
			Command: "kubectl get pods,endpoints -n " + refNamespace(s.Service)}
	case CodeAPIServiceTimeout:
		fix = Fix{Description: "the control plane's connection to " + backend + " times out: open " + backend + "'s port from the control plane (on private GKE, a firewall rule for " + backend + "'s port from the master CIDR), or check NetworkPolicies"}
	case CodeAPIServiceRejected:
		fix = Fix{Description: "the aggregation layer and " + backend + " do not trust each other: check the APIService's caBundle (or insecureSkipTLSVerify), and that " + backend + " can read configmap kube-system/extension-apiserver-authentication (RoleBinding to extension-apiserver-authentication-reader)"}
	}
	if !need {
		code = CodeUnusedAPIServiceDown
	}
	return newFinding(code, "APIService "+s.Name, s.Reason, s.Message).withEvidence("backed by Service " + orNone(s.Service)).withFix(fix)
}

func apiServiceYAML(name, adapterRef string) string {
	group := strings.TrimPrefix(name, "v1beta1.")
	ns, svc := refNamespace(adapterRef), refName(adapterRef)
	if ns == "" {
		ns, svc = "monitoring", "prometheus-adapter"
	}
	return fmt.Sprintf(`apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: %s
spec:
  group: %s
  version: v1beta1
  service: {name: %s, namespace: %s}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
`, name, group, svc, ns)
}

// checkAdapter judges the adapter Deployment, its pods and its config.
func checkAdapter(a *adapter.Adapter, locateErr error, cfg *adapter.Config, cfgErr error) []Finding {
	if a == nil {
		if locateErr == nil {
			locateErr = errors.New("no prometheus-adapter Deployment found")
		}
		return []Finding{newFinding(CodeAdapterNotFound, "prometheus-adapter", locateErr).
			withFix(Fix{Description: "install prometheus-adapter (e.g. the prometheus-community/prometheus-adapter Helm chart), or point doctor at it with --adapter-namespace and --adapter-name"})}
	}
	obj := "Deployment " + a.Namespace + "/" + a.Name
	var out []Finding
	if a.ReadyPods() == 0 {
		f := newFinding(CodeAdapterNotReady, obj, len(a.Pods))
		for _, p := range a.Pods {
			f = f.withEvidence(podState(p)...)
		}
		out = append(out, f.withFix(Fix{Description: "read the adapter's last log lines (often a config it cannot parse, or flags it does not know)",
			Command: fmt.Sprintf("kubectl logs -n %s deployment/%s --previous", a.Namespace, a.Name)}))
	}
	if cfgErr != nil {
		out = append(out, newFinding(CodeAdapterConfigUnreadable, obj, cfgErr))
	} else if cfg != nil && cfg.ParseError != nil {
		f := newFinding(CodeAdapterConfigInvalid, "ConfigMap "+a.Namespace+"/"+a.ConfigMap, "key "+a.ConfigKey, cfg.ParseError, helmValuesNote(cfg.Raw))
		if helmValuesPasted(cfg.Raw) {
			f = f.withFix(Fix{Description: "put the rules themselves under rules: (a list), or set them in values.yaml under rules.custom and let the chart render the ConfigMap"})
		} else {
			f = f.withFix(Fix{Description: "fix the YAML so it matches the adapter's config (rules, externalRules, resourceRules); the adapter exits at start-up on any unknown field"})
		}
		out = append(out, f)
	}
	if cfg != nil && cfg.Parsed != nil {
		cm := "ConfigMap " + a.Namespace + "/" + a.ConfigMap
		for i, r := range cfg.Parsed.Rules {
			if r.Resources.Template == "" && len(r.Resources.Overrides) == 0 {
				out = append(out, newFinding(CodeRuleMapsNoResource, cm, i, r.SeriesQuery).
					withFix(Fix{Description: "add resources.overrides (e.g. namespace: {resource: namespace}, pod: {resource: pod}) or resources.template: <<.Resource>>"}))
			}
		}
		out = append(out, invalidMetricsQueries(cm, cfg.Parsed.Rules, rules.Custom)...)
		out = append(out, invalidMetricsQueries(cm, cfg.Parsed.ExternalRules, rules.External)...)
	}
	return out
}

// invalidMetricsQueries parses each rule's metricsQuery, rendered as the
// adapter renders it, with Prometheus's own parser. The adapter accepts such
// a rule at start-up (the template is fine) and fails only when an HPA asks
// for its metric; a seriesQuery that Prometheus rejects is MS214, from the
// relist itself.
func invalidMetricsQueries(cm string, list []config.DiscoveryRule, which rules.List) []Finding {
	var out []Finding
	for i, r := range list {
		var qe *rules.QueryError
		for _, err := range unjoin(rules.CheckQueries(r, which)) {
			if errors.As(err, &qe) && qe.Query == "metricsQuery" {
				label := (&simulate.Rule{Index: i, External: which == rules.External}).Label()
				out = append(out, newFinding(CodeMetricsQueryInvalid, cm, label, qe.Err).
					withEvidence(strings.Split(qe.Error(), "\n")...).
					withFix(Fix{Description: fmt.Sprintf("correct the metricsQuery of %s in %s where the parser stops, then restart the adapter", label, cm)}))
			}
		}
	}
	return out
}

// unjoin lists the errors errors.Join put together (err itself otherwise).
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var helmValuesShape = regexp.MustCompile(`(?m)^rules:\s*\n(\s+)(default|custom|existing|external|resource):`)

func helmValuesPasted(raw string) bool { return helmValuesShape.MatchString(raw) }

// helmValuesNote ends MS109's message when the config is the Helm chart's
// values rather than the adapter's config.
func helmValuesNote(raw string) string {
	if !helmValuesPasted(raw) {
		return ""
	}
	return "; this is the Helm chart's values (rules.default / rules.custom), not the adapter's config format"
}

func podState(p corev1.Pod) []string {
	var out []string
	for _, cs := range p.Status.ContainerStatuses {
		s := fmt.Sprintf("pod %s container %s: ready=%t restarts=%d", p.Name, cs.Name, cs.Ready, cs.RestartCount)
		if w := cs.State.Waiting; w != nil {
			s += " waiting: " + w.Reason
		}
		out = append(out, s)
		if t := cs.LastTerminationState.Terminated; t != nil && t.Message != "" {
			out = append(out, "last termination (exit "+strconv.Itoa(int(t.ExitCode))+"): "+lastLines(t.Message, 3))
		}
	}
	if len(p.Status.ContainerStatuses) == 0 {
		out = append(out, fmt.Sprintf("pod %s: %s", p.Name, p.Status.Phase))
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// checkPrometheus judges doctor's (and so the adapter's) view of Prometheus.
// candidates are in-cluster Services that look like Prometheus, as URLs.
func checkPrometheus(c *prometheus.Connection, source string, candidates []string, a *adapter.Adapter) []Finding {
	if c == nil || c.OK() {
		return nil
	}
	obj := "Prometheus " + c.URL
	if source != adapterchain.SourceAdapter {
		// The URL is the caller's: its failure says nothing of the adapter.
		given, adapterURL := "--prometheus-url", "unknown"
		if source == adapterchain.SourceEnv {
			given = "METRICSCALE_PROMETHEUS_URL"
		}
		if a != nil {
			adapterURL = a.PrometheusURL
		}
		return []Finding{newFinding(CodeGivenPrometheusFails, obj, c.URL, given, c.Error, adapterURL).
			withFix(Fix{Description: "give doctor a URL it can reach (a port-forward of the Prometheus Service, for one), or leave --prometheus-url out to reach the adapter's through the API server"})}
	}
	fromFlag := a != nil
	if c.Status == 404 {
		fix := Fix{Description: "add the path prefix to --prometheus-url (e.g. http://prometheus.monitoring.svc:9090/prometheus)"}
		if fromFlag {
			fix.Command = a.SetFlagCommand("prometheus-url", strings.TrimSuffix(c.URL, "/")+"/PREFIX")
			fix.Description += "; the command sets it once PREFIX is replaced by your Prometheus's --web.route-prefix"
		}
		return []Finding{newFinding(CodePrometheusPathPrefix, obj, c.URL).withEvidence(c.Error).withFix(fix)}
	}
	switch {
	case c.Status == 401 || c.Status == 403:
		return []Finding{newFinding(CodePrometheusAuth, obj, c.Status).
			withEvidence(c.Error).withFix(Fix{Description: "give the adapter credentials: --prometheus-token-file, --prometheus-header, --prometheus-auth-config or --prometheus-ca-file as your Prometheus (or Thanos) requires"})}
	case c.Status != 0:
		return []Finding{newFinding(CodePrometheusHTTPError, obj, c.URL, c.Status).withEvidence(c.Error)}
	}
	f := newFinding(CodePrometheusUnreachable, obj, c.URL, c.Error)
	if !fromFlag {
		return []Finding{f}
	}
	fix := Fix{Description: "point the adapter's --prometheus-url at your Prometheus Service"}
	if len(candidates) > 0 {
		fix.Description += fmt.Sprintf("; Prometheus Services in the cluster: %s (the command sets the first; the rollout it starts restarts the adapter)", strings.Join(candidates, ", "))
		fix.Command = a.SetFlagCommand("prometheus-url", candidates[0])
	}
	return []Finding{f.withFix(fix)}
}

var imageTag = regexp.MustCompile(`:v?(\d+)\.(\d+)\.(\d+)`)

// checkAdapterVersion flags adapters older than v0.11.0 on Kubernetes 1.26
// or later, whose discovery the API server breaks.
func checkAdapterVersion(a *adapter.Adapter, serverMinor int) []Finding {
	if a == nil || serverMinor < 26 {
		return nil
	}
	m := imageTag.FindStringSubmatch(a.Image)
	if m == nil {
		return nil
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major > 0 || minor >= 11 {
		return nil
	}
	return []Finding{newFinding(CodeAdapterTooOld, "Deployment "+a.Namespace+"/"+a.Name, a.Image, serverMinor).
		withFix(Fix{Description: "upgrade prometheus-adapter to v0.11.0 or later (registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0)"})}
}

// manyMetricsThreshold is where discovery gets slow and lists get useless
// (one cluster had 9,197 custom-metric resources with the default rules).
const manyMetricsThreshold = 1000

func checkDiscovery(d *simulate.Discovery, a *adapter.Adapter) []Finding {
	if d == nil || a == nil {
		return nil
	}
	var out []Finding
	obj := "ConfigMap " + a.Namespace + "/" + a.ConfigMap
	if len(d.Metrics) > manyMetricsThreshold {
		perRule := map[string]int{}
		for _, m := range d.Metrics {
			perRule[m.Rule.Label()]++
		}
		var ev []string
		for r, n := range perRule {
			ev = append(ev, fmt.Sprintf("%s: %d metrics", r, n))
		}
		sort.Strings(ev)
		out = append(out, newFinding(CodeTooManyMetrics, obj, len(d.Metrics)).
			withEvidence(ev...).
			withFix(Fix{Description: "disable the default rules (Helm: rules.default: false) and keep rules for the metrics your HPAs use"}))
	}
	for _, c := range d.Collisions {
		out = append(out, newFinding(CodeRuleCollision, obj, c.First.Label(), c.Second.Label(), c.Metric, orNone(c.Resource)))
	}
	for _, r := range d.Rules {
		if r.BuildError != nil {
			out = append(out, newFinding(CodeAdapterConfigInvalid, obj, r.Label(), r.BuildError, ""))
		} else if r.QueryError != nil {
			out = append(out, newFinding(CodeSeriesQueryFails, obj, r.Label(), r.QueryError).withEvidence("seriesQuery: "+r.Rule.SeriesQuery))
		}
	}
	return out
}

// checkAdapterRBAC reports resources the adapter's rules map (mapped) but
// its ServiceAccount may not list (denied): the adapter then fails every
// request for them ("unable to list matching resources"). It is MS115, an
// error, when an HPA in scope reads metrics of such a resource (needed),
// MS119, a warning, otherwise.
func checkAdapterRBAC(sa grant.ServiceAccount, denied []schema.GroupResource, mapped, needed map[schema.GroupResource]bool) []Finding {
	var names []string
	var lacking []schema.GroupResource
	code := CodeAdapterCannotListUnused
	for _, d := range denied {
		if !mapped[d] {
			continue
		}
		lacking = append(lacking, d)
		names = append(names, d.String())
		if needed[d] {
			code = CodeAdapterCannotList
		}
	}
	if len(lacking) == 0 {
		return nil
	}
	g := grant.Grant{ServiceAccount: sa, Resources: lacking}
	return []Finding{newFinding(code, "ServiceAccount "+sa.String(), strings.Join(names, ", ")).
		withFix(Fix{Description: "let the adapter's ServiceAccount get/list/watch those resources (the commands, or the YAML for kubectl apply), or narrow the rules (a template <<.Resource>> turns any label, such as job, into a resource)",
			Command: g.Commands(), YAML: g.YAML()})}
}
