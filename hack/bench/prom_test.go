package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPromSelfMetrics: the head series and the API request count come
// from Prometheus's own /metrics, other lines left out.
func TestPromSelfMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `# HELP prometheus_tsdb_head_series Total number of series in the head block.
# TYPE prometheus_tsdb_head_series gauge
prometheus_tsdb_head_series 382007
prometheus_tsdb_head_series_created_total 400123
prometheus_http_requests_total{code="200",handler="/api/v1/series"} 12
prometheus_http_requests_total{code="200",handler="/api/v1/query"} 3
prometheus_http_requests_total{code="200",handler="/metrics"} 40
`)
	}))
	defer srv.Close()
	series, err := promHeadSeries(context.Background(), srv.URL)
	if err != nil || series != 382007 {
		t.Fatalf("head series %v, %v; want 382007", series, err)
	}
	requests, err := promRequests(context.Background(), srv.URL)
	if err != nil || requests != 15 {
		t.Fatalf("API requests %v, %v; want 15", requests, err)
	}
}
