package migrate

import (
	"sort"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// ApplyAccess is every write --apply makes, and the reads of its waits:
// for each namespace of sos, create and get of ScaledObjects and get of
// HPAs; when the external metrics APIService moves, its update (create
// when there is none).
func ApplyAccess(sos []*keda.ScaledObject, ext APIServiceStep) []authorizationv1.ResourceAttributes {
	var out []authorizationv1.ResourceAttributes
	for _, ns := range namespacesOf(len(sos), func(i int) string { return sos[i].Namespace }) {
		out = append(out, scaledObjects("create", ns), scaledObjects("get", ns), hpas("get", ns))
	}
	if ext.Action == APIServiceMoves {
		if ext.Present {
			out = append(out, authorizationv1.ResourceAttributes{Verb: "update", Group: "apiregistration.k8s.io", Resource: "apiservices", Name: apiservice.External})
		} else {
			out = append(out, authorizationv1.ResourceAttributes{Verb: "create", Group: "apiregistration.k8s.io", Resource: "apiservices"})
		}
	}
	return out
}

// RollbackAccess is every write --rollback makes to the ScaledObjects sos
// and their HPAs: for each namespace, delete and get of ScaledObjects, get
// and update of HPAs. (The APIService is put back only once no
// ScaledObject is left, after these.)
func RollbackAccess(sos []keda.ScaledObject) []authorizationv1.ResourceAttributes {
	var out []authorizationv1.ResourceAttributes
	for _, ns := range namespacesOf(len(sos), func(i int) string { return sos[i].Namespace }) {
		out = append(out, scaledObjects("delete", ns), scaledObjects("get", ns), hpas("get", ns), hpas("update", ns))
	}
	return out
}

func namespacesOf(n int, ns func(int) string) []string {
	seen := map[string]bool{}
	var out []string
	for i := 0; i < n; i++ {
		if !seen[ns(i)] {
			seen[ns(i)] = true
			out = append(out, ns(i))
		}
	}
	sort.Strings(out)
	return out
}

func scaledObjects(verb, ns string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Verb: verb, Group: keda.GroupVersion.Group, Resource: keda.ScaledObjects.Resource, Namespace: ns}
}

func hpas(verb, ns string) authorizationv1.ResourceAttributes {
	return authorizationv1.ResourceAttributes{Verb: verb, Group: "autoscaling", Resource: "horizontalpodautoscalers", Namespace: ns}
}
