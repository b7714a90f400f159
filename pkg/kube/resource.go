package kube

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ResourceFor is the resource of a kind as the API server's RESTMapper names
// it (Endpoints → endpoints, Ingress → ingresses.networking.k8s.io), the way
// the HPA controller's metrics client maps an Object metric's described
// object: by group and kind, whatever the version.
func ResourceFor(m apimeta.RESTMapper, apiVersion, kind string) (schema.GroupResource, error) {
	mapping, err := mappingFor(m, apiVersion, kind)
	if err != nil {
		return schema.GroupResource{}, err
	}
	return mapping.Resource.GroupResource(), nil
}

// KindFor is the group and kind the API server's RESTMapper knows for a
// reference's apiVersion and kind (a scale target's, say), so callers
// compare kinds by what the server serves, not by the reference's text.
func KindFor(m apimeta.RESTMapper, apiVersion, kind string) (schema.GroupKind, error) {
	mapping, err := mappingFor(m, apiVersion, kind)
	if err != nil {
		return schema.GroupKind{}, err
	}
	return mapping.GroupVersionKind.GroupKind(), nil
}

func mappingFor(m apimeta.RESTMapper, apiVersion, kind string) (*apimeta.RESTMapping, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	return m.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind})
}

// Singular is the singular name of a resource, as kubectl prints it
// (ingresses → ingress, endpoints → endpoints); the resource itself when
// the mapper does not know it.
func Singular(m apimeta.RESTMapper, gr schema.GroupResource) string {
	if m != nil {
		if s, err := m.ResourceSingularizer(gr.Resource); err == nil && s != "" {
			return s
		}
	}
	return gr.Resource
}

// ClusterScoped says whether gr's objects belong to no namespace (nodes,
// namespaces), as the RESTMapper maps it; false when it does not know gr.
func ClusterScoped(m apimeta.RESTMapper, gr schema.GroupResource) bool {
	if m == nil {
		return false
	}
	gvk, err := m.KindFor(gr.WithVersion(""))
	if err != nil {
		return false
	}
	mapping, err := m.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err == nil && mapping.Scope.Name() == apimeta.RESTScopeNameRoot
}
