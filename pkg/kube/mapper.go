package kube

import (
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// NewMapper is the adapter's own RESTMapper: a deferred discovery mapper
// over d's answers cached in memory. kubectl's (ConfigFlags.ToRESTMapper)
// expands shortcuts by asking discovery for every group's resources on
// each lookup, from a cache on disk it decodes again each time (doctor's
// simulated relist took minutes with it at a thousand HPAs), and the
// adapter expands no shortcuts.
// It is the concrete mapper, whose Reset forgets what it read.
func NewMapper(d discovery.DiscoveryInterface) *restmapper.DeferredDiscoveryRESTMapper {
	return mapperOver(memory.NewMemCacheClient(d))
}

func mapperOver(cached discovery.CachedDiscoveryInterface) *restmapper.DeferredDiscoveryRESTMapper {
	return restmapper.NewDeferredDiscoveryRESTMapper(cached)
}
