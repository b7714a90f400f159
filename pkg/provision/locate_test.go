package provision

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestFindGrafana(t *testing.T) {
	svc := func(ns, name string, lbl map[string]string, ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl}, Spec: corev1.ServiceSpec{Ports: ports}}
	}
	c := fake.NewClientset(
		svc("monitoring", "kps-grafana", map[string]string{"app.kubernetes.io/name": "grafana"}, corev1.ServicePort{Name: "http-web", Port: 80}),
		svc("old", "grafana", map[string]string{"app": "grafana"}, corev1.ServicePort{Name: "metrics", Port: 9090}, corev1.ServicePort{Name: "service", Port: 3000}),
		svc("monitoring", "prometheus", map[string]string{"app.kubernetes.io/name": "prometheus"}, corev1.ServicePort{Port: 9090}),
	)
	got, err := FindGrafana(context.Background(), c, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("found %+v", got)
	}
	cmd, url := got[0].PortForward()
	if cmd != "kubectl port-forward -n monitoring svc/kps-grafana 3000:80" || url != "http://localhost:3000" {
		t.Fatalf("%s %s", cmd, url)
	}
	if cmd, _ := got[1].PortForward(); cmd != "kubectl port-forward -n old svc/grafana 3000:3000" {
		t.Fatal(cmd)
	}
}

func TestSecretCredentials(t *testing.T) {
	c := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "grafana"},
			Data: map[string][]byte{"admin-user": []byte("root"), "admin-password": []byte("s3cret-value")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "other"}, Data: map[string][]byte{"x": []byte("s3cret-value")}},
	)
	u, p, err := SecretCredentials(context.Background(), c, "monitoring/grafana")
	if err != nil || u != "root" || p != "s3cret-value" {
		t.Fatalf("%q %q %v", u, "***", err)
	}
	for _, c2 := range []struct{ ref, want string }{
		{"grafana", "want NAMESPACE/NAME"},
		{"monitoring/", "want NAMESPACE/NAME"},
		{"monitoring/missing", "does not exist"},
		{"monitoring/other", "has no key admin-password"},
	} {
		_, _, err := SecretCredentials(context.Background(), c, c2.ref)
		if err == nil || !strings.Contains(err.Error(), c2.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want %q and no secret", c2.ref, err, c2.want)
		}
	}
}
