// Package kubetest holds test helpers that mirror what the API server says.
package kubetest

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/restmapper"
)

// DiscoveryMapper is the mapper kubectl builds from the API server's
// discovery: the names below are what a 1.32 API server lists, plus CRDs.
func DiscoveryMapper() apimeta.RESTMapper {
	groups := []*restmapper.APIGroupResources{
		{Group: metav1.APIGroup{Name: "", Versions: []metav1.GroupVersionForDiscovery{{Version: "v1"}}, PreferredVersion: metav1.GroupVersionForDiscovery{Version: "v1"}},
			VersionedResources: map[string][]metav1.APIResource{"v1": {
				{Name: "pods", SingularName: "pod", Namespaced: true, Kind: "Pod"},
				{Name: "services", SingularName: "service", Namespaced: true, Kind: "Service"},
				{Name: "endpoints", SingularName: "endpoints", Namespaced: true, Kind: "Endpoints"},
				{Name: "namespaces", SingularName: "namespace", Kind: "Namespace"},
				{Name: "nodes", SingularName: "node", Kind: "Node"},
				{Name: "persistentvolumes", SingularName: "persistentvolume", Kind: "PersistentVolume"},
			}}},
		{Group: metav1.APIGroup{Name: "networking.k8s.io", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "networking.k8s.io/v1", Version: "v1"}}, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "networking.k8s.io/v1", Version: "v1"}},
			VersionedResources: map[string][]metav1.APIResource{"v1": {{Name: "ingresses", SingularName: "ingress", Namespaced: true, Kind: "Ingress"}}}},
		{Group: metav1.APIGroup{Name: "apps", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "apps/v1", Version: "v1"}}, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "apps/v1", Version: "v1"}},
			VersionedResources: map[string][]metav1.APIResource{"v1": {{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment"},
				{Name: "statefulsets", SingularName: "statefulset", Namespaced: true, Kind: "StatefulSet"}}}},
		{Group: metav1.APIGroup{Name: "keda.sh", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "keda.sh/v1alpha1", Version: "v1alpha1"}}, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "keda.sh/v1alpha1", Version: "v1alpha1"}},
			VersionedResources: map[string][]metav1.APIResource{"v1alpha1": {{Name: "scaledobjects", SingularName: "scaledobject", Namespaced: true, Kind: "ScaledObject"}}}},
		{Group: metav1.APIGroup{Name: "policy.example.com", Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "policy.example.com/v1", Version: "v1"}}, PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "policy.example.com/v1", Version: "v1"}},
			VersionedResources: map[string][]metav1.APIResource{"v1": {{Name: "trafficpolicies", SingularName: "trafficpolicy", Namespaced: true, Kind: "TrafficPolicy"}}}},
	}
	return restmapper.NewDiscoveryRESTMapper(groups)
}
