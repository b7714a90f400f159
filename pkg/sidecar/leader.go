package sidecar

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderElection lets several replicas run while one converges: the holder
// of a Lease. The others keep their caches warm and take over within
// LeaseDuration when the holder stops renewing.
type LeaderElection struct {
	Namespace, Name string // of the Lease
	Identity        string // this replica's, unique (the pod's name)
	LeaseDuration   time.Duration
	RenewDeadline   time.Duration
	RetryPeriod     time.Duration
}

func (l LeaderElection) validate() error {
	switch {
	case l.Namespace == "" || l.Name == "" || l.Identity == "":
		return errors.New("leader election needs the Lease's namespace and name and this replica's identity")
	case l.LeaseDuration <= l.RenewDeadline || l.RenewDeadline <= l.RetryPeriod || l.RetryPeriod <= 0:
		return errors.New("leader election needs lease duration > renew deadline > retry period > 0")
	}
	return nil
}

// runElected runs lead while this replica holds the Lease. It returns when
// ctx ends (releasing the Lease) or with an error when the Lease was lost:
// the process ends and is restarted rather than risk two writers.
func (s *Sidecar) runElected(ctx context.Context, l LeaderElection, lead func(context.Context)) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Name},
		Client:     s.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: l.Identity},
	}
	lost := false
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   l.LeaseDuration,
		RenewDeadline:   l.RenewDeadline,
		RetryPeriod:     l.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            l.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				s.log.Info("leading: converging Grafana", "lease", l.Namespace+"/"+l.Name, "identity", l.Identity)
				s.setLeading(true)
				lead(ctx)
			},
			OnStoppedLeading: func() {
				s.setLeading(false)
				lost = ctx.Err() == nil
			},
			OnNewLeader: func(identity string) {
				if identity != l.Identity {
					s.log.Info("standing by", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	elector.Run(ctx)
	if lost {
		return errors.New("lost the leader Lease: stopping so that only one replica writes")
	}
	return nil
}

func (s *Sidecar) setLeading(leading bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leading = leading
	if leading {
		s.metrics.leader.Set(1)
	} else {
		s.metrics.leader.Set(0)
	}
}

// Leading reports whether this replica converges now (always without leader election).
func (s *Sidecar) Leading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leading
}
