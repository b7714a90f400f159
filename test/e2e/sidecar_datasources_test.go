package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// storedDataSource is GET /api/datasources/uid/UID; nil when Grafana has none.
func storedDataSource(t *testing.T, uid string) map[string]any {
	t.Helper()
	code, body := grafanaDo(t, http.MethodGet, "/api/datasources/uid/"+uid, nil)
	if code == http.StatusNotFound {
		return nil
	}
	var ds map[string]any
	if code != http.StatusOK || json.Unmarshal(body, &ds) != nil {
		t.Fatalf("GET data source %s: %d %s", uid, code, body)
	}
	return ds
}

// waitEvent waits for a Warning Event of reason on the ConfigMap or Secret kind/name in ns.
func waitEvent(t *testing.T, ns, kind, name, reason string) corev1.Event {
	t.Helper()
	var found corev1.Event
	eventually(t, 10*time.Second, "a "+reason+" Event on "+kind+" "+name, func(ctx context.Context) error {
		list, err := env.client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name + ",reason=" + reason})
		if err == nil && len(list.Items) == 0 {
			err = fmt.Errorf("no Event yet")
		}
		if err == nil {
			found = list.Items[0]
		}
		return err
	})
	return found
}

// TestSidecarDataSources: a labelled data source ConfigMap and a Secret
// (secureJsonData) become data sources within 2 s, with $VAR expanded from
// the sidecar's environment (never its Grafana password); changed,
// updated; deleted, removed where the file said prune: true and kept where
// not, as Grafana's provisioning does; a deleteDatasources deletes the data
// source it names; a foreign data source under a wanted uid is left alone
// and reported; a key with an unknown field converges with a warning Event.
func TestSidecarDataSources(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "sidecar-ds-")
	promUID, lokiUID, foreignUID, typoUID, oldUID := "e2e-prom-"+suffix, "e2e-loki-"+suffix, "e2e-ds-foreign-"+suffix, "e2e-typo-"+suffix, "e2e-old-"+suffix
	t.Cleanup(func() {
		for _, uid := range []string{promUID, lokiUID, foreignUID, typoUID, oldUID} {
			grafanaDo(t, http.MethodDelete, "/api/datasources/uid/"+uid, nil)
		}
	})
	for uid, name := range map[string]string{foreignUID: "made by hand " + suffix, oldUID: "old " + suffix} {
		if code, body := grafanaDo(t, http.MethodPost, "/api/datasources", map[string]any{
			"uid": uid, "name": name, "type": "loki", "url": "http://hand", "access": "proxy"}); code != http.StatusOK {
			t.Fatalf("creating data source %s: %d %s", name, code, body)
		}
	}
	t.Setenv("E2E_PROMETHEUS_HOST", "prometheus-server.monitoring.svc")
	sc := startSidecar(t, ns, "--owner-tag", "e2e-ds-"+suffix, "--resource", "both")

	promFile := func(port string) string {
		return fmt.Sprintf("apiVersion: 1\nprune: true\ndatasources:\n- name: E2E Prometheus %s\n  type: prometheus\n  uid: %s\n  url: http://${E2E_PROMETHEUS_HOST}:%s\n  jsonData:\n    timeInterval: 30s\n", suffix, promUID, port)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "datasources", Namespace: ns, Labels: map[string]string{testDataSourceLabel: "1"}},
		Data: map[string]string{
			"prom.yaml":  promFile("80"),
			"clash.yaml": fmt.Sprintf("apiVersion: 1\ndatasources:\n- {name: not the foreign one %s, type: tempo, uid: %s, url: 'http://t'}\ndeleteDatasources:\n- {name: old %s}\n", suffix, foreignUID, suffix),
			"typo.yaml":  fmt.Sprintf("apiVersion: 1\ndatasources:\n- {name: typo %s, type: loki, uid: %s, urll: 'http://x'}\n", suffix, typoUID),
			"leak.yaml":  "apiVersion: 1\ndatasources:\n- {name: leak, type: loki, url: 'http://x/$GRAFANA_PASSWORD'}\n",
		},
	}
	const password = "e2e-loki-password"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "loki", Namespace: ns, Labels: map[string]string{testDataSourceLabel: "1"}},
		Data:       map[string][]byte{"loki.yaml": []byte(fmt.Sprintf("apiVersion: 1\ndatasources:\n- name: E2E Loki %s\n  type: loki\n  uid: %s\n  url: http://loki:3100\n  basicAuth: true\n  basicAuthUser: reader\n  secureJsonData:\n    basicAuthPassword: %s\n", suffix, lokiUID, password))},
	}
	start := time.Now()
	if _, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both data sources in Grafana", func(context.Context) error {
		if storedDataSource(t, promUID) == nil || storedDataSource(t, lokiUID) == nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	took := time.Since(start)
	t.Logf("ConfigMap and Secret → data sources in %s", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("the data sources took %s, want within 2s", took.Round(time.Millisecond))
	}
	loki := storedDataSource(t, lokiUID)
	if fields, _ := loki["secureJsonFields"].(map[string]any); fields["basicAuthPassword"] != true || loki["basicAuthUser"] != "reader" {
		t.Errorf("Loki in Grafana: %v, want basic auth as reader with its password stored", loki)
	}
	if jsonData, _ := loki["jsonData"].(map[string]any); jsonData["metricscaleOwner"] != "e2e-ds-"+suffix {
		t.Errorf("Loki's jsonData %v carries no owner marker", loki["jsonData"])
	}
	if foreign := storedDataSource(t, foreignUID); foreign == nil || foreign["name"] != "made by hand "+suffix {
		t.Errorf("the foreign data source was overwritten: %v", foreign)
	}
	if prom := storedDataSource(t, promUID); prom["url"] != "http://prometheus-server.monitoring.svc:80" {
		t.Errorf("Prometheus's URL %v: want ${E2E_PROMETHEUS_HOST} expanded", prom["url"])
	}
	if storedDataSource(t, typoUID) == nil {
		t.Error("a key with an unknown field gave no data source; Grafana ignores the field")
	}
	eventually(t, 10*time.Second, "deleteDatasources' data source gone", func(context.Context) error {
		if storedDataSource(t, oldUID) != nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if e := waitEvent(t, ns, "ConfigMap", "datasources", "ForeignDataSource"); !strings.Contains(e.Message, "key clash.yaml") {
		t.Errorf("ForeignDataSource Event: %s", e.Message)
	}
	if e := waitEvent(t, ns, "ConfigMap", "datasources", "DataSourceWarning"); !strings.Contains(e.Message, "urll") {
		t.Errorf("DataSourceWarning Event: %s", e.Message)
	}
	if e := waitEvent(t, ns, "ConfigMap", "datasources", "InvalidDataSource"); !strings.Contains(e.Message, "$GRAFANA_PASSWORD") {
		t.Errorf("InvalidDataSource Event: %s", e.Message)
	}

	// Changed: updated within 2s.
	cm.Data["prom.yaml"] = promFile("9090")
	start = time.Now()
	if _, err := env.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the data source updated", func(context.Context) error {
		if ds := storedDataSource(t, promUID); ds == nil || ds["url"] != "http://prometheus-server.monitoring.svc:9090" {
			return fmt.Errorf("data source: %v", ds)
		}
		return nil
	})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the update took %s, want within 2s", took.Round(time.Millisecond))
	}

	// Deleted: prom (prune: true) removed; loki (no prune) stays, as in
	// Grafana; the foreign one stays.
	if err := env.client.CoreV1().ConfigMaps(ns).Delete(ctx, "datasources", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.client.CoreV1().Secrets(ns).Delete(ctx, "loki", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "prom gone", func(context.Context) error {
		if storedDataSource(t, promUID) != nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if storedDataSource(t, foreignUID) == nil || storedDataSource(t, lokiUID) == nil {
		t.Error("the foreign data source, or Loki of a file without prune: true, was deleted")
	}
	sc.mu.Lock()
	logs := sc.logs.String()
	sc.mu.Unlock()
	if strings.Contains(logs, password) {
		t.Error("the sidecar's log shows a data source's password")
	}
}

// TestSidecarNestedFolders: the folder annotation team/payments puts the
// dashboard into folder payments inside folder team.
func TestSidecarNestedFolders(t *testing.T) {
	needSandbox(t)
	ctx := context.Background()
	ns, suffix := testNamespace(t, "sidecar-nested-")
	uid, team := "e2e-nested-"+suffix, "team-"+suffix
	var folderUIDs []string
	t.Cleanup(func() {
		grafanaDo(t, http.MethodDelete, "/api/dashboards/uid/"+uid, nil)
		for _, f := range folderUIDs {
			grafanaDo(t, http.MethodDelete, "/api/folders/"+f, nil)
		}
	})
	startSidecar(t, ns, "--owner-tag", "e2e-nested-"+suffix)
	if _, err := env.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "dashboards", Namespace: ns, Labels: map[string]string{testDashboardLabel: "1"},
			Annotations: map[string]string{"grafana_folder": team + "/payments"}},
		Data: map[string]string{"p.json": fmt.Sprintf(`{"uid":%q,"title":"Payments %s"}`, uid, suffix)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDashboard(t, uid, true)
	var d struct{ Meta struct{ FolderUID string } }
	grafanaGet(t, env.info.GrafanaURL, "/api/dashboards/uid/"+uid, &d)
	type folder struct{ UID, Title, ParentUID string }
	var payments, parent folder
	grafanaGet(t, env.info.GrafanaURL, "/api/folders/"+d.Meta.FolderUID, &payments)
	grafanaGet(t, env.info.GrafanaURL, "/api/folders/"+payments.ParentUID, &parent)
	folderUIDs = []string{payments.UID, parent.UID}
	if payments.Title != "payments" || parent.Title != team || parent.ParentUID != "" {
		t.Errorf("the dashboard is in %+v under %+v, want payments inside %s at the root", payments, parent, team)
	}
}
