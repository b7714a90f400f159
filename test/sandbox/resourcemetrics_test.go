package sandbox

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"sigs.k8s.io/yaml"
)

// metrics-server's manifests render as its release manifest has them, with
// the sandbox's port in the container, the Service and the APIService.
func TestMetricsServerManifestsRender(t *testing.T) {
	files, err := builtinManifests()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(files, "metrics-server.yaml", TemplateData{Ports: Ports{MetricsServer: 16445}, StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	var dep *appsv1.Deployment
	var api *apiregistrationv1.APIService
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("document does not parse: %v\n%s", err, doc)
		}
		kinds[meta.Kind]++
		switch meta.Kind {
		case "Deployment":
			dep = &appsv1.Deployment{}
			if err := yaml.UnmarshalStrict([]byte(doc), dep); err != nil {
				t.Fatal(err)
			}
		case "APIService":
			api = &apiregistrationv1.APIService{}
			if err := yaml.UnmarshalStrict([]byte(doc), api); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]int{"ServiceAccount": 1, "ClusterRole": 2, "RoleBinding": 1, "ClusterRoleBinding": 2, "Service": 1, "Deployment": 1, "APIService": 1}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if rt := runtimes[imageRepo(c.Image)]; rt.binary != "metrics-server" {
		t.Errorf("image %s runs %q on the host, want metrics-server", c.Image, rt.binary)
	}
	if dep.Namespace != MetricsServerNamespace || dep.Name != MetricsServerName || c.Ports[0].ContainerPort != 16445 {
		t.Errorf("Deployment %s/%s, port %d", dep.Namespace, dep.Name, c.Ports[0].ContainerPort)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--metric-resolution="+MetricsServerResolution.String()) {
		t.Errorf("args %q, want --metric-resolution=%s", c.Args, MetricsServerResolution)
	}
	s := api.Spec
	if api.Name != ResourceMetricsAPIService || s.Group != "metrics.k8s.io" || s.Version != "v1beta1" || s.Service.Namespace != MetricsServerNamespace ||
		s.Service.Name != MetricsServerName || *s.Service.Port != 16445 || !s.InsecureSkipTLSVerify || s.GroupPriorityMinimum != 100 || s.VersionPriority != 100 {
		t.Errorf("APIService %s: %+v", api.Name, s)
	}
}

// The host node's /metrics/resource is kubelet's format, which
// metrics-server parses: every family, a sample per running container,
// and this process's own CPU time and memory.
func TestWriteResourceMetrics(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	procs := []containerProc{
		{namespace: "monitoring", pod: "prometheus-server-abc", container: "prometheus-server", pid: os.Getpid(), started: started},
		{namespace: "monitoring", pod: "gone", container: "gone", pid: 1 << 30, started: started}, // no such process: left out
	}
	var b bytes.Buffer
	writeResourceMetrics(&b, procs, time.Now())
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	for _, name := range []string{"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_start_time_seconds"} {
		f := families[name]
		if f == nil || len(f.Metric) != 1 {
			t.Fatalf("%s: %v", name, f)
		}
		labels := map[string]string{}
		for _, l := range f.Metric[0].Label {
			labels[l.GetName()] = l.GetValue()
		}
		if want := map[string]string{"container": "prometheus-server", "namespace": "monitoring", "pod": "prometheus-server-abc"}; !reflect.DeepEqual(labels, want) {
			t.Errorf("%s labels %v, want %v", name, labels, want)
		}
	}
	if got := families["container_start_time_seconds"].Metric[0].GetGauge().GetValue(); got != float64(started.Unix()) {
		t.Errorf("start time %v, want %d", got, started.Unix())
	}
	if mem := families["node_memory_working_set_bytes"].Metric[0].GetGauge().GetValue(); mem < 1<<20 {
		t.Errorf("node working set %v bytes: less than this test's own", mem)
	}
	if cpu := families["node_cpu_usage_seconds_total"].Metric[0].GetCounter().GetValue(); cpu <= 0 {
		t.Errorf("node CPU %v s", cpu)
	}
}
