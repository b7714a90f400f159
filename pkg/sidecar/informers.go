package sidecar

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Resource kinds a sidecar watches.
const (
	KindConfigMap = "ConfigMap"
	KindSecret    = "Secret"
)

// informer caches the labelled objects of one kind in one namespace (all
// when empty) and remembers when the API server last answered it: the list,
// the start of a watch, and every event or bookmark on it. A watch that
// broke and cannot be re-established stops these answers, which is what
// /healthz reports.
type informer struct {
	kind      string
	namespace string
	// dataSources: its objects are data source files, not dashboards.
	dataSources bool
	// selector is checked again on the cached objects: an object whose
	// label went is not wanted, whatever event brought the change.
	selector labels.Selector
	inf      cache.SharedIndexInformer

	mu          sync.Mutex
	lastContact time.Time
	lastError   string
	// failingSince is the first error since the last answer: a list or
	// watch the API server refused or never answered.
	failingSince time.Time
	now          func() time.Time
}

func newInformer(cs kubernetes.Interface, kind, namespace, selector string, onChange func(), now func() time.Time) (*informer, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", selector, err)
	}
	in := &informer{kind: kind, namespace: namespace, now: now, selector: sel}
	switch kind {
	case KindConfigMap:
		in.inf = cache.NewSharedIndexInformer(listWatch[*corev1.ConfigMapList](in, cs.CoreV1().ConfigMaps(namespace), selector), &corev1.ConfigMap{}, 0, cache.Indexers{})
	case KindSecret:
		in.inf = cache.NewSharedIndexInformer(listWatch[*corev1.SecretList](in, cs.CoreV1().Secrets(namespace), selector), &corev1.Secret{}, 0, cache.Indexers{})
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	// Only what a dashboard needs is cached.
	if err := in.inf.SetTransform(func(obj any) (any, error) {
		if m, ok := obj.(metav1.Object); ok {
			m.SetManagedFields(nil)
		}
		// A ConfigMap's text keys are kept as bytes once, here, so that
		// every pass reads the cache's bytes instead of copying each key.
		if cm, ok := obj.(*corev1.ConfigMap); ok && len(cm.Data) > 0 {
			if cm.BinaryData == nil {
				cm.BinaryData = make(map[string][]byte, len(cm.Data))
			}
			for k, v := range cm.Data {
				// The string's own bytes, not a copy: the cache is read only.
				cm.BinaryData[k] = unsafe.Slice(unsafe.StringData(v), len(v))
			}
			cm.Data = nil
		}
		return obj, nil
	}); err != nil {
		return nil, err
	}
	if err := in.inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
		in.failed(err)
		cache.DefaultWatchErrorHandler(ctx, r, err)
	}); err != nil {
		return nil, err
	}
	kick := func(any) { onChange() }
	if _, err := in.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    kick,
		UpdateFunc: func(_, _ any) { onChange() },
		DeleteFunc: kick,
	}); err != nil {
		return nil, err
	}
	return in, nil
}

// listAndWatch is the part of a typed client an informer uses.
type listAndWatch[L runtime.Object] interface {
	List(context.Context, metav1.ListOptions) (L, error)
	Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
}

// listWatch lists and watches with the label selector on the server, so
// only labelled objects reach the cache, and records every answer.
func listWatch[L runtime.Object](in *informer, api listAndWatch[L], selector string) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			obj, err := api.List(ctx, o)
			if err != nil {
				in.failed(err)
				return nil, err
			}
			in.heard()
			return obj, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			w, err := api.Watch(ctx, o)
			if err != nil {
				// Recorded here: the reflector retries a refused watch
				// itself, without its error handler hearing of it.
				in.failed(err)
				return nil, err
			}
			in.heard()
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				if e.Type != watch.Error {
					in.heard()
				}
				return e, true
			}), nil
		},
	}
}

func (in *informer) heard() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.lastContact, in.lastError, in.failingSince = in.now(), "", time.Time{}
}

// failed records a list or watch that failed.
func (in *informer) failed(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.lastError = err.Error()
	if in.failingSince.IsZero() {
		in.failingSince = in.now()
	}
}

// String names the informer for logs and /healthz, e.g. "ConfigMaps in
// monitoring" or "ConfigMaps (data sources) in all namespaces".
func (in *informer) String() string {
	what := in.kind + "s"
	if in.dataSources {
		what += " (data sources)"
	}
	if in.namespace == "" {
		return what + " in all namespaces"
	}
	return what + " in " + in.namespace
}

// problem says why the informer is unhealthy, or "" when it is not: not
// synced, no answer for longer than silence (a watch gone quiet), or only
// errors for longer than failing (the API server down or refusing).
func (in *informer) problem(silence, failing time.Duration) (msg string, restartable bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	last := ""
	if in.lastError != "" {
		last = " (last error: " + in.lastError + ")"
	}
	// The API server failing or refusing is not mended by a restart; a
	// watch that hangs while nothing fails may be.
	answering := in.failingSince.IsZero()
	switch {
	case !in.inf.HasSynced():
		return in.String() + ": not synced yet" + last, answering
	case !answering && in.now().Sub(in.failingSince) > failing:
		return fmt.Sprintf("%s: the API server has failed every list and watch for %s%s", in, in.now().Sub(in.failingSince).Round(time.Second), last), false
	case in.now().Sub(in.lastContact) > silence:
		return fmt.Sprintf("%s: no answer from the API server for %s%s", in, in.now().Sub(in.lastContact).Round(time.Second), last), answering
	}
	return "", false
}

// sources are the cached objects.
func (in *informer) sources() []Source {
	var out []Source
	for _, obj := range in.inf.GetStore().List() {
		if m, ok := obj.(metav1.Object); !ok || !in.selector.Matches(labels.Set(m.GetLabels())) {
			continue
		}
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			// The transform moved Data into BinaryData; the bytes are the
			// cache's, read only.
			out = append(out, Source{Kind: KindConfigMap, Namespace: o.Namespace, Name: o.Name, UID: o.UID, Annotations: o.Annotations, Data: o.BinaryData})
		case *corev1.Secret:
			out = append(out, Source{Kind: KindSecret, Namespace: o.Namespace, Name: o.Name, UID: o.UID, Annotations: o.Annotations, Data: o.Data})
		}
	}
	return out
}
