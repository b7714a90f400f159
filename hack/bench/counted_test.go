package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

// The proxy sends each request on to the API server with the REST config's
// credentials, and counts it.
func TestCountingProxy(t *testing.T) {
	var auth atomic.Value
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, r.URL.Path)
	}))
	defer api.Close()
	p, err := startCountingProxy(&rest.Config{Host: api.URL, BearerToken: "bench", TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for range 3 {
		resp, err := http.Get(p.url + "/apis/autoscaling/v2/horizontalpodautoscalers")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "/apis/autoscaling/v2/horizontalpodautoscalers" {
			t.Fatalf("the API server answered %q", body)
		}
	}
	if auth.Load() != "Bearer bench" || p.requests.Load() != 3 {
		t.Fatalf("Authorization %v, %d requests counted; want Bearer bench and 3", auth, p.requests.Load())
	}
}
