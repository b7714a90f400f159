package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/metricscale/kubectl-metricscale/pkg/dashboards"
	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

// provisionDashboards is how many dashboards the Grafana bench converges.
const provisionDashboards = 200

// benchProvision converges a data source, a folder and 200 dashboards (the
// Autoscaling chain dashboard under 200 uids) into a Grafana API emulator
// served for the bench alone (gone with it), twice: the first run writes
// every object, the second must read each once and write nothing.
// It returns the second run's requests and the number of objects.
func benchProvision(ctx context.Context) (second grafana.Requests, objects int64, err error) {
	fmt.Printf("\ngrafana: converge 1 data source, 1 folder and %d dashboards, twice (a Grafana API emulator in this process)\n", provisionDashboards)
	srv := httptest.NewServer(grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: "bench-password"}))
	defer srv.Close()
	all, err := dashboards.All()
	if err != nil {
		return second, 0, err
	}
	var body map[string]any
	if err := json.Unmarshal(all[0].JSON, &body); err != nil {
		return second, 0, err
	}
	want := grafana.Desired{
		DataSources: []grafana.DataSource{{UID: "bench-prometheus", Name: "bench Prometheus", Type: "prometheus", URL: "http://prometheus-server.monitoring.svc:80"}},
		Folders:     []grafana.Folder{{UID: "bench-folder", Title: "bench"}},
	}
	for i := range provisionDashboards {
		body["uid"], body["title"] = fmt.Sprintf("bench-%03d", i), fmt.Sprintf("bench %03d", i)
		b, err := json.Marshal(body)
		if err != nil {
			return second, 0, err
		}
		if b, err = grafana.RewriteDatasources(b, "bench-prometheus"); err != nil {
			return second, 0, err
		}
		want.Dashboards = append(want.Dashboards, grafana.Dashboard{UID: body["uid"].(string), Title: body["title"].(string), FolderUID: "bench-folder", Body: b})
	}
	objects = int64(len(want.DataSources) + len(want.Folders) + len(want.Dashboards))
	for run := 1; run <= 2; run++ {
		c, err := grafana.New(grafana.Config{URL: srv.URL, Credentials: grafana.BasicCredentials("admin", "bench-password"), Timeout: 30 * time.Second})
		if err != nil {
			return second, objects, err
		}
		start := time.Now()
		actions, err := grafana.Converge(ctx, c, want, grafana.Options{})
		if err != nil {
			return second, objects, err
		}
		took := time.Since(start)
		counts := map[grafana.Verb]int{}
		for _, a := range actions {
			counts[a.Action]++
		}
		r := c.Requests()
		fmt.Printf("  run %d: %s, %d requests (%d reads, %d writes); %d created, %d updated, %d unchanged\n",
			run, took.Round(time.Millisecond), r.Reads+r.Writes, r.Reads, r.Writes, counts[grafana.Created], counts[grafana.Updated], counts[grafana.Unchanged])
		if run == 2 {
			second = r
			fmt.Printf("  second run: %d reads for %d objects (target: one read per object, and GET /apis), %d writes (target 0)\n", r.Reads, objects, r.Writes)
		}
	}
	return second, objects, nil
}
