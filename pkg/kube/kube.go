// Package kube is the cluster as every command reaches it: the clients
// built once from kubectl's flags, and what the API's objects need read
// the same way everywhere.
//
// Clients is what a command works with (doctor.Env, addrule.Env and
// watch.Env are this type). NewMapper is the RESTMapper of the commands, the
// bench and the tests: the adapter's own, a deferred discovery mapper over
// discovery cached in memory, without kubectl's shortcut expander. Kinds and
// resources go through it, never by hand (ResourceFor, KindFor, Singular);
// ScaleSelector reads a scale target's pod selector from its scale
// subresource; FirstDenied asks, with SelfSubjectAccessReviews before the
// first write, which of a command's writes the API server would refuse the
// caller; EventTime is when an event last happened.
package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// Clients are the clients the commands work with.
type Clients struct {
	Rest       *rest.Config
	Client     kubernetes.Interface
	Aggregator aggregator.Interface // nil: find the adapter by listing Deployments
	Discovery  discovery.DiscoveryInterface
	Mapper     apimeta.RESTMapper
}

// EventTime is when an event last happened: the newest of the times the
// event API versions fill in.
func EventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}
