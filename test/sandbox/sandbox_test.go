package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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
			name: "a host:port address of a Service, as KEDA's metrics apiserver names its operator",
			args: []string{"--metrics-service-address=prometheus-server.monitoring.svc.cluster.local:9666", "--other=thanos.monitoring.svc:9090", "--bind=127.0.0.1:80"},
			want: []string{"--metrics-service-address=localhost:9666", "--other=thanos.monitoring.svc:9090", "--bind=127.0.0.1:80"},
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
	out, err := Render(files, "monitoring.yaml", TemplateData{Ports: Ports{APIServer: 16440, Prometheus: 19090, Pushgateway: 19091, Adapter: 16443, KubeStateMetrics: 18080, KubeStateMetricsTelemetry: 18081, KEDAOperatorMetrics: 18082}, StateDir: "/state"})
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
	if got, want := sortedKeys(jobs), []string{"apiserver", "keda-operator", "kube-state-metrics", "prometheus", "prometheus-adapter", "prometheus-pushgateway"}; !reflect.DeepEqual(got, want) {
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
	if api := jobs["apiserver"]; api == nil || api.Authorization == nil || api.Authorization.CredentialsFile != adapter.Authorization.CredentialsFile ||
		!reflect.DeepEqual(api.targets(), []string{"127.0.0.1:16440"}) {
		t.Errorf("apiserver job: want https to 127.0.0.1:16440 with the prometheus-server ServiceAccount's token; got %+v", api)
	}
	if keda := jobs["keda-operator"]; keda == nil || keda.Scheme != "" || !reflect.DeepEqual(keda.targets(), []string{"127.0.0.1:18082"}) {
		t.Errorf("keda-operator job: want http to 127.0.0.1:18082; got %+v", keda)
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
	for _, name := range []string{"interlok", "promfake", "kong", "cpu"} {
		s, err := LoadScenario(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.render(TemplateData{Ports: Ports{APIServer: 16440, Prometheus: 19090, Pushgateway: 19091, Adapter: 16443, KubeStateMetrics: 18080, KubeStateMetricsTelemetry: 18081, KEDAOperatorMetrics: 18082}, StateDir: "/state"})
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

// fakeEnvKeys holds "secret|configmap/NAMESPACE/NAME/KEY" → value.
type fakeEnvKeys map[string]string

func (f fakeEnvKeys) lookup(kind, ns, name, key string) (string, error) {
	v, ok := f[kind+"/"+ns+"/"+name+"/"+key]
	if !ok {
		return "", fmt.Errorf("couldn't find key %s in %s %s/%s", key, map[string]string{"secret": "Secret", "configmap": "ConfigMap"}[kind], ns, name)
	}
	return v, nil
}

func (f fakeEnvKeys) secretKey(ns, name, key string) (string, error) {
	return f.lookup("secret", ns, name, key)
}

func (f fakeEnvKeys) configMapKey(ns, name, key string) (string, error) {
	return f.lookup("configmap", ns, name, key)
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "keda-operator-1", Namespace: "keda"},
		Spec: corev1.PodSpec{NodeName: HostNode, ServiceAccountName: "keda-operator"}}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	tests := []struct {
		name    string
		env     []corev1.EnvVar
		want    []string
		wantErr string
	}{
		{name: "literal values, empty ones too", env: []corev1.EnvVar{{Name: "WATCH_NAMESPACE"}, {Name: "KEDA_CLUSTER_OBJECT_NAMESPACE", Value: "keda"}},
			want: []string{"WATCH_NAMESPACE=", "KEDA_CLUSTER_OBJECT_NAMESPACE=keda"}},
		{name: "downward API fields", env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: field("metadata.namespace")}, {Name: "POD_NAME", ValueFrom: field("metadata.name")},
			{Name: "NODE", ValueFrom: field("spec.nodeName")}, {Name: "SA", ValueFrom: field("spec.serviceAccountName")}, {Name: "IP", ValueFrom: field("status.podIP")}},
			want: []string{"POD_NAMESPACE=keda", "POD_NAME=keda-operator-1", "NODE=" + HostNode, "SA=keda-operator", "IP=127.0.0.1"}},
		{name: "a field the host cannot give", env: []corev1.EnvVar{{Name: "UID", ValueFrom: field("metadata.uid")}}, wantErr: "cannot resolve fieldRef metadata.uid"},
		{name: "Secret and ConfigMap keys; values rewritten", env: []corev1.EnvVar{
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "grafana"}, Key: "admin-password"}}},
			{Name: "LEVEL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "level"}}},
			{Name: "GRAFANA_URL", Value: "http://grafana.monitoring.svc"}},
			want: []string{"PASSWORD=s3cret", "LEVEL=debug", "GRAFANA_URL=http://127.0.0.1:3000"}},
		{name: "a missing Secret key fails the start, naming no value", env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "grafana"}, Key: "token"}}}},
			wantErr: "env TOKEN: couldn't find key token in Secret keda/grafana"},
		{name: "a source the host cannot give", env: []corev1.EnvVar{{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}}},
			wantErr: "resolves value, fieldRef, secretKeyRef and configMapKeyRef only"},
	}
	keys := fakeEnvKeys{"secret/keda/grafana/admin-password": "s3cret", "configmap/keda/settings/level": "debug"}
	rewrite := func(v string) string { return strings.Replace(v, "grafana.monitoring.svc", "127.0.0.1:3000", 1) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := containerEnv(pod, corev1.Container{Env: tt.env}, keys, rewrite)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestVolumeFiles(t *testing.T) {
	cms := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = cms.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "adapter", Namespace: "monitoring"},
		Data: map[string]string{"config.yaml": "rules: []"}, BinaryData: map[string][]byte{"blob": {0, 1}}})
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = secrets.Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kedaorg-certs", Namespace: "keda"},
		Data: map[string][]byte{"ca.crt": []byte("CA"), "tls.crt": []byte("CRT"), "tls.key": []byte("KEY")}})
	a := &hostAgent{cms: corelisters.NewConfigMapLister(cms), secrets: corelisters.NewSecretLister(secrets)}
	optional := true
	tests := []struct {
		name      string
		namespace string
		volume    corev1.VolumeSource
		want      map[string][]byte
		wantErr   string
	}{
		{name: "a ConfigMap, text and binary keys", namespace: "monitoring", volume: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "adapter"}}},
			want: map[string][]byte{"config.yaml": []byte("rules: []"), "blob": {0, 1}}},
		{name: "a ConfigMap's items, renamed", namespace: "monitoring", volume: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "adapter"},
			Items: []corev1.KeyToPath{{Key: "config.yaml", Path: "conf/adapter.yaml"}}}},
			want: map[string][]byte{"conf/adapter.yaml": []byte("rules: []")}},
		{name: "a Secret", namespace: "keda", volume: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "kedaorg-certs"}},
			want: map[string][]byte{"ca.crt": []byte("CA"), "tls.crt": []byte("CRT"), "tls.key": []byte("KEY")}},
		{name: "a missing optional Secret: an empty volume", namespace: "other", volume: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "kedaorg-certs", Optional: &optional}}},
		{name: "a missing Secret: the pod waits, as kubelet's mount fails", namespace: "other", volume: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "kedaorg-certs"}},
			wantErr: `secret "kedaorg-certs" not found`},
		{name: "a missing ConfigMap", namespace: "other", volume: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "adapter"}}},
			wantErr: `configmap "adapter" not found`},
		{name: "an emptyDir holds nothing to write", volume: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.volumeFiles(tt.namespace, corev1.Volume{Name: "v", VolumeSource: tt.volume})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// KEDA's manifests render; both images run on the host, every listener is
// on a rendered loopback port, and the external metrics APIService is not
// among them (the adapter keeps it until SetExternalMetrics).
func TestKEDAManifestsRender(t *testing.T) {
	files, err := builtinManifests()
	if err != nil {
		t.Fatal(err)
	}
	ports := Ports{KEDAOperatorGRPC: 19666, KEDAOperatorMetrics: 18082, KEDAOperatorHealth: 18083, KEDAMetricsAPIServer: 16444, KEDAMetricsAPIServerMetrics: 18084}
	out, err := Render(files, "keda.yaml", TemplateData{Ports: ports, StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	deployments := map[string]*appsv1.Deployment{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("document does not parse: %v\n%s", err, doc)
		}
		kinds[meta.Kind]++
		if meta.Kind == "Deployment" {
			d := &appsv1.Deployment{}
			if err := yaml.UnmarshalStrict([]byte(doc), d); err != nil {
				t.Fatal(err)
			}
			deployments[d.Name] = d
		}
	}
	want := map[string]int{"Namespace": 1, "ServiceAccount": 1, "ClusterRole": 2, "Role": 1, "ClusterRoleBinding": 3, "RoleBinding": 2, "Deployment": 2, "Service": 2}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	for _, name := range kedaDeployments {
		d := deployments[name]
		if d == nil {
			t.Fatalf("no Deployment %s", name)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if rt, ok := runtimes[imageRepo(c.Image)]; !ok || rt.binary == "" {
			t.Errorf("%s: the host cannot run image %s", name, c.Image)
		}
		for _, p := range c.Ports {
			if p.ContainerPort < 16000 {
				t.Errorf("%s: port %s not rendered from Ports: %d", name, p.Name, p.ContainerPort)
			}
		}
	}
	for _, arg := range []string{"--metrics-service-bind-address=127.0.0.1:19666", "--health-probe-bind-address=127.0.0.1:18083", "--secure-port=16444",
		"--metrics-service-address=keda-operator.keda.svc.cluster.local:19666", "--cert-dir=/certs"} {
		if !strings.Contains(string(out), arg) {
			t.Errorf("no %s in the manifests", arg)
		}
	}
}

func TestExternalMetricsSpec(t *testing.T) {
	ports := Ports{Adapter: 16443, KEDAMetricsAPIServer: 16444}
	tests := []struct {
		to           ExternalMetricsServer
		service      string
		port         int32
		skipVerify   bool
		wantErrMatch string
	}{
		{to: ExternalMetricsAdapter, service: "monitoring/prometheus-adapter", port: 16443, skipVerify: true},
		// KEDA's operator injects its CA into caBundle: no skip.
		{to: ExternalMetricsKEDA, service: "keda/keda-metrics-apiserver", port: 16444},
		{to: "kedaa", wantErrMatch: `unknown external metrics server "kedaa": choose one of [none adapter keda]`},
	}
	for _, tt := range tests {
		t.Run(string(tt.to), func(t *testing.T) {
			spec, err := ExternalMetricsSpec(tt.to, ports)
			if tt.wantErrMatch != "" {
				if err == nil || err.Error() != tt.wantErrMatch {
					t.Fatalf("error %v, want %q", err, tt.wantErrMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := spec.Service.Namespace + "/" + spec.Service.Name; got != tt.service || *spec.Service.Port != tt.port ||
				spec.InsecureSkipTLSVerify != tt.skipVerify || len(spec.CABundle) != 0 || spec.Group != "external.metrics.k8s.io" || spec.Version != "v1beta1" {
				t.Fatalf("spec %+v (service %s)", spec, got)
			}
		})
	}
}
