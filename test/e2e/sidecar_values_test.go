package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// chartPodSecurityContext is the Grafana chart's (12.5.0) default
// securityContext of the Grafana pod.
var chartPodSecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](472), RunAsGroup: ptr.To[int64](472), FSGroup: ptr.To[int64](472)}

// chartSidecarSecurityContext is the chart's default sidecar.securityContext,
// which values merge into (Helm merges maps).
var chartSidecarSecurityContext = map[string]any{"allowPrivilegeEscalation": false,
	"capabilities": map[string]any{"drop": []any{"ALL"}}, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}

// TestSidecarChartValues: the containers deploy/sidecar's chart values put
// into the Grafana pod are accepted in a Pod Security "restricted"
// namespace (server-side dry run): the extraContainers one as the chart's
// tpl renders it (the admin Secret's name and keys from admin.*), and the
// chart's own sidecar with the image swapped and the values' securityContext
// merged into the chart's; and deployment.yaml's pod. The same container without its seccompProfile is
// refused, so the check can fail.
func TestSidecarChartValues(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, _ := testNamespace(t, "sidecar-psa-")
	nsObj, err := env.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	if _, err := env.client.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	extra := extraContainer(t, map[string]any{"existingSecret": "grafana-admin", "userKey": "user", "passwordKey": "password"})
	if ref := extra.Env[3].ValueFrom.SecretKeyRef; extra.Env[3].Name != "GRAFANA_USER" || ref.Name != "grafana-admin" || ref.Key != "user" {
		t.Errorf("GRAFANA_USER from %+v, want admin.existingSecret's userKey", ref)
	}
	if ref := extra.Env[4].ValueFrom.SecretKeyRef; ref.Name != "grafana-admin" || ref.Key != "password" {
		t.Errorf("GRAFANA_PASSWORD from %+v, want admin.existingSecret's passwordKey", ref)
	}
	if ref := extraContainer(t, map[string]any{"existingSecret": ""}).Env[4].ValueFrom.SecretKeyRef; ref.Name != "grafana" || ref.Key != "admin-password" {
		t.Errorf("without admin.existingSecret: GRAFANA_PASSWORD from %+v, want the chart's own Secret grafana, key admin-password", ref)
	}
	if extra.ReadinessProbe != nil || extra.StartupProbe == nil || extra.LivenessProbe.HTTPGet.Path != "/livez" {
		t.Errorf("probes: readiness %v, startup %v, liveness %v; want no readiness gate on the Grafana pod, a startup probe, liveness on /livez",
			extra.ReadinessProbe, extra.StartupProbe, extra.LivenessProbe)
	}
	swapped := swappedSidecar(t)
	for name, c := range map[string]corev1.Container{"extraContainers": extra, "the image swap": swapped} {
		if err := dryRunPod(ctx, ns, c); err != nil {
			t.Errorf("%s: a restricted namespace refuses the container: %v", name, err)
		}
	}
	var dep appsv1.Deployment
	raw, err := os.ReadFile(filepath.Join(env.repo, "deploy", "sidecar", "deployment.yaml"))
	if err == nil {
		err = yaml.UnmarshalStrict(raw, &dep)
	}
	if err != nil {
		t.Fatal(err)
	}
	spec := dep.Spec.Template.Spec
	spec.ServiceAccountName = "" // monitoring's; this namespace has its default
	if err := dryRun(ctx, ns, spec); err != nil {
		t.Errorf("a restricted namespace refuses deployment.yaml's pod: %v", err)
	}
	extra.SecurityContext.SeccompProfile = nil
	if err := dryRunPod(ctx, ns, extra); err == nil || !strings.Contains(err.Error(), "seccompProfile") {
		t.Errorf("without seccompProfile the pod was not refused for it: %v", err)
	}
}

// chartValues reads a values file of deploy/sidecar.
func chartValues(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(env.repo, "deploy", "sidecar", name))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return values
}

// extraContainer renders grafana-chart-values-extra-container.yaml's
// extraContainers as the chart's tpl does, with release name grafana and
// admin as the values' admin block, and returns its one container.
func extraContainer(t *testing.T, admin map[string]any) corev1.Container {
	t.Helper()
	text, _ := chartValues(t, "grafana-chart-values-extra-container.yaml")["extraContainers"].(string)
	funcs := template.FuncMap{
		"tpl":     func(s string, _ any) string { return s },
		"include": func(string, any) string { return "grafana" },
		// Sprig's default: the first argument when the piped value is empty.
		"default": func(d string, v any) string {
			if s, _ := v.(string); s != "" {
				return s
			}
			return d
		},
	}
	tmpl, err := template.New("extraContainers").Funcs(funcs).Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any{"Values": map[string]any{"admin": admin}}); err != nil {
		t.Fatal(err)
	}
	var containers []corev1.Container
	if err := yaml.UnmarshalStrict(out.Bytes(), &containers); err != nil || len(containers) != 1 {
		t.Fatalf("extraContainers: %d containers, %v:\n%s", len(containers), err, out.String())
	}
	return containers[0]
}

// swappedSidecar is the chart's dashboard sidecar container with
// grafana-chart-values.yaml's image, securityContext (merged into the
// chart's default) and resources.
func swappedSidecar(t *testing.T) corev1.Container {
	t.Helper()
	sc, _ := chartValues(t, "grafana-chart-values.yaml")["sidecar"].(map[string]any)
	img, _ := sc["image"].(map[string]any)
	security := map[string]any{}
	for _, m := range []map[string]any{chartSidecarSecurityContext, asMap(sc["securityContext"])} {
		for k, v := range m {
			security[k] = v
		}
	}
	raw, err := yaml.Marshal(map[string]any{"name": "grafana-sc-dashboard", "securityContext": security, "resources": sc["resources"],
		"image": img["registry"].(string) + "/" + img["repository"].(string) + ":" + img["tag"].(string)})
	if err != nil {
		t.Fatal(err)
	}
	var c corev1.Container
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// dryRunPod creates, without storing it, a pod of the chart's pod
// securityContext with the container c.
func dryRunPod(ctx context.Context, ns string, c corev1.Container) error {
	return dryRun(ctx, ns, corev1.PodSpec{SecurityContext: chartPodSecurityContext, Containers: []corev1.Container{c}})
}

// dryRun creates a pod of spec without storing it, once the namespace's
// default ServiceAccount exists (the controller-manager makes it shortly
// after the namespace).
func dryRun(ctx context.Context, ns string, spec corev1.PodSpec) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "psa-dry-run", Namespace: ns}, Spec: spec}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := env.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "serviceaccount") || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
