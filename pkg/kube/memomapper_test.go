package kube

import (
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/metricscale/kubectl-metricscale/pkg/kube/kubetest"
)

type countingMapper struct {
	apimeta.RESTMapper
	asked int
}

func (c *countingMapper) ResourceFor(in schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	c.asked++
	return c.RESTMapper.ResourceFor(in)
}

func (c *countingMapper) ResourceSingularizer(r string) (string, error) {
	c.asked++
	return c.RESTMapper.ResourceSingularizer(r)
}

// TestMemoMapper: the same answers as the mapper, errors included, each
// question asked of it once.
func TestMemoMapper(t *testing.T) {
	under := kubetest.DiscoveryMapper()
	c := &countingMapper{RESTMapper: under}
	m := MemoMapper(c)
	questions := []string{"pod", "pods", "endpoints", "deployment", "uid", "container", "ingresses"}
	for round := range 3 {
		for _, q := range questions {
			in := schema.GroupVersionResource{Resource: q}
			got, gotErr := m.ResourceFor(in)
			want, wantErr := under.ResourceFor(in)
			if got != want || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("round %d, ResourceFor(%s) = %v, %v; the mapper answers %v, %v", round, q, got, gotErr, want, wantErr)
			}
			gotS, gotErr := m.ResourceSingularizer(q)
			wantS, wantErr := under.ResourceSingularizer(q)
			if gotS != wantS || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("round %d, ResourceSingularizer(%s) = %q, %v; the mapper answers %q, %v", round, q, gotS, gotErr, wantS, wantErr)
			}
		}
	}
	if want := 2 * len(questions); c.asked != want {
		t.Fatalf("the mapper was asked %d times, want %d (each question once)", c.asked, want)
	}
	if _, err := m.KindFor(schema.GroupVersionResource{Resource: "pods"}); err != nil {
		t.Fatalf("KindFor goes to the mapper: %v", err)
	}
}
