package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// GrafanaService is a Service that the Grafana Helm chart (or an older
// chart's app=grafana label) put in front of Grafana.
type GrafanaService struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Port      int32  `json:"port"`
}

// PortForward is the command that makes the Service reachable on
// localhost:3000, and the URL to give --grafana-url then.
func (s GrafanaService) PortForward() (command, url string) {
	return fmt.Sprintf("kubectl port-forward -n %s svc/%s 3000:%d", s.Namespace, s.Name, s.Port), "http://localhost:3000"
}

// grafanaSelectors are the labels Grafana's Services carry: the chart's
// (grafana/grafana, kube-prometheus-stack's subchart), then older charts'.
var grafanaSelectors = []string{"app.kubernetes.io/name=grafana", "app=grafana"}

// FindGrafana lists the Grafana Services of namespace ("" all) by the
// chart's labels.
func FindGrafana(ctx context.Context, c kubernetes.Interface, namespace string) ([]GrafanaService, error) {
	seen := map[string]bool{}
	var out []GrafanaService
	for _, sel := range grafanaSelectors {
		list, err := c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("listing Services labelled %s: %w", sel, err)
		}
		for _, s := range list.Items {
			key := s.Namespace + "/" + s.Name
			if seen[key] || len(s.Spec.Ports) == 0 {
				continue
			}
			seen[key] = true
			port := s.Spec.Ports[0].Port
			for _, p := range s.Spec.Ports {
				if p.Name == "service" || p.Name == "http" || p.Name == "http-web" {
					port = p.Port
					break
				}
			}
			out = append(out, GrafanaService{Namespace: s.Namespace, Name: s.Name, Port: port})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out, nil
}

// Chart keys of the admin credentials in the Grafana chart's Secret.
const (
	SecretUserKey     = "admin-user"
	SecretPasswordKey = "admin-password"
)

// SecretCredentials reads the admin user and password from the Secret
// NAMESPACE/NAME that the Grafana chart writes, through the API server (what
// the guides do by hand with kubectl get secret ... | base64 -d). Errors
// name the Secret and the key, never a value.
func SecretCredentials(ctx context.Context, c kubernetes.Interface, ref string) (user, password string, err error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("--grafana-secret %q: want NAMESPACE/NAME, e.g. monitoring/grafana", ref)
	}
	s, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", "", fmt.Errorf("--grafana-secret: Secret %s does not exist", ref)
	case apierrors.IsForbidden(err):
		return "", "", fmt.Errorf("--grafana-secret: you may not read Secret %s (it needs get on secrets in %s): %w", ref, ns, err)
	case err != nil:
		return "", "", fmt.Errorf("--grafana-secret: reading Secret %s: %w", ref, err)
	}
	u, p := s.Data[SecretUserKey], s.Data[SecretPasswordKey]
	if len(p) == 0 {
		return "", "", fmt.Errorf("--grafana-secret: Secret %s has no key %s (the Grafana chart's keys are %s and %s)", ref, SecretPasswordKey, SecretUserKey, SecretPasswordKey)
	}
	if len(u) == 0 {
		u = []byte("admin")
	}
	return string(u), string(p), nil
}
