package sidecar

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Event reasons on a ConfigMap or Secret whose key gives no dashboard or
// data source, or not quite the one asked for.
const (
	// ReasonInvalidDashboard: the key does not parse, has no title, or
	// clashes with another key.
	ReasonInvalidDashboard = "InvalidDashboard"
	// ReasonForeignDashboard: Grafana has a dashboard with its uid that the
	// sidecar did not write.
	ReasonForeignDashboard = "ForeignDashboard"
	// ReasonRefused: Grafana refused the dashboard or data source.
	ReasonRefused = "GrafanaRefused"
	// ReasonInvalidDataSource: the key is not a valid data source file, or
	// clashes with another key.
	ReasonInvalidDataSource = "InvalidDataSource"
	// ReasonForeignDataSource: Grafana has a data source with its uid that
	// the sidecar did not write.
	ReasonForeignDataSource = "ForeignDataSource"
	// ReasonDataSourceWarning: the file gives its data sources, but Grafana
	// would ignore a field of it, or a $VAR it expands is not set.
	ReasonDataSourceWarning = "DataSourceWarning"
	// ReasonNestedFolder: Grafana before 11 has no nested folders, so the
	// dashboard went into a flat one.
	ReasonNestedFolder = "NestedFolder"
)

// events records Events on the objects a problem comes from, so that
// `kubectl describe configmap` shows why a dashboard is missing.
type events struct {
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	// uids of the cached objects, by kind/namespace/name: an Event's
	// involvedObject needs it for describe to find the Event.
	uids map[Key]types.UID
}

func newEvents(ctx context.Context, kube kubernetes.Interface) *events {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return &events{broadcaster: b, recorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "metricscale-sidecar"})}
}

// objects sets the cached objects the next warnings refer to.
func (e *events) objects(sources []Source) {
	e.uids = map[Key]types.UID{}
	for _, s := range sources {
		e.uids[Key{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}] = s.UID
	}
}

// warn records a Warning Event on the object of key k.
func (e *events) warn(k Key, reason, message string) {
	object := Key{Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
	uid, ok := e.uids[object]
	if !ok {
		return // gone since
	}
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: k.Kind, Namespace: k.Namespace, Name: k.Name, UID: uid}
	e.recorder.Eventf(ref, corev1.EventTypeWarning, reason, "key %s: %s", k.Key, message)
}

func (e *events) shutdown() { e.broadcaster.Shutdown() }
