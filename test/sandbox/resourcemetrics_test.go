package sandbox

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

// A pod's ResourceUsage sets what it names over kwok's default, for the
// containers named or all, and is owned by the pod.
func TestResourceUsageFor(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "u-1"}}
	tests := []struct {
		name       string
		usage      corev1.ResourceList
		containers []string
		want       string
	}{
		{name: "cpu over the default memory", usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
			want: `{"usage":{"cpu":{"value":"250m"},"memory":{"value":"1Mi"}}}`},
		{name: "no usage: kwok's default", want: `{"usage":{"cpu":{"value":"1m"},"memory":{"value":"1Mi"}}}`},
		{name: "one container, zero cpu", usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			containers: []string{"sidecar"}, want: `{"containers":["sidecar"],"usage":{"cpu":{"value":"0"},"memory":{"value":"64Mi"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := resourceUsageFor(pod, tt.usage, tt.containers)
			b, err := u.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				APIVersion, Kind string
				Metadata         metav1.ObjectMeta
				Spec             struct{ Usages []json.RawMessage }
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.APIVersion != "kwok.x-k8s.io/v1alpha1" || got.Kind != "ResourceUsage" || got.Metadata.Name != "web-1" || got.Metadata.Namespace != "shop" ||
				len(got.Metadata.OwnerReferences) != 1 || got.Metadata.OwnerReferences[0].UID != "u-1" || got.Metadata.OwnerReferences[0].Kind != "Pod" {
				t.Fatalf("object %s", b)
			}
			if len(got.Spec.Usages) != 1 || string(got.Spec.Usages[0]) != tt.want {
				t.Fatalf("usages %s, want [%s]", got.Spec.Usages, tt.want)
			}
		})
	}
}
