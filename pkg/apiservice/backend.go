// Package apiservice knows the metrics APIServices: who serves one
// (prometheus-adapter, KEDA's metrics server, or another server), where
// KEDA's metrics server is, and the spec KEDA's release registers for it;
// the one copy of these for doctor and migrate.
//
// Owners.Of names the backend behind a Service: KEDA's metrics server (the
// Service found, or one named keda…), the adapter (the custom APIService's
// Service, or one in the adapter's namespace), else unknown.
// FindKEDAMetricsServer looks for KEDA's metrics server by KEDA's own labels
// (app.kubernetes.io/part-of=keda-operator and a name ending
// metrics-apiserver), else the release's keda/keda-operator-metrics-apiserver,
// or the one named, with its https port. ExternalSpec is the external
// APIService as KEDA's release registers it (the sandbox writes it too);
// Available reads an APIService's condition.
package apiservice

import (
	"strings"

	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"
)

// The metrics APIServices the adapter and KEDA register.
const (
	Custom   = "v1beta1.custom.metrics.k8s.io"
	External = "v1beta1.external.metrics.k8s.io"
)

// Backend is who serves a metrics APIService.
type Backend string

const (
	Adapter Backend = "prometheus-adapter"
	KEDA    Backend = "KEDA"
	// Unknown: absent, served locally, or another server.
	Unknown Backend = ""
)

// KEDAReleaseService is KEDA's metrics server Service as KEDA's manifests
// and chart name it.
const KEDAReleaseService = "keda/keda-operator-metrics-apiserver"

// Owners is what tells the backends apart; each is namespace/name, "" when
// not known.
type Owners struct {
	// AdapterService is the Service the custom metrics APIService points
	// at (the adapter serves custom metrics; KEDA does not).
	AdapterService string
	// Adapter is the prometheus-adapter Deployment.
	Adapter string
	// KEDAService is KEDA's metrics server Service, when found.
	KEDAService string
}

// Of says who serves an APIService pointing at service (namespace/name):
// KEDA's metrics server (the Service found, or one named keda-… as in
// KEDA's manifests and chart), the adapter (its Service, or a Service in
// the adapter's namespace), or Unknown.
func (o Owners) Of(service string) Backend {
	ns, name, _ := strings.Cut(service, "/")
	switch {
	case service == "":
		return Unknown
	case o.KEDAService != "" && service == o.KEDAService, strings.Contains(name, "keda"):
		return KEDA
	case o.AdapterService != "" && service == o.AdapterService:
		return Adapter
	case o.Adapter != "" && ns == namespaceOf(o.Adapter):
		return Adapter
	}
	return Unknown
}

func namespaceOf(ref string) string { ns, _, _ := strings.Cut(ref, "/"); return ns }

// Ref is an APIService's Service as namespace/name, "" when the API server
// serves the group itself.
func Ref(spec apiregistrationv1.APIServiceSpec) string {
	if spec.Service == nil {
		return ""
	}
	return spec.Service.Namespace + "/" + spec.Service.Name
}

// ExternalSpec is external.metrics.k8s.io served at namespace/name:port, as
// KEDA's release registers it for its metrics server: no
// insecureSkipTLSVerify and no caBundle, which KEDA's operator injects (its
// certificate rotation patches this APIService), so the aggregator verifies
// KEDA's certificate.
func ExternalSpec(namespace, name string, port int32) apiregistrationv1.APIServiceSpec {
	return apiregistrationv1.APIServiceSpec{
		Service:              &apiregistrationv1.ServiceReference{Namespace: namespace, Name: name, Port: ptr.To(port)},
		Group:                "external.metrics.k8s.io",
		Version:              "v1beta1",
		GroupPriorityMinimum: 100,
		VersionPriority:      100,
	}
}

// Available reads an APIService's Available condition: whether it holds,
// and its reason and message.
func Available(as *apiregistrationv1.APIService) (bool, string) {
	for _, c := range as.Status.Conditions {
		if c.Type == apiregistrationv1.Available {
			return c.Status == apiregistrationv1.ConditionTrue, c.Reason + ": " + c.Message
		}
	}
	return false, "no Available condition yet"
}
