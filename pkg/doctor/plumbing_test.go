package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/prometheus-adapter/pkg/config"

	"github.com/metricscale/kubectl-metricscale/pkg/adapter"
	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
	"github.com/metricscale/kubectl-metricscale/pkg/prometheus"
	"github.com/metricscale/kubectl-metricscale/pkg/simulate"

	"github.com/metricscale/kubectl-metricscale/pkg/grant"
)

func TestCheckAPIServices(t *testing.T) {
	custom := func(avail bool, reason, msg string) APIService {
		return APIService{Name: CustomAPIService, Present: true, Service: "monitoring/prometheus-adapter", Available: avail, Reason: reason, Message: msg}
	}
	absent := func(name string) APIService { return APIService{Name: name} }
	cases := []struct {
		name         string
		svcs         []APIService
		needExternal bool
		want         string
	}{
		{"healthy", []APIService{custom(true, "Passed", ""), absent(ExternalAPIService)}, false, ""},
		{"custom missing", []APIService{absent(CustomAPIService)}, false, "MS101"},
		{"adapter down", []APIService{custom(false, "FailedDiscoveryCheck", `failing or missing response from https://10.0.0.5:6443/apis/custom.metrics.k8s.io/v1beta1: dial tcp 10.0.0.5:6443: connect: connection refused`)}, false, "MS102"},
		{"firewall", []APIService{custom(false, "FailedDiscoveryCheck", `failing or missing response from https://10.8.0.5:6443/apis/custom.metrics.k8s.io/v1beta1: Get "https://10.8.0.5:6443/apis/custom.metrics.k8s.io/v1beta1": context deadline exceeded`)}, false, "MS103"},
		{"tls", []APIService{custom(false, "FailedDiscoveryCheck", `failing or missing response from https://10.0.0.5:6443: x509: certificate signed by unknown authority`)}, false, "MS104"},
		{"external missing", []APIService{custom(true, "Passed", ""), absent(ExternalAPIService)}, true, "MS105"},
		{"external down, but nothing reads it", []APIService{custom(true, "Passed", ""), {Name: ExternalAPIService, Present: true, Service: "monitoring/prometheus-adapter", Reason: "FailedDiscoveryCheck", Message: "service/prometheus-adapter has no endpoints"}}, false, "MS116"},
		{"external owned by keda", []APIService{custom(true, "Passed", ""), {Name: ExternalAPIService, Present: true, Available: true, Service: "keda/keda-operator-metrics-apiserver"}}, true, "MS106"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := checkAPIServices(c.svcs, "monitoring/prometheus-adapter", true, c.needExternal)
			record(t, fs)
			if got := codes(fs); got != c.want {
				t.Fatalf("codes %q, want %q", got, c.want)
			}
		})
	}
}

func adapterFixture(ready bool) *adapter.Adapter {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-adapter-1"}, Status: corev1.PodStatus{
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "prometheus-adapter", RestartCount: 4,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 255, Message: "F1122 adapter.go:349] unable to construct custom metrics provider"}}}},
	}}
	return &adapter.Adapter{Namespace: "monitoring", Name: "prometheus-adapter", Image: "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
		ConfigMap: "prometheus-adapter", ConfigKey: "config.yaml", Pods: []corev1.Pod{pod}, Deployment: &appsv1.Deployment{}}
}

func TestCheckAdapter(t *testing.T) {
	helmValues := "rules:\n  default: false\n  custom:\n  - seriesQuery: x\n"
	cases := []struct {
		name  string
		a     *adapter.Adapter
		cfg   string
		want  string
		check func(*testing.T, []Finding)
	}{
		{"missing", nil, "", "MS107", nil},
		{"crash-looping", adapterFixture(false), "rules: []\n", "MS108", func(t *testing.T, fs []Finding) {
			if !strings.Contains(strings.Join(fs[0].Evidence, " "), "CrashLoopBackOff") || !strings.Contains(strings.Join(fs[0].Evidence, " "), "unable to construct") {
				t.Fatal(fs[0].Evidence)
			}
		}},
		{"helm values pasted", adapterFixture(true), helmValues, "MS109", func(t *testing.T, fs []Finding) {
			if !strings.Contains(fs[0].Message, "Helm chart's values") {
				t.Fatal(fs[0].Message)
			}
		}},
		{"rule without resources", adapterFixture(true), "rules:\n- seriesQuery: '{__name__=\"x\"}'\n  metricsQuery: x\n", "MS204", nil},
		{"healthy", adapterFixture(true), "rules: []\n", "", nil},
		// The chart's default rules all render to valid PromQL.
		{"default rules", adapterFixture(true), defaultRules(t), "", nil},
		{"metricsQuery not valid PromQL", adapterFixture(true), defaultRules(t) + strings.TrimPrefix(`
- seriesQuery: '{__name__="MessageMetrics",k8s_namespace!=""}'
  resources: {overrides: {k8s_namespace: {resource: namespace}, k8s_pod_name: {resource: pod}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>
externalRules:
- seriesQuery: '{__name__="queue_depth"}'
  resources: {namespaced: false}
  metricsQuery: rate(<<.Series>>{<<.LabelMatchers>>})
`, "\n"), "MS215,MS215", func(t *testing.T, fs []Finding) {
			if fs[0].Object != "ConfigMap monitoring/prometheus-adapter" || !strings.HasPrefix(fs[0].Message, "rules[6]'s metricsQuery") ||
				!strings.HasPrefix(fs[1].Message, "externalRules[0]'s metricsQuery") {
				t.Fatalf("%s / %s / %s", fs[0].Object, fs[0].Message, fs[1].Message)
			}
			if ev := strings.Join(fs[0].Evidence, "\n"); !strings.Contains(ev, "^") || !strings.Contains(ev, "by (k8s_pod_name") {
				t.Fatalf("evidence does not point into the rendered query:\n%s", ev)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg *adapter.Config
			if c.cfg != "" {
				cfg = parseConfig(c.cfg)
			}
			fs := checkAdapter(c.a, errors.New("no prometheus-adapter Deployment found in any namespace"), cfg, nil)
			record(t, fs)
			if got := codes(fs); got != c.want {
				t.Fatalf("codes %q, want %q: %v", got, c.want, fs)
			}
			if c.check != nil {
				c.check(t, fs)
			}
		})
	}
}

func parseConfig(raw string) *adapter.Config {
	c := &adapter.Config{Raw: raw}
	c.Parsed, c.ParseError = configFromYAML(raw)
	return c
}

func TestCheckPrometheus(t *testing.T) {
	cases := []struct {
		name string
		c    *prometheus.Connection
		want string
	}{
		{"reachable", &prometheus.Connection{URL: "http://p:9090", Status: 200}, ""},
		{"wrong service", &prometheus.Connection{URL: "http://prometheus.default.svc:9090", ServiceMissing: true, Error: "Service default/prometheus does not exist"}, "MS110"},
		{"path prefix", &prometheus.Connection{URL: "http://p.monitoring.svc:9090", Status: 404, Error: "HTTP 404"}, "MS111"},
		{"auth", &prometheus.Connection{URL: "https://thanos:443", Status: 401, Error: "HTTP 401"}, "MS112"},
		{"server error", &prometheus.Connection{URL: "http://thanos-query.monitoring.svc:9090", Status: 503, Error: "HTTP 503"}, "MS118"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := checkPrometheus(c.c, "adapter-flag", []string{"http://prometheus-server.monitoring.svc:80"}, adapterFixture(true))
			record(t, fs)
			if got := codes(fs); got != c.want {
				t.Fatalf("codes %q, want %q", got, c.want)
			}
			if c.want == "MS110" && !strings.Contains(fs[0].Fix.Command, "--prometheus-url=http://prometheus-server.monitoring.svc:80") {
				t.Fatalf("fix should name the Prometheus Service found: %+v", fs[0].Fix)
			}
		})
	}
}

// A URL the caller gave that fails is doctor's problem, not the
// adapter's: a warning naming the flag, whatever the failure.
func TestCheckGivenPrometheus(t *testing.T) {
	for _, c := range []*prometheus.Connection{
		{URL: "http://127.0.0.1:1", Error: "dial tcp 127.0.0.1:1: connect: connection refused"},
		{URL: "http://127.0.0.1:9090", Status: 404, Error: "HTTP 404"},
	} {
		fs := checkPrometheus(c, "flag", nil, adapterFixture(true))
		record(t, fs)
		if codes(fs) != "MS125" || fs[0].Severity != SeverityWarning || !strings.Contains(fs[0].Message, "given with --prometheus-url") {
			t.Fatalf("%+v", fs)
		}
	}
}

func TestCheckAdapterVersion(t *testing.T) {
	a := adapterFixture(true)
	a.Image = "directxman12/k8s-prometheus-adapter:v0.10.0"
	fs := checkAdapterVersion(a, 28)
	record(t, fs)
	if codes(fs) != "MS113" {
		t.Fatal(codes(fs))
	}
	if fs := checkAdapterVersion(a, 25); len(fs) != 0 {
		t.Fatal("1.25 is fine for v0.10")
	}
	a.Image = "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0"
	if fs := checkAdapterVersion(a, 32); len(fs) != 0 {
		t.Fatal("v0.12 is fine")
	}
}

func TestCheckDiscovery(t *testing.T) {
	p := &fakeProm{ok: true}
	for i := 0; i < 1100; i++ {
		p.series = append(p.series, series(fmt.Sprintf("m%d{namespace=default,pod=p}", i)))
	}
	rules := "rules:\n- seriesQuery: '{namespace!=\"\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: x\n- seriesQuery: '{__name__=\"m1\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: y\n"
	d := simulate.Run(context.Background(), p, loadRules(t, rules), kubetest.DiscoveryMapper(), time.Minute, now, simulate.KeepAll)
	fs := checkDiscovery(d, adapterFixture(true))
	record(t, fs)
	if codes(fs) != "MS210,MS213" {
		t.Fatal(codes(fs))
	}
	svc, jobs := schema.GroupResource{Resource: "services"}, schema.GroupResource{Group: "batch", Resource: "jobs"}
	sa := grant.ServiceAccount{Namespace: "monitoring", Name: "prometheus-adapter"}
	mapped := map[schema.GroupResource]bool{svc: true, jobs: true}
	rbac := checkAdapterRBAC(sa, []schema.GroupResource{svc, jobs}, mapped, map[schema.GroupResource]bool{svc: true})
	record(t, rbac)
	if codes(rbac) != "MS115" || rbac[0].Severity != SeverityError || !strings.Contains(rbac[0].Fix.YAML, "name: prometheus-adapter, namespace: monitoring") ||
		!strings.Contains(rbac[0].Fix.YAML, `apiGroups: ["batch"]`) ||
		!strings.Contains(rbac[0].Fix.Command, "kubectl create clusterrolebinding metricscale-adapter-read-jobs.batch --clusterrole=metricscale-adapter-read-jobs.batch --serviceaccount=monitoring:prometheus-adapter") {
		t.Fatalf("%+v\n%s\n%s", rbac, rbac[0].Fix.Command, rbac[0].Fix.YAML)
	}
	// A resource no HPA in scope reads (the default rules turn the job label
	// into batch Jobs) is only a warning.
	w := checkAdapterRBAC(sa, []schema.GroupResource{jobs}, mapped, map[schema.GroupResource]bool{svc: true})
	record(t, w)
	if w[0].Severity != SeverityWarning {
		t.Fatal(w[0].Severity)
	}
	// A resource the adapter may not list that no rule maps is a fix's
	// business (the rule that maps it), not a finding of its own.
	if got := checkAdapterRBAC(sa, []schema.GroupResource{{Group: "apps", Resource: "deployments"}}, mapped, nil); len(got) != 0 {
		t.Fatal(got)
	}
	if codes(w) != "MS119" {
		t.Fatal(codes(w))
	}
}

// A rule the adapter cannot build makes it exit at start-up: MS109, an
// error. A seriesQuery Prometheus fails makes every relist fail: MS214, an
// error too.
func TestCheckDiscoveryRuleErrors(t *testing.T) {
	d := &simulate.Discovery{Rules: []*simulate.Rule{
		{Index: 0, BuildError: errors.New(`unable to parse metrics query template: template: metrics-query:1: unclosed action`)},
		{Index: 1, Rule: config.DiscoveryRule{SeriesQuery: `{__name__=~"^http_.*",namespace!=""`}, QueryError: errors.New("bad_data: 1:14: parse error: unexpected character inside braces")},
		{Index: 2},
	}}
	fs := checkDiscovery(d, adapterFixture(true))
	record(t, fs)
	if codes(fs) != "MS109,MS214" || fs[0].Severity != SeverityError || fs[1].Severity != SeverityError {
		t.Fatalf("%+v", fs)
	}
	if !strings.Contains(fs[0].Message, "(rules[0])") || !strings.Contains(fs[1].Message, "rules[1]") {
		t.Fatalf("the findings name the rules: %q, %q", fs[0].Message, fs[1].Message)
	}
	if want := `seriesQuery: {__name__=~"^http_.*",namespace!=""`; !slices.Contains(fs[1].Evidence, want) {
		t.Fatalf("MS214's evidence %q, want the seriesQuery Prometheus refuses: %s", fs[1].Evidence, want)
	}
}

// A config doctor cannot read (not from a ConfigMap, the ConfigMap or its key
// missing, forbidden) is not a config the adapter rejects: MS117, a warning.
func TestCheckAdapterConfigUnreadable(t *testing.T) {
	fs := checkAdapter(adapterFixture(true), nil, nil, errors.New("the adapter's --config=/etc/adapter/config.yaml does not come from a ConfigMap volume"))
	record(t, fs)
	if codes(fs) != "MS117" || fs[0].Severity != SeverityWarning || !strings.Contains(fs[0].Message, "ConfigMap volume") {
		t.Fatalf("%+v", fs)
	}
}
