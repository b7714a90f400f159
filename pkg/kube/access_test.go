package kube

import (
	"context"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

func TestFirstDenied(t *testing.T) {
	// The API server of this test allows everything but creating
	// ScaledObjects in namespace shop.
	c := fake.NewSimpleClientset()
	var asked []string
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attr := r.Spec.ResourceAttributes
		asked = append(asked, attr.Verb+" "+attr.Resource+" "+attr.Namespace)
		r.Status.Allowed = !(attr.Verb == "create" && attr.Resource == "scaledobjects" && attr.Namespace == "shop")
		return true, r, nil
	})
	c.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: authenticationv1.UserInfo{Username: "jane"}}}, nil
	})
	allowed := []authorizationv1.ResourceAttributes{
		{Verb: "create", Group: "keda.sh", Resource: "scaledobjects", Namespace: "default"},
		{Verb: "update", Group: "autoscaling", Resource: "horizontalpodautoscalers", Namespace: "shop"},
	}
	r, err := FirstDenied(context.Background(), c, allowed)
	if err != nil || r != nil {
		t.Fatalf("all allowed: %+v, %v", r, err)
	}
	denied := append(allowed, authorizationv1.ResourceAttributes{Verb: "create", Group: "keda.sh", Resource: "scaledobjects", Namespace: "shop"},
		authorizationv1.ResourceAttributes{Verb: "delete", Group: "keda.sh", Resource: "scaledobjects", Namespace: "shop"})
	asked = nil
	r, err = FirstDenied(context.Background(), c, denied)
	want := apierr.Refusal{User: "jane", Verb: "create", Resource: "scaledobjects", Group: "keda.sh", Namespace: "shop"}
	if err != nil || r == nil || *r != want {
		t.Fatalf("got %+v, %v; want %+v", r, err, want)
	}
	if len(asked) != 3 {
		t.Fatalf("asked %v: want the first three, stopping at the refusal", asked)
	}
}
