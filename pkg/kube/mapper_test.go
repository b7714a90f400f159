package kube

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
)

// countingDiscovery counts the reads of discovery's content.
type countingDiscovery struct {
	discovery.CachedDiscoveryInterface
	reads int
}

func (c *countingDiscovery) ServerGroups() (*metav1.APIGroupList, error) {
	c.reads++
	return c.CachedDiscoveryInterface.ServerGroups()
}

func (c *countingDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	c.reads++
	return c.CachedDiscoveryInterface.ServerResourcesForGroupVersion(gv)
}

func (c *countingDiscovery) ServerGroupsAndResources() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
	c.reads++
	return c.CachedDiscoveryInterface.ServerGroupsAndResources()
}

func (c *countingDiscovery) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	c.reads++
	return c.CachedDiscoveryInterface.ServerPreferredResources()
}

// TestMapperReadsDiscoveryOnce: doctor's simulated relist looks up every
// label of every series, so a lookup must not read discovery again.
// kubectl's shortcut expander did (every group's resources per lookup:
// minutes of CPU at a thousand HPAs).
func TestMapperReadsDiscoveryOnce(t *testing.T) {
	core := &metav1.APIResourceList{GroupVersion: "v1"}
	for _, r := range []struct{ name, kind string }{{"pods", "Pod"}, {"services", "Service"}, {"endpoints", "Endpoints"}, {"namespaces", "Namespace"}} {
		core.APIResources = append(core.APIResources, metav1.APIResource{Name: r.name, Kind: r.kind, Namespaced: r.kind != "Namespace", Verbs: []string{"get", "list"}})
	}
	apps := &metav1.APIResourceList{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: []string{"get", "list"}}}}
	d := &countingDiscovery{CachedDiscoveryInterface: memory.NewMemCacheClient(&fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: []*metav1.APIResourceList{core, apps}}})}
	m := mapperOver(d)

	lookup := func() {
		for _, res := range []string{"pods", "pod", "service", "endpoints", "namespace", "deployments"} {
			if _, err := m.KindFor(schema.GroupVersionResource{Resource: res}); err != nil {
				t.Fatalf("%s: %v", res, err)
			}
		}
	}
	lookup() // fills the mapper
	filled := d.reads
	for range 100 {
		lookup()
	}
	if d.reads != filled {
		t.Fatalf("discovery read %d times by 600 lookups after the mapper was filled (%d reads): each lookup walks discovery", d.reads-filled, filled)
	}
}
