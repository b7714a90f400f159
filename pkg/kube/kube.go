// Package kube is the cluster as every command reaches it: the clients
// built once from kubectl's flags, and what the API's objects need read
// the same way everywhere.
package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

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
