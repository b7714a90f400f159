package apiservice

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestOwnersOf(t *testing.T) {
	owners := Owners{AdapterService: "monitoring/prometheus-adapter", Adapter: "monitoring/prometheus-adapter"}
	tests := []struct {
		owners  Owners
		service string
		want    Backend
	}{
		{owners, "keda/keda-operator-metrics-apiserver", KEDA},
		{owners, "keda/keda-metrics-apiserver", KEDA},
		{owners, "monitoring/prometheus-adapter", Adapter},
		{owners, "monitoring/custom-external", Adapter},
		{owners, "other/metrics", Unknown},
		{owners, "", Unknown},
		// A KEDA Service found by its labels, whatever its name.
		{Owners{KEDAService: "autoscaling/external-metrics"}, "autoscaling/external-metrics", KEDA},
		// Without the adapter's namespace, only its Service counts.
		{Owners{AdapterService: "monitoring/prometheus-adapter"}, "monitoring/custom-external", Unknown},
	}
	for _, tt := range tests {
		if got := tt.owners.Of(tt.service); got != tt.want {
			t.Errorf("%+v.Of(%q) = %q, want %q", tt.owners, tt.service, got, tt.want)
		}
	}
}

func service(ns, name string, labels map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func TestFindKEDAMetricsServer(t *testing.T) {
	keda := map[string]string{"app.kubernetes.io/part-of": KEDAPartOf}
	https := corev1.ServicePort{Name: "https", Port: 16444}
	metrics := corev1.ServicePort{Name: "metrics", Port: 8080}
	tests := []struct {
		name    string
		objects []runtime.Object
		ref     string
		want    KEDAMetricsServer
		wantErr string
	}{
		{name: "release", objects: []runtime.Object{
			service("keda", "keda-operator", keda, metrics),
			service("keda", "keda-operator-metrics-apiserver", keda, corev1.ServicePort{Name: "https", Port: 443}, metrics),
		}, want: KEDAMetricsServer{"keda", "keda-operator-metrics-apiserver", 443}},
		{name: "renamed, found by labels", objects: []runtime.Object{
			service("autoscale", "keda-metrics-apiserver", keda, https, metrics),
		}, want: KEDAMetricsServer{"autoscale", "keda-metrics-apiserver", 16444}},
		{name: "by the name label", objects: []runtime.Object{
			service("keda", "ext", map[string]string{"app.kubernetes.io/part-of": KEDAPartOf, "app.kubernetes.io/name": "keda-operator-metrics-apiserver"}, corev1.ServicePort{Port: 6443}),
		}, want: KEDAMetricsServer{"keda", "ext", 6443}},
		{name: "unlabelled release name", objects: []runtime.Object{
			service("keda", "keda-operator-metrics-apiserver", nil),
		}, want: KEDAMetricsServer{"keda", "keda-operator-metrics-apiserver", 443}},
		{name: "named by flag", ref: "x/y", objects: []runtime.Object{
			service("keda", "keda-operator-metrics-apiserver", keda, https), service("x", "y", nil, https),
		}, want: KEDAMetricsServer{"x", "y", 16444}},
		{name: "flag names nothing", ref: "x/y", wantErr: `reading KEDA's metrics server Service x/y`},
		{name: "none", objects: []runtime.Object{service("keda", "keda-operator", keda, metrics)}, wantErr: "no KEDA metrics server Service found"},
		{name: "two", objects: []runtime.Object{
			service("a", "keda-operator-metrics-apiserver", keda, https), service("b", "keda-operator-metrics-apiserver", keda, https),
		}, wantErr: "several KEDA metrics server Services (a/keda-operator-metrics-apiserver, b/keda-operator-metrics-apiserver): name one with --keda-metrics-service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindKEDAMetricsServer(context.Background(), fake.NewSimpleClientset(tt.objects...), tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestExternalSpec(t *testing.T) {
	s := ExternalSpec("keda", "keda-operator-metrics-apiserver", 443)
	if Ref(s) != "keda/keda-operator-metrics-apiserver" || *s.Service.Port != 443 || s.InsecureSkipTLSVerify || len(s.CABundle) != 0 ||
		s.Group != "external.metrics.k8s.io" || s.Version != "v1beta1" || s.GroupPriorityMinimum != 100 || s.VersionPriority != 100 {
		t.Fatalf("%+v", s)
	}
}
