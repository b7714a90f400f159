package kube

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

// NewClients builds every client without a request: commands that never
// use one pay nothing for it.
func TestNewClientsSendsNothing(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	c, err := NewClients(&rest.Config{Host: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Client == nil || c.Aggregator == nil || c.Discovery == nil || c.Mapper == nil || c.Metadata == nil || c.Dynamic == nil ||
		c.Scales == nil || c.Custom == nil || c.External == nil || c.KEDA == nil || c.HTTP == nil || c.Host != srv.URL {
		t.Fatalf("a client is missing: %+v", c)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests while building the clients", n)
	}
	err = c.Unreachable(errors.New("connection refused"))
	if want := "cannot reach the Kubernetes API server at " + srv.URL + " (check --kubeconfig, --context, --server): connection refused"; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}
