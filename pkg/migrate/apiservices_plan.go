package migrate

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/metricscale/kubectl-metricscale/pkg/apiservice"
	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

// KEDAServer is KEDA's metrics server as looked for, or why it was not
// found: that matters only when the external APIService moves.
type KEDAServer func() (apiservice.KEDAMetricsServer, error)

// ReadAPIServicePlan reads both metrics APIServices and every HPA of the
// cluster, and plans the APIServices for migrating the HPAs of sos.
// adapter is the adapter's NAMESPACE/NAME ("" unknown); KEDA's metrics
// server is looked for by KEDA's labels, or as kedaService (NAMESPACE/NAME)
// when given: its Service tells KEDA's APIService apart.
func ReadAPIServicePlan(ctx context.Context, client kubernetes.Interface, agg aggregator.Interface, adapter, kedaService string, sos []*keda.ScaledObject) (APIServicePlan, KEDAServer, error) {
	server, findErr := apiservice.FindKEDAMetricsServer(ctx, client, kedaService)
	kedaServer := func() (apiservice.KEDAMetricsServer, error) { return server, findErr }
	owners := apiservice.Owners{Adapter: adapter}
	if findErr == nil {
		owners.KEDAService = server.Ref()
	}
	if agg == nil {
		return APIServicePlan{}, kedaServer, errors.New("no client for the APIServices")
	}
	custom, external, err := ReadAPIServices(ctx, agg, owners)
	if err != nil {
		return APIServicePlan{}, kedaServer, err
	}
	all, err := client.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return APIServicePlan{}, kedaServer, fmt.Errorf("listing the HorizontalPodAutoscalers of every namespace, to know which hold the metrics APIServices: %w", err)
	}
	migrating := make([]string, len(sos))
	for i, so := range sos {
		migrating[i] = so.Namespace + "/" + so.HPAName()
	}
	return PlanAPIServices(custom, external, UsesOf(all.Items), migrating), kedaServer, nil
}
