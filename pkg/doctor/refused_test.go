package doctor

import (
	"context"
	"errors"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

// refuse makes the fake clientset answer verb on resource as the API
// server answers a user without the permission.
func refuse(c *fake.Clientset, verb, group, resource string) {
	c.PrependReactor(verb, resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, responsewriters.ForbiddenStatusError(authorizer.AttributesRecord{
			User: &user.DefaultInfo{Name: "system:serviceaccount:team-a:ci"}, Verb: verb, APIGroup: group,
			Resource: resource, Namespace: a.GetNamespace(), ResourceRequest: true}, "")
	})
}

// A read doctor needs and may not do stops it with one error naming the
// verb, the resource, its group and the role to apply, not a finding.
func TestRefusedReadStopsDoctor(t *testing.T) {
	t.Run("the HPAs", func(t *testing.T) {
		c := fake.NewSimpleClientset()
		refuse(c, "list", "autoscaling", "horizontalpodautoscalers")
		_, err := Collect(context.Background(), Env{Client: c, Host: "https://127.0.0.1:6443"}, Options{AllNamespaces: true})
		want := "cannot list horizontalpodautoscalers in API group autoscaling, cluster-wide: Forbidden for \"system:serviceaccount:team-a:ci\"\n" +
			"  grant it with the ClusterRole metricscale-read-only: kubectl metricscale rbac read-only | kubectl apply -f -"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("got %v\nwant %s...", err, want)
		}
	})
	t.Run("the pods of the scale targets, read lazily", func(t *testing.T) {
		c := fake.NewSimpleClientset()
		refuse(c, "list", "", "pods")
		hpas := []autoscalingv2.HorizontalPodAutoscaler{benchHPA("a", "web", "Deployment", "web")}
		r := &refusals{}
		tg := newTargets(c, nil, nil, nil, "a", hpas)
		tg.refused = r
		if _, _, err := tg.PodsOf(context.Background(), "a", hpas[0].Spec.ScaleTargetRef); err != nil {
			t.Fatalf("no Deployment, no selector, no pod list: %v", err)
		}
		if r.err() != nil {
			t.Fatalf("a list that was not sent was refused: %v", r.err())
		}
		refuse(c, "list", "apps", "deployments")
		tg = newTargets(c, nil, nil, nil, "a", hpas)
		tg.refused = r
		if _, _, err := tg.PodsOf(context.Background(), "a", hpas[0].Spec.ScaleTargetRef); err == nil {
			t.Fatal("a refused list of Deployments went unnoticed")
		}
		var d *apierr.DeniedError
		if !errors.As(r.err(), &d) || d.What() != "list deployments in API group apps, in namespace a" {
			t.Fatalf("noted %v", r.err())
		}
	})
	t.Run("other errors are not refusals", func(t *testing.T) {
		r := &refusals{}
		r.note(apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x"))
		r.note(errors.New("connection refused"))
		r.note(nil)
		if r.err() != nil {
			t.Fatalf("noted %v", r.err())
		}
		var none *refusals
		none.note(errors.New("x"))
		if none.err() != nil {
			t.Fatal("a nil recorder answers")
		}
	})
}
