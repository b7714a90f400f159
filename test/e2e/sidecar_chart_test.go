package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSidecarChartEnvironment: metricscale-sidecar run as the Grafana chart
// runs its k8s-sidecar containers, with the environment the chart renders and
// no flag but --owner-tag (the sandbox's own sidecar shares this Grafana):
// the dashboards' container with METHOD=LIST converges the labelled dashboard,
// a Secret's included, skips a README key and a .url key as Grafana's file
// provisioning would (no Event), exits 0 and touches no data source; the data
// sources' container, its credentials in files and ADOPT=true, takes over
// the data sources a writer before it made without an owner's mark, one
// under the wanted uid and one by name (its file gives no uid; it keeps the
// uid Grafana gave it), and leaves the dashboards alone.
func TestSidecarChartEnvironment(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "sidecar-chart-")
	dashUID, secretDashUID, dsUID := "e2e-chart-"+suffix, "e2e-chart-secret-"+suffix, "e2e-chart-ds-"+suffix
	byNameUID := "grafana-made-" + suffix
	t.Cleanup(func() {
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+dashUID, nil)
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+secretDashUID, nil)
		grafanaDo(t, http.MethodDelete, "/api/datasources/uid/"+dsUID, nil)
		grafanaDo(t, http.MethodDelete, "/api/datasources/uid/"+byNameUID, nil)
	})
	dashboard := func(uid string) string {
		return fmt.Sprintf(`{"uid":%q,"title":"chart %s","panels":[]}`, uid, uid)
	}
	objects := []any{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dash", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
			Data: map[string]string{"dash.json": dashboard(dashUID), "README.md": "# our dashboards", "remote.json.url": "https://grafana.com/api/dashboards/1860/revisions/37/download"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dash", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"}},
			Data: map[string][]byte{"secret.json": []byte(dashboard(secretDashUID))}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ds", Namespace: ns, Labels: map[string]string{testDataSourceLabel: "1"}},
			Data: map[string]string{"ds.yaml": fmt.Sprintf("apiVersion: 1\ndatasources:\n- {name: chart %s, type: prometheus, uid: %s, url: 'http://p:9090'}\n- {name: by name %s, type: loki, url: 'http://l:3100'}\n", suffix, dsUID, suffix)}},
	}
	for _, o := range objects {
		var err error
		switch o := o.(type) {
		case *corev1.ConfigMap:
			_, err = env.client.CoreV1().ConfigMaps(ns).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Secret:
			_, err = env.client.CoreV1().Secrets(ns).Create(ctx, o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if code, body := grafanaDo(t, http.MethodPost, "/api/datasources", map[string]any{
		"uid": dsUID, "name": "made by the old sidecar " + suffix, "type": "prometheus", "url": "http://old:9090", "access": "proxy"}); code != http.StatusOK {
		t.Fatalf("creating the data source to adopt: %d %s", code, body)
	}
	if code, body := grafanaDo(t, http.MethodPost, "/api/datasources", map[string]any{
		"uid": byNameUID, "name": "by name " + suffix, "type": "loki", "url": "http://old:3100", "access": "proxy"}); code != http.StatusOK {
		t.Fatalf("creating the data source to adopt by name: %d %s", code, body)
	}
	pass, err := env.info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	reload := env.info.GrafanaURL + "/api/admin/provisioning/%s/reload"

	// grafana-sc-dashboard (templates/_pod.tpl), with watchMethod: LIST.
	out := runChartSidecar(t, ns, suffix, map[string]string{"METHOD": "LIST", "LABEL": testDashboardLabel, "FOLDER": "/tmp/dashboards",
		"RESOURCE": "both", "REQ_USERNAME": env.info.GrafanaUser, "REQ_PASSWORD": pass, "REQ_URL": fmt.Sprintf(reload, "dashboards"), "REQ_METHOD": "POST"})
	if storedDashboard(t, dashUID) == nil || storedDashboard(t, secretDashUID) == nil || storedDataSource(t, dsUID)["name"] != "made by the old sidecar "+suffix {
		t.Fatalf("after the dashboards' container: want both dashboards (ConfigMap and Secret) and the data source untouched\n%s", out)
	}
	for _, key := range []string{"README.md", "remote.json.url"} {
		if !strings.Contains(out, "key "+key+`","reason":"not a .json key: skipped`) {
			t.Errorf("no log line says key %s is skipped", key)
		}
	}
	if list, err := env.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=dash"}); err != nil || len(list.Items) > 0 {
		t.Errorf("Events on the dashboards' objects: %v, %v; want none (keys Grafana would not read are skipped quietly)", list, err)
	}

	// grafana-init-sc-datasources with its credentials in files.
	dir := t.TempDir()
	for name, v := range map[string]string{"user": env.info.GrafanaUser, "password": pass} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out = runChartSidecar(t, ns, suffix, map[string]string{"METHOD": "LIST", "LABEL": testDataSourceLabel, "FOLDER": "/etc/grafana/provisioning/datasources",
		"RESOURCE": "both", "REQ_USERNAME_FILE": filepath.Join(dir, "user"), "REQ_PASSWORD_FILE": filepath.Join(dir, "password"),
		"REQ_URL": fmt.Sprintf(reload, "datasources"), "REQ_METHOD": "POST", "HEALTH_PORT": "8082", "ADOPT": "true"})
	ds := storedDataSource(t, dsUID)
	if jsonData, _ := ds["jsonData"].(map[string]any); ds["name"] != "chart "+suffix || jsonData["metricscaleOwner"] != "e2e-chart-"+suffix || storedDashboard(t, dashUID) == nil {
		t.Fatalf("after the data sources' container: want the data source adopted (the file's name, the owner's mark), and the dashboards kept: %v\n%s", ds, out)
	}
	if !strings.Contains(out, "adopted: Grafana had it under this uid") {
		t.Error("no log line says the data source was adopted")
	}
	byName := storedDataSource(t, byNameUID)
	if jsonData, _ := byName["jsonData"].(map[string]any); byName["url"] != "http://l:3100" || jsonData["metricscaleOwner"] != "e2e-chart-"+suffix {
		t.Errorf("the data source of the same name: %v; want it adopted under the uid Grafana gave it (%s), at the file's URL", byName, byNameUID)
	}
	if !strings.Contains(out, "adopted by name: Grafana had it under uid "+byNameUID) {
		t.Error("no log line says the data source was adopted by name")
	}
	if strings.Contains(out, pass) {
		t.Error("the sidecar's log shows Grafana's password")
	}
}

// TestSidecarChartInitContainer: as the chart's init container
// (initDatasources), metricscale-sidecar runs before Grafana starts in its
// pod, and nothing listens at Grafana's loopback address. It exits 0, so
// that the pod goes on to start Grafana, and its log says it converged
// nothing and why.
func TestSidecarChartInitContainer(t *testing.T) {
	needSandbox(t)
	ns, suffix := testNamespace(t, "sidecar-init-")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pass, err := env.info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := runChartSidecar(t, ns, suffix, map[string]string{"HEALTH_PORT": "8082", "METHOD": "LIST", "LABEL": testDataSourceLabel,
		"FOLDER": "/etc/grafana/provisioning/datasources", "RESOURCE": "both", "REQ_USERNAME": env.info.GrafanaUser, "REQ_PASSWORD": pass,
		"REQ_URL": "http://" + addr + "/api/admin/provisioning/datasources/reload", "REQ_METHOD": "POST"})
	if !strings.Contains(out, "converged nothing: Grafana starts only after this container") {
		t.Errorf("no log line says nothing was converged because Grafana starts after it")
	}
	t.Logf("exited 0 after %.1fs", time.Since(start).Seconds())
}

// runChartSidecar runs bin/metricscale-sidecar once with the chart's
// environment chart (and KUBECONFIG, NAMESPACE: outside a pod), requires
// exit 0 within a minute, and returns its log.
func runChartSidecar(t *testing.T, ns, suffix string, chart map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.repo, "bin", "metricscale-sidecar"), "--owner-tag", "e2e-chart-"+suffix)
	cmd.Env = []string{"KUBECONFIG=" + env.info.Kubeconfig, "NAMESPACE=" + ns, "HOME=" + os.Getenv("HOME")}
	for k, v := range chart {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	b, err := cmd.CombinedOutput()
	t.Logf("metricscale-sidecar with METHOD=%s LABEL=%s (%v):\n%s", chart["METHOD"], chart["LABEL"], err, b)
	if err != nil {
		t.Fatalf("metricscale-sidecar with the chart's environment: %v", err)
	}
	return string(b)
}
