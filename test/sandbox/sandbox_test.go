package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"
)

func TestImageRepo(t *testing.T) {
	tests := map[string]string{
		"registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0": "registry.k8s.io/prometheus-adapter/prometheus-adapter",
		"localhost:5000/prom/pushgateway":                               "localhost:5000/prom/pushgateway",
		"quay.io/prometheus/prometheus@sha256:abc":                      "quay.io/prometheus/prometheus",
		"jimmidyson/configmap-reload:v0.8.0":                            "jimmidyson/configmap-reload",
	}
	for in, want := range tests {
		if got := imageRepo(in); got != want {
			t.Errorf("imageRepo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostArgs(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = idx.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-server", Namespace: "monitoring"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"}})
	_ = idx.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "thanos", Namespace: "monitoring"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP}})
	_ = idx.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pushgateway", Namespace: "monitoring"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "pg"}, Ports: []corev1.ServicePort{{Port: 9091, TargetPort: intstr.FromString("http")}}}})
	podIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = podIdx.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pg-1", Namespace: "monitoring", Labels: map[string]string{"app": "pg"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "pg", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 41234}}}}}})
	a := &hostAgent{svcs: corelisters.NewServiceLister(idx), pods: corelisters.NewPodLister(podIdx)}
	pr := &podRun{mounts: map[string]string{
		"adapter\x00/etc/adapter/": "/state/pods/u/volumes/config",
		"adapter\x00/tmp":          "/state/pods/u/volumes/tmp",
	}}
	tests := []struct {
		name    string
		command []string
		args    []string
		want    []string
	}{
		{
			name: "chart args with the binary first",
			args: []string{"/adapter", "--config=/etc/adapter/config.yaml", "--cert-dir=/tmp/cert", "--prometheus-url=http://prometheus-server.monitoring.svc:9090/"},
			want: []string{"--config=/state/pods/u/volumes/config/config.yaml", "--cert-dir=/state/pods/u/volumes/tmp/cert", "--prometheus-url=http://localhost:9090/"},
		},
		{
			name: "cluster.local suffix and a path",
			args: []string{"--prometheus-url=http://prometheus-server.monitoring.svc.cluster.local:80/prometheus"},
			want: []string{"--prometheus-url=http://localhost:80/prometheus"},
		},
		{
			name: "a wrong or unresolvable URL stays as it is",
			args: []string{"--prometheus-url=http://prometheus.default.svc:9090", "--other=http://thanos.monitoring.svc:9090", "--v=2"},
			want: []string{"--prometheus-url=http://prometheus.default.svc:9090", "--other=http://thanos.monitoring.svc:9090", "--v=2"},
		},
		{
			name: "a selector Service resolves to its pod's port",
			args: []string{"--push=http://pushgateway.monitoring.svc:9091/metrics"},
			want: []string{"--push=http://127.0.0.1:41234/metrics"},
		},
		{
			name:    "command and separate values",
			command: []string{"/bin/adapter"},
			args:    []string{"--config", "/etc/adapter/config.yaml", "--tmp=/tmpfoo"},
			want:    []string{"--config", "/state/pods/u/volumes/config/config.yaml", "--tmp=/tmpfoo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &containerRun{pod: pr, spec: corev1.Container{Name: "adapter", Command: tt.command, Args: tt.args}}
			got := a.hostArgs(c)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBuiltinManifestsRender(t *testing.T) {
	files, err := builtinManifests()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(files, "monitoring.yaml", TemplateData{Ports: Ports{Prometheus: 19090, Pushgateway: 19091, Adapter: 16443, KubeStateMetrics: 18080, KubeStateMetricsTelemetry: 18081}, StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	kinds := map[string]int{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("document does not parse: %v\n%s", err, doc)
		}
		kinds[meta.Kind]++
		if meta.Kind == "ConfigMap" && strings.Contains(doc, "name: prometheus-adapter") {
			cm = &corev1.ConfigMap{}
			if err := yaml.UnmarshalStrict([]byte(doc), cm); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]int{"Namespace": 1, "ConfigMap": 2, "Deployment": 4, "Service": 4, "ServiceAccount": 3, "ClusterRole": 4, "ClusterRoleBinding": 5, "RoleBinding": 1, "APIService": 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	// The adapter config is the chart's default rules, as the Interlok guide dumps them.
	var cfg struct {
		Rules []struct {
			SeriesQuery  string `json:"seriesQuery"`
			MetricsQuery string `json:"metricsQuery"`
		} `json:"rules"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 6 || !strings.Contains(cfg.Rules[0].SeriesQuery, `container_name!="POD"`) {
		t.Fatalf("want the 6 default rules, got %+v", cfg.Rules)
	}
	if !strings.Contains(string(out), "--web.listen-address=127.0.0.1:19090") || !strings.Contains(string(out), "port: 16443") ||
		!strings.Contains(string(out), "--port=18080") || !strings.Contains(string(out), "--telemetry-port=18081") {
		t.Fatal("ports not rendered")
	}
	jobs := scrapeJobs(t, configMapKey(t, out, "prometheus-server", "prometheus.yml"))
	if got, want := sortedKeys(jobs), []string{"kube-state-metrics", "prometheus", "prometheus-adapter", "prometheus-pushgateway"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("scrape jobs %v, want %v", got, want)
	}
	checkMonitoringJobs(t, jobs)
}

// scrapeJob is the part of a prometheus.yml scrape config these tests read.
// (Prometheus's own config package would pull every cloud SDK into the
// module for a test.)
type scrapeJob struct {
	JobName     string `json:"job_name"`
	HonorLabels bool   `json:"honor_labels"`
	Scheme      string `json:"scheme"`
	TLSConfig   struct {
		InsecureSkipVerify bool `json:"insecure_skip_verify"`
	} `json:"tls_config"`
	Authorization *struct {
		CredentialsFile string `json:"credentials_file"`
	} `json:"authorization"`
	StaticConfigs []struct {
		Targets []string `json:"targets"`
	} `json:"static_configs"`
}

func (j *scrapeJob) targets() []string {
	var out []string
	for _, sc := range j.StaticConfigs {
		out = append(out, sc.Targets...)
	}
	return out
}

// checkMonitoringJobs checks how Prometheus scrapes the monitoring stack
// (ports as TestBuiltinManifestsRender renders them).
func checkMonitoringJobs(t *testing.T, jobs map[string]*scrapeJob) {
	t.Helper()
	if ksm := jobs["kube-state-metrics"]; ksm == nil || !ksm.HonorLabels || !reflect.DeepEqual(ksm.targets(), []string{"127.0.0.1:18080"}) {
		t.Errorf("kube-state-metrics job: want honor_labels and target 127.0.0.1:18080, got %+v", ksm)
	}
	adapter := jobs["prometheus-adapter"]
	if adapter == nil {
		t.Fatal("no prometheus-adapter job")
	}
	if adapter.Scheme != "https" || !adapter.TLSConfig.InsecureSkipVerify || adapter.Authorization == nil ||
		adapter.Authorization.CredentialsFile != serviceAccountTokenFile("/state", "monitoring", "prometheus-server") ||
		!reflect.DeepEqual(adapter.targets(), []string{"127.0.0.1:16443"}) {
		t.Errorf("prometheus-adapter job: want https to 127.0.0.1:16443 without verifying its self-signed certificate, with the prometheus-server ServiceAccount's token; got %+v", adapter)
	}
}

// scrapeJobs parses the scrape configs of a prometheus.yml, strictly.
func scrapeJobs(t *testing.T, promYML string) map[string]*scrapeJob {
	t.Helper()
	var cfg struct {
		ScrapeConfigs []*scrapeJob `json:"scrape_configs"`
	}
	// Not strict: the jobs have fields this test does not read.
	if err := yaml.Unmarshal([]byte(promYML), &cfg); err != nil {
		t.Fatalf("prometheus.yml does not parse: %v\n%s", err, promYML)
	}
	jobs := map[string]*scrapeJob{}
	for _, sc := range cfg.ScrapeConfigs {
		if jobs[sc.JobName] != nil {
			t.Errorf("prometheus.yml: job %s twice", sc.JobName)
		}
		jobs[sc.JobName] = sc
	}
	return jobs
}

// configMapKey returns one key of the named ConfigMap among rendered manifests.
func configMapKey(t *testing.T, manifests []byte, name, key string) string {
	t.Helper()
	for _, doc := range strings.Split(string(manifests), "\n---\n") {
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal([]byte(doc), &cm); err == nil && cm.Kind == "ConfigMap" && cm.Name == name {
			return cm.Data[key]
		}
	}
	t.Fatalf("no ConfigMap %s in the manifests", name)
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestReadNewLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "progress.log")
	if lines, off := readNewLines(p, 0); lines != nil || off != 0 {
		t.Fatalf("missing file: %v %d", lines, off)
	}
	_ = os.WriteFile(p, []byte("one\ntwo\npart"), 0o644)
	lines, off := readNewLines(p, 0)
	if !reflect.DeepEqual(lines, []string{"one", "two"}) || off != 8 {
		t.Fatalf("got %q %d", lines, off)
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("ial\n")
	f.Close()
	lines, _ = readNewLines(p, off)
	if !reflect.DeepEqual(lines, []string{"partial"}) {
		t.Fatalf("got %q", lines)
	}
}

func TestScenariosLoad(t *testing.T) {
	dir := filepath.Join("..", "e2e", "scenarios")
	for _, name := range []string{"interlok", "promfake", "kong"} {
		s, err := LoadScenario(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.render(TemplateData{Ports: Ports{Prometheus: 19090, Pushgateway: 19091, Adapter: 16443, KubeStateMetrics: 18080, KubeStateMetricsTelemetry: 18081}, StateDir: "/state"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A scenario that replaces prometheus.yml keeps the monitoring
		// stack's own scrape jobs.
		if strings.Contains(string(out), "prometheus.yml:") {
			checkMonitoringJobs(t, scrapeJobs(t, configMapKey(t, out, "prometheus-server", "prometheus.yml")))
		}
		for _, p := range s.Pushes {
			if _, err := renderString(p.Body, PushTarget{Namespace: "default", Pod: "p-1"}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if _, err := LoadScenario(dir, "nope"); err == nil || !strings.Contains(err.Error(), "interlok") {
		t.Fatalf("unknown scenario should list the known ones, got %v", err)
	}
}

func TestMovePorts(t *testing.T) {
	got := movePorts([]string{"--secure-port=6443", "--web.listen-address=127.0.0.1:9090", "--webhook-url=http://127.0.0.1:9090/-/reload", "--v=2", "--x=16443"},
		map[int32]int{6443: 40001, 9090: 40002})
	want := []string{"--secure-port=40001", "--web.listen-address=127.0.0.1:40002", "--webhook-url=http://127.0.0.1:9090/-/reload", "--v=2", "--x=16443"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestResolveAddr(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = idx.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-server", Namespace: "monitoring"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"}})
	a := &hostAgent{svcs: corelisters.NewServiceLister(idx), pods: corelisters.NewPodLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))}
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"prometheus-server.monitoring.svc:9090", "localhost:9090", false},
		{"prometheus-server.monitoring.svc.cluster.local:9090", "localhost:9090", false},
		{"127.0.0.1:9090", "127.0.0.1:9090", false},
		{"missing.monitoring.svc:9090", "", true},
	}
	for _, tt := range tests {
		got, err := a.resolveAddr(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("resolveAddr(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
