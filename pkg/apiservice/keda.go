package apiservice

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// KEDAPartOf is the label value KEDA's manifests and chart put on every
// object of KEDA (app.kubernetes.io/part-of).
const KEDAPartOf = "keda-operator"

// KEDAMetricsServer is KEDA's metrics server Service, and the port the
// APIService must name.
type KEDAMetricsServer struct {
	Namespace, Name string
	Port            int32
}

// Ref is namespace/name.
func (s KEDAMetricsServer) Ref() string { return s.Namespace + "/" + s.Name }

// FindKEDAMetricsServer finds KEDA's metrics server Service by KEDA's own
// labels (app.kubernetes.io/part-of=keda-operator, and a name, label or
// object's, ending in metrics-apiserver: keda-operator-metrics-apiserver in
// KEDA's release), else by the release's name. ref (namespace/name), when
// given, names it instead.
func FindKEDAMetricsServer(ctx context.Context, client kubernetes.Interface, ref string) (KEDAMetricsServer, error) {
	if ref != "" {
		ns, name, _ := strings.Cut(ref, "/")
		svc, err := client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return KEDAMetricsServer{}, fmt.Errorf("reading KEDA's metrics server Service %s: %w", ref, err)
		}
		return server(svc), nil
	}
	list, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/part-of=" + KEDAPartOf})
	if err != nil {
		return KEDAMetricsServer{}, fmt.Errorf("listing KEDA's Services (label app.kubernetes.io/part-of=%s): %w", KEDAPartOf, err)
	}
	var found []KEDAMetricsServer
	for i := range list.Items {
		svc := &list.Items[i]
		if strings.HasSuffix(svc.Name, "metrics-apiserver") || strings.HasSuffix(svc.Labels["app.kubernetes.io/name"], "metrics-apiserver") {
			found = append(found, server(svc))
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		ns, name, _ := strings.Cut(KEDAReleaseService, "/")
		svc, err := client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return server(svc), nil
		}
		if !apierrors.IsNotFound(err) {
			return KEDAMetricsServer{}, fmt.Errorf("reading Service %s: %w", KEDAReleaseService, err)
		}
		return KEDAMetricsServer{}, fmt.Errorf("no KEDA metrics server Service found (none labelled app.kubernetes.io/part-of=%s named …metrics-apiserver, no %s): install KEDA, or name its Service with --keda-metrics-service NAMESPACE/NAME", KEDAPartOf, KEDAReleaseService)
	}
	names := make([]string, len(found))
	for i, s := range found {
		names[i] = s.Ref()
	}
	sort.Strings(names)
	return KEDAMetricsServer{}, fmt.Errorf("several KEDA metrics server Services (%s): name one with --keda-metrics-service NAMESPACE/NAME", strings.Join(names, ", "))
}

// server reads the port the APIService names: the one called https (as in
// KEDA's release), else the only one, else 443 (the APIService default).
func server(svc *corev1.Service) KEDAMetricsServer {
	s := KEDAMetricsServer{Namespace: svc.Namespace, Name: svc.Name, Port: 443}
	for _, p := range svc.Spec.Ports {
		if p.Name == "https" {
			s.Port = p.Port
			return s
		}
	}
	if len(svc.Spec.Ports) == 1 {
		s.Port = svc.Spec.Ports[0].Port
	}
	return s
}
