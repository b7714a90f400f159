package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
)

func TestResourceFor(t *testing.T) {
	m := kubetest.DiscoveryMapper()
	cases := []struct {
		apiVersion, kind string
		want             schema.GroupResource
		singular         string
		wantErr          bool
	}{
		{"v1", "Pod", schema.GroupResource{Resource: "pods"}, "pod", false},
		{"v1", "Endpoints", schema.GroupResource{Resource: "endpoints"}, "endpoints", false},
		{"networking.k8s.io/v1", "Ingress", schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}, "ingress", false},
		{"apps/v1", "Deployment", schema.GroupResource{Group: "apps", Resource: "deployments"}, "deployment", false},
		// The version of the reference does not matter, as for the HPA controller.
		{"apps/v1beta2", "Deployment", schema.GroupResource{Group: "apps", Resource: "deployments"}, "deployment", false},
		{"keda.sh/v1alpha1", "ScaledObject", schema.GroupResource{Group: "keda.sh", Resource: "scaledobjects"}, "scaledobject", false},
		{"policy.example.com/v1", "TrafficPolicy", schema.GroupResource{Group: "policy.example.com", Resource: "trafficpolicies"}, "trafficpolicy", false},
		{"v1", "Ingress", schema.GroupResource{}, "", true}, // Ingress is not in the core group
		{"v1", "Nothing", schema.GroupResource{}, "", true},
		{"a/b/c", "Pod", schema.GroupResource{}, "", true},
	}
	for _, c := range cases {
		got, err := ResourceFor(m, c.apiVersion, c.kind)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ResourceFor(%s, %s) = %v, %v; want %v (error %v)", c.apiVersion, c.kind, got, err, c.want, c.wantErr)
			continue
		}
		kind, err := KindFor(m, c.apiVersion, c.kind)
		if wantKind := (schema.GroupKind{Group: c.want.Group, Kind: c.kind}); (err != nil) != c.wantErr || !c.wantErr && kind != wantKind {
			t.Errorf("KindFor(%s, %s) = %v, %v; want %v (error %v)", c.apiVersion, c.kind, kind, err, wantKind, c.wantErr)
		}
		if !c.wantErr {
			if s := Singular(m, got); s != c.singular {
				t.Errorf("Singular(%v) = %q, want %q", got, s, c.singular)
			}
		}
	}
}

func TestClusterScoped(t *testing.T) {
	m := kubetest.DiscoveryMapper()
	for gr, want := range map[schema.GroupResource]bool{
		{Resource: "nodes"}: true, {Resource: "namespaces"}: true, {Resource: "pods"}: false,
		{Group: "apps", Resource: "deployments"}: false, {Resource: "unknowns"}: false,
	} {
		if got := ClusterScoped(m, gr); got != want {
			t.Errorf("%s: %v, want %v", gr, got, want)
		}
	}
}
