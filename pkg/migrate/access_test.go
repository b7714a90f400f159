package migrate

import (
	"reflect"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metricscale/kubectl-metricscale/pkg/keda"
)

func TestAccess(t *testing.T) {
	so := func(ns string) keda.ScaledObject {
		return keda.ScaledObject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x"}}
	}
	a, b, a2 := so("shop"), so("default"), so("shop")
	str := func(attrs []authorizationv1.ResourceAttributes) []string {
		var out []string
		for _, x := range attrs {
			out = append(out, x.Verb+" "+x.Resource+" "+x.Namespace+x.Name)
		}
		return out
	}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"apply, APIService stays", str(ApplyAccess([]*keda.ScaledObject{&a, &b, &a2}, APIServiceStep{Action: APIServiceStays})), []string{
			"create scaledobjects default", "get scaledobjects default", "get horizontalpodautoscalers default",
			"create scaledobjects shop", "get scaledobjects shop", "get horizontalpodautoscalers shop"}},
		{"apply, APIService moves", str(ApplyAccess([]*keda.ScaledObject{&a}, APIServiceStep{Action: APIServiceMoves, APIServiceState: APIServiceState{Present: true}})), []string{
			"create scaledobjects shop", "get scaledobjects shop", "get horizontalpodautoscalers shop", "update apiservices v1beta1.external.metrics.k8s.io"}},
		{"apply, APIService created", str(ApplyAccess([]*keda.ScaledObject{&a}, APIServiceStep{Action: APIServiceMoves})), []string{
			"create scaledobjects shop", "get scaledobjects shop", "get horizontalpodautoscalers shop", "create apiservices "}},
		{"rollback", str(RollbackAccess([]keda.ScaledObject{a, a2})), []string{
			"delete scaledobjects shop", "get scaledobjects shop", "get horizontalpodautoscalers shop", "update horizontalpodautoscalers shop"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %q\nwant %q", tt.name, tt.got, tt.want)
		}
	}
}
