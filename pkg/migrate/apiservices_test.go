package migrate

import (
	"reflect"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
)

func TestPlanAPIServices(t *testing.T) {
	customOnAdapter := APIServiceState{Name: apiservice.Custom, Present: true, Service: "monitoring/prometheus-adapter", Backend: apiservice.Adapter}
	extOnAdapter := APIServiceState{Name: apiservice.External, Present: true, Service: "monitoring/prometheus-adapter", Backend: apiservice.Adapter}
	extOnKEDA := APIServiceState{Name: apiservice.External, Present: true, Service: "keda/keda-operator-metrics-apiserver", Backend: apiservice.KEDA}
	extElsewhere := APIServiceState{Name: apiservice.External, Present: true, Service: "datadog/cluster-agent", Backend: apiservice.Unknown}
	extAbsent := APIServiceState{Name: apiservice.External}

	interlok := HPAUse{Key: "default/interlok", Custom: true}
	queue := HPAUse{Key: "default/queue", External: true}
	kedaOwned := HPAUse{Key: "default/worker", External: true, KEDAOwned: true}
	podsElsewhere := HPAUse{Key: "shop/cart", Custom: true}
	both := HPAUse{Key: "shop/orders", Custom: true, External: true}
	cpuOnly := HPAUse{Key: "shop/web"}

	tests := []struct {
		name                     string
		custom, external         APIServiceState
		hpas                     []HPAUse
		migrating                []string
		customHeld, externalHeld []string
		customAction, extAction  APIServiceAction
		customWhy, extWhy        string
		kedaUnreachable          bool
	}{
		{name: "only the migrated HPA reads the adapter: external moves",
			custom: customOnAdapter, external: extOnAdapter, hpas: []HPAUse{interlok, kedaOwned, cpuOnly}, migrating: []string{"default/interlok"},
			customAction: APIServiceStays, extAction: APIServiceMoves, customWhy: "no HPA left reads it", extWhy: "no HPA left reads an External metric"},
		{name: "an unmigrated External HPA holds the external one",
			custom: customOnAdapter, external: extOnAdapter, hpas: []HPAUse{interlok, queue}, migrating: []string{"default/interlok"},
			externalHeld: []string{"default/queue"}, customAction: APIServiceStays, extAction: APIServiceStays,
			extWhy: "HPA(s) default/queue read External metrics", kedaUnreachable: true},
		{name: "the holder migrated in the same run frees it",
			custom: customOnAdapter, external: extOnAdapter, hpas: []HPAUse{interlok, queue}, migrating: []string{"default/interlok", "default/queue"},
			customAction: APIServiceStays, extAction: APIServiceMoves},
		{name: "unmigrated Pods and Object HPAs hold the custom one, sorted",
			custom: customOnAdapter, external: extOnAdapter, hpas: []HPAUse{both, interlok, podsElsewhere}, migrating: []string{"default/interlok"},
			customHeld: []string{"shop/cart", "shop/orders"}, externalHeld: []string{"shop/orders"}, customAction: APIServiceStays, extAction: APIServiceStays,
			customWhy: "2 HPA(s) not migrated read Pods or Object metrics", kedaUnreachable: true},
		{name: "KEDA's already",
			custom: customOnAdapter, external: extOnKEDA, hpas: []HPAUse{interlok, kedaOwned}, migrating: []string{"default/interlok"},
			customAction: APIServiceStays, extAction: APIServiceKEDAs, extWhy: "serves it already"},
		{name: "KEDA's already, an adapter External HPA left without values",
			custom: customOnAdapter, external: extOnKEDA, hpas: []HPAUse{interlok, queue}, migrating: []string{"default/interlok"},
			externalHeld: []string{"default/queue"}, customAction: APIServiceStays, extAction: APIServiceKEDAs, extWhy: "get none: migrate them too"},
		{name: "absent: KEDA's is created",
			custom: customOnAdapter, external: extAbsent, hpas: []HPAUse{interlok}, migrating: []string{"default/interlok"},
			customAction: APIServiceStays, extAction: APIServiceMoves, extWhy: "absent"},
		{name: "another server: left alone",
			custom: customOnAdapter, external: extElsewhere, hpas: []HPAUse{interlok}, migrating: []string{"default/interlok"},
			customAction: APIServiceStays, extAction: APIServiceStays, extWhy: "points at datadog/cluster-agent, neither", kedaUnreachable: true},
		// cpu and memory triggers are served through no API: an HPA of
		// cpu alone neither needs the external one moved nor is held
		// back by the HPAs that keep it with the adapter.
		{name: "only cpu HPAs migrated: the external one is not needed",
			custom: customOnAdapter, external: extOnAdapter, hpas: []HPAUse{interlok, queue, cpuOnly}, migrating: []string{"shop/web"},
			customHeld: []string{"default/interlok"}, customAction: APIServiceStays, extAction: APIServiceUnneeded, extWhy: "read cpu or memory only"},
		{name: "only cpu HPAs migrated, KEDA's already",
			custom: customOnAdapter, external: extOnKEDA, hpas: []HPAUse{interlok, cpuOnly}, migrating: []string{"shop/web"},
			customHeld: []string{"default/interlok"}, customAction: APIServiceStays, extAction: APIServiceKEDAs, extWhy: "serves it already"},
		{name: "a cpu HPA beside one with a custom metric: it moves",
			custom: customOnAdapter, external: extOnAdapter, hpas: []HPAUse{interlok, cpuOnly}, migrating: []string{"shop/web", "default/interlok"},
			customAction: APIServiceStays, extAction: APIServiceMoves},
		{name: "custom absent",
			custom: APIServiceState{Name: apiservice.Custom}, external: extOnAdapter, hpas: []HPAUse{interlok}, migrating: []string{"default/interlok"},
			customAction: APIServiceStays, extAction: APIServiceMoves, customWhy: "absent, and no HPA left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanAPIServices(tt.custom, tt.external, tt.hpas, tt.migrating)
			if p.Custom.Action != tt.customAction || p.External.Action != tt.extAction {
				t.Fatalf("actions custom %s, external %s; want %s, %s", p.Custom.Action, p.External.Action, tt.customAction, tt.extAction)
			}
			if !reflect.DeepEqual(p.Custom.HeldBy, tt.customHeld) || !reflect.DeepEqual(p.External.HeldBy, tt.externalHeld) {
				t.Fatalf("held by custom %v, external %v; want %v, %v", p.Custom.HeldBy, p.External.HeldBy, tt.customHeld, tt.externalHeld)
			}
			if !strings.Contains(p.Custom.Why, tt.customWhy) || !strings.Contains(p.External.Why, tt.extWhy) {
				t.Fatalf("why custom %q, external %q; want %q, %q", p.Custom.Why, p.External.Why, tt.customWhy, tt.extWhy)
			}
			if p.KEDAUnreachable() != tt.kedaUnreachable {
				t.Fatalf("KEDAUnreachable %v", p.KEDAUnreachable())
			}
			if p.Custom.Name != tt.custom.Name || p.External.Service != tt.external.Service {
				t.Fatalf("states not carried: %+v", p)
			}
		})
	}
}

func TestUsesOf(t *testing.T) {
	hpa := func(name string, owners []metav1.OwnerReference, types ...autoscalingv2.MetricSourceType) autoscalingv2.HorizontalPodAutoscaler {
		h := autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, OwnerReferences: owners}}
		for _, ty := range types {
			h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{Type: ty})
		}
		return h
	}
	so := []metav1.OwnerReference{{APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "w", Controller: new(bool)}}
	got := UsesOf([]autoscalingv2.HorizontalPodAutoscaler{
		hpa("pods", nil, autoscalingv2.PodsMetricSourceType),
		hpa("object", nil, autoscalingv2.ObjectMetricSourceType, autoscalingv2.ResourceMetricSourceType),
		hpa("ext", nil, autoscalingv2.ExternalMetricSourceType),
		hpa("keda", so, autoscalingv2.ExternalMetricSourceType),
		hpa("cpu", nil, autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType),
		// Another group's ScaledObject is not KEDA's.
		hpa("other", []metav1.OwnerReference{{APIVersion: "example.com/v1", Kind: "ScaledObject", Name: "x"}}, autoscalingv2.ExternalMetricSourceType),
	})
	want := []HPAUse{
		{Key: "ns/pods", Custom: true}, {Key: "ns/object", Custom: true}, {Key: "ns/ext", External: true},
		{Key: "ns/keda", External: true, KEDAOwned: true}, {Key: "ns/cpu"}, {Key: "ns/other", External: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
