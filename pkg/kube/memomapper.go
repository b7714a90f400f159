package kube

import (
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// MemoMapper remembers the answers of m's ResourceFor and
// ResourceSingularizer, errors included, for work that asks the same
// question many times against one state of discovery: the adapter's naming
// code asks for every label of every series during one relist, and a
// label that is no resource (uid, container, phase) is a miss the mapper
// answers by walking every group each time. Keep one no longer than
// discovery can be taken as unchanged; the other methods go to m.
func MemoMapper(m apimeta.RESTMapper) apimeta.RESTMapper {
	return &memoMapper{RESTMapper: m, resources: map[schema.GroupVersionResource]answer[schema.GroupVersionResource]{}, singulars: map[string]answer[string]{}}
}

type memoMapper struct {
	apimeta.RESTMapper
	mu        sync.Mutex
	resources map[schema.GroupVersionResource]answer[schema.GroupVersionResource]
	singulars map[string]answer[string]
}

type answer[V any] struct {
	v   V
	err error
}

// remember returns the answer kept for k, asking first if there is none.
func remember[K comparable, V any](mu *sync.Mutex, kept map[K]answer[V], k K, ask func(K) (V, error)) (V, error) {
	mu.Lock()
	a, ok := kept[k]
	mu.Unlock()
	if !ok {
		a.v, a.err = ask(k)
		mu.Lock()
		kept[k] = a
		mu.Unlock()
	}
	return a.v, a.err
}

func (m *memoMapper) ResourceFor(in schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	return remember(&m.mu, m.resources, in, m.RESTMapper.ResourceFor)
}

func (m *memoMapper) ResourceSingularizer(resource string) (string, error) {
	return remember(&m.mu, m.singulars, resource, m.RESTMapper.ResourceSingularizer)
}
