package sidecar

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/metricscale/kubectl-metricscale/pkg/grafana"
	"github.com/metricscale/kubectl-metricscale/test/grafanaemu"
)

// Two replicas with leader election: one converges; when it stops, the
// other takes over within the lease duration and applies a new change.
func TestSidecarLeaderElection(t *testing.T) {
	ctx := context.Background()
	emu := grafanaemu.New(grafanaemu.Options{AdminUser: "admin", AdminPassword: "pw"})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	g, err := grafana.New(grafana.Config{URL: srv.URL, Credentials: grafana.BasicCredentials("admin", "pw")})
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientset()
	const lease = time.Second
	type replica struct {
		s      *Sidecar
		cancel context.CancelFunc
		done   chan error
	}
	var replicas []*replica
	for _, id := range []string{"one", "two"} {
		cfg := testConfig()
		cfg.LeaderElection = &LeaderElection{Namespace: "team", Name: "sidecar", Identity: id,
			LeaseDuration: lease, RenewDeadline: lease / 2, RetryPeriod: lease / 10}
		s, err := New(kube, g, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &replica{s: s, cancel: cancel, done: make(chan error, 1)}
		go func() { r.done <- s.Run(rctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		replicas = append(replicas, r)
	}
	run := &running{kube: kube, grafana: g, emu: emu}
	leaders := func() (n int, leader, follower *replica) {
		for _, r := range replicas {
			if r.s.Leading() {
				n, leader = n+1, r
			} else {
				follower = r
			}
		}
		return n, leader, follower
	}
	run.eventually(t, "one leader", func() bool { n, _, _ := leaders(); return n == 1 })
	_, leader, follower := leaders()
	run.eventually(t, "the replica standing by ready once synced", follower.s.Ready)

	cms := kube.CoreV1().ConfigMaps("team")
	if _, err := cms.Create(ctx, dashboardConfigMap("first", "", map[string]string{"a.json": `{"uid":"a","title":"A"}`}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run.eventually(t, "the leader converged", func() bool { return run.dashboard("a") != nil })

	// The leader stops (it releases the Lease); the other applies the next change.
	leader.cancel()
	if err := <-leader.done; err != nil {
		t.Errorf("the stopped leader: %v", err)
	}
	leader.done <- nil // for the cleanup
	start := time.Now()
	if _, err := cms.Create(ctx, dashboardConfigMap("second", "", map[string]string{"b.json": `{"uid":"b","title":"B"}`}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run.eventually(t, "the other replica converged", func() bool { return run.dashboard("b") != nil })
	if !follower.s.Leading() {
		t.Error("the other replica converged without leading")
	}
	if took := time.Since(start); took > lease+time.Second {
		t.Errorf("take-over took %s, more than the lease duration %s and a pass", took, lease)
	}
}
