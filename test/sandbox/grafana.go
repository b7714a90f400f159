package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	sidecardeploy "github.com/metricscale/kubectl-metricscale/deploy/sidecar"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

const (
	// GrafanaUser is the sandbox Grafana's admin login.
	GrafanaUser = "admin"
	// grafanaPasswordFile holds the admin password generated at start,
	// readable by the user only; the env file reads it from there so that
	// printing the env never prints the password.
	grafanaPasswordFile = "grafana-password"
)

// startGrafana serves the Grafana API emulator (current Grafana's rules) in
// the supervisor, on its port, with a fresh admin password. Its data source
// proxy reaches in-cluster Services as a pod would: through the agent.
func (s *stack) startGrafana(ctx context.Context) error {
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(secret)
	if err := os.WriteFile(s.path(grafanaPasswordFile), []byte(password), 0o600); err != nil {
		return err
	}
	emu := grafanaemu.New(grafanaemu.Options{AdminUser: GrafanaUser, AdminPassword: password, Resolve: s.agent.resolveAddr})
	url, err := emu.Start(ctx, fmt.Sprintf("127.0.0.1:%d", s.ports.Grafana))
	if err != nil {
		return fmt.Errorf("grafana emulator: %w", err)
	}
	s.grafana = url
	return s.poll(ctx, 10*time.Second, "GET "+url+"/api/health", func() (bool, string) {
		resp, err := http.Get(url + "/api/health")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// GrafanaPassword reads the sandbox Grafana's admin password.
func (i Info) GrafanaPassword() (string, error) {
	if i.GrafanaPasswordFile == "" {
		return "", fmt.Errorf("the sandbox in %s has no Grafana emulator: it was started before there was one; restart it (make sandbox-down sandbox-up)", i.StateDir)
	}
	b, err := os.ReadFile(i.GrafanaPasswordFile)
	return strings.TrimSpace(string(b)), err
}

// grafanaService stands for the Grafana chart's Service (grafana.monitoring,
// port 80) in front of the emulator, so in-cluster URLs reach it as they
// would reach Grafana.
const grafanaService = `apiVersion: v1
kind: Service
metadata:
  name: grafana
  namespace: monitoring
  labels: {app.kubernetes.io/name: grafana}
spec:
  ports:
    - {name: service, port: 80, targetPort: %d}
`

// startSidecar runs metricscale-sidecar as the Grafana chart would run its
// dashboard sidecar: from deploy/sidecar's own files (two replicas,
// --leader-elect, every namespace) with the chart's admin Secret, so a
// labelled ConfigMap anywhere becomes a dashboard in the emulator.
func (s *stack) startSidecar(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.cfg.ProjectBinDir, "metricscale-sidecar")); err != nil {
		return fmt.Errorf("metricscale-sidecar: %w (run make build first, or give --project-bin-dir)", err)
	}
	password, err := os.ReadFile(s.path(grafanaPasswordFile))
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "grafana", Namespace: "monitoring", Labels: map[string]string{"app.kubernetes.io/name": "grafana"}},
		Data:       map[string][]byte{"admin-user": []byte(GrafanaUser), "admin-password": password},
	}
	if _, err := s.client.CoreV1().Secrets("monitoring").Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("the chart's admin Secret monitoring/grafana: %w", err)
	}
	ap, err := NewApplier(s.rest, "helm")
	if err != nil {
		return err
	}
	// The file as users apply it, placed on the host node as a values
	// file's nodeSelector and tolerations would place it.
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(sidecardeploy.Deployment, &dep); err != nil {
		return fmt.Errorf("deploy/sidecar/deployment.yaml: %w", err)
	}
	dep.Spec.Template.Spec.NodeSelector = map[string]string{hostNodeLabel: "true"}
	dep.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: hostNodeLabel, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	depJSON, err := json.Marshal(dep)
	if err != nil {
		return err
	}
	manifests := fmt.Sprintf(grafanaService, s.ports.Grafana) + "---\n" + string(sidecardeploy.RBAC) + "\n---\n" + string(depJSON)
	if _, err := ap.Apply(ctx, []byte(manifests)); err != nil {
		return err
	}
	return s.poll(ctx, 60*time.Second, "deployment monitoring/metricscale-sidecar", func() (bool, string) {
		dep, err := s.client.AppsV1().Deployments("monitoring").Get(ctx, "metricscale-sidecar", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return dep.Status.ReadyReplicas == *dep.Spec.Replicas, fmt.Sprintf("%d/%d ready", dep.Status.ReadyReplicas, *dep.Spec.Replicas)
	})
}
