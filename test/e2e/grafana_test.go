package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestSandboxGrafanaEmulator: the sandbox's Grafana emulator answers
// /api/health, and a data source with the in-cluster URL of Prometheus (as
// the adapter's --prometheus-url is written) reaches the sandbox's real
// Prometheus through the data source proxy.
func TestSandboxGrafanaEmulator(t *testing.T) {
	needSandbox(t)
	info := env.info
	password, err := info.GrafanaPassword()
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body any, out any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, err := http.NewRequest(method, info.GrafanaURL+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(info.GrafanaUser, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
			}
		}
		return resp.StatusCode
	}

	var health struct{ Database, Version string }
	if code := call("GET", "/api/health", nil, &health); code != 200 || health.Database != "ok" {
		t.Fatalf("health: %d %+v", code, health)
	}
	uid := "e2e-prometheus"
	ds := map[string]any{"uid": uid, "name": "e2e Prometheus", "type": "prometheus", "access": "proxy",
		"url": fmt.Sprintf("http://prometheus-server.monitoring.svc:%d", info.Ports.Prometheus)}
	if code := call("POST", "/api/datasources", ds, nil); code != 200 {
		t.Fatalf("creating the data source: %d", code)
	}
	t.Cleanup(func() { call("DELETE", "/api/datasources/uid/"+uid, nil, nil) })

	var build struct {
		Status string
		Data   struct{ Version string }
	}
	if code := call("GET", "/api/datasources/proxy/uid/"+uid+"/api/v1/status/buildinfo", nil, &build); code != 200 || build.Data.Version == "" {
		t.Fatalf("Prometheus's build info through the proxy: %d %+v", code, build)
	}
	// A panel query: Prometheus's own up series, once it has scraped itself.
	var result struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  []any
			}
		}
	}
	query := "/api/datasources/proxy/uid/" + uid + "/api/v1/query?query=" + url.QueryEscape(`up{job="prometheus"}`)
	deadline := time.Now().Add(time.Minute)
	for {
		if code := call("GET", query, nil, &result); code != 200 || result.Status != "success" {
			t.Fatalf("query through the proxy: %d %+v", code, result)
		}
		if len(result.Data.Result) == 1 && result.Data.Result[0].Value[1] == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("up{job=\"prometheus\"} through the proxy after a minute: %+v", result)
		}
		time.Sleep(time.Second)
	}
	t.Logf("Prometheus %s answered through the emulator's proxy: %+v", build.Data.Version, result.Data.Result[0])
}
