package apierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
)

// forbiddenFor is the error the API server sends for a refused request,
// built with the API server's own code.
func forbiddenFor(a authorizer.AttributesRecord, reason string) error {
	return responsewriters.ForbiddenStatusError(a, reason)
}

func TestRefused(t *testing.T) {
	sa := &user.DefaultInfo{Name: "system:serviceaccount:team-a:ci"}
	cases := []struct {
		name string
		err  error
		want Refusal
		ok   bool
	}{
		{"custom metric of pods", forbiddenFor(authorizer.AttributesRecord{User: sa, Verb: "get", APIGroup: "custom.metrics.k8s.io",
			Resource: "pods", Subresource: "MessageMetrics", Name: "*", Namespace: "default", ResourceRequest: true}, ""),
			Refusal{User: sa.Name, Verb: "get", Resource: "pods/MessageMetrics", Group: "custom.metrics.k8s.io", Namespace: "default", Name: "*"}, true},
		{"cluster-wide list, with the authorizer's reason, wrapped", fmt.Errorf("listing HorizontalPodAutoscalers: %w",
			forbiddenFor(authorizer.AttributesRecord{User: &user.DefaultInfo{Name: `jo "the admin"`}, Verb: "list", APIGroup: "autoscaling",
				Resource: "horizontalpodautoscalers", ResourceRequest: true}, "RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found")),
			Refusal{User: `jo "the admin"`, Verb: "list", Resource: "horizontalpodautoscalers", Group: "autoscaling"}, true},
		{"core group", forbiddenFor(authorizer.AttributesRecord{User: sa, Verb: "get", Resource: "configmaps", Name: "prometheus-adapter",
			Namespace: "monitoring", ResourceRequest: true}, ""),
			Refusal{User: sa.Name, Verb: "get", Resource: "configmaps", Namespace: "monitoring", Name: "prometheus-adapter"}, true},
		{"a path, not a resource", forbiddenFor(authorizer.AttributesRecord{User: sa, Verb: "get", Path: "/metrics"}, ""), Refusal{}, false},
		{"another server's wording", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New("no")), Refusal{}, false},
		{"not a Forbidden", apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x"), Refusal{}, false},
		{"no status", errors.New(`User "a" cannot get resource "pods" in API group "" at the cluster scope`), Refusal{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Refused(c.err)
			if ok != c.ok || got != c.want {
				t.Errorf("Refused = %+v, %v; want %+v, %v\n(message: %s)", got, ok, c.want, c.ok, Message(c.err))
			}
		})
	}
}

func TestDeniedMessage(t *testing.T) {
	sa := &user.DefaultInfo{Name: "system:serviceaccount:team-a:ci"}
	cases := []struct {
		name string
		err  error
		role Role
		want string
	}{
		{"the metrics API, for a ServiceAccount", forbiddenFor(authorizer.AttributesRecord{User: sa, Verb: "get", APIGroup: "custom.metrics.k8s.io",
			Resource: "pods", Subresource: "MessageMetrics", Name: "*", Namespace: "default", ResourceRequest: true}, ""), ReadOnlyRole,
			`cannot get pods/MessageMetrics in API group custom.metrics.k8s.io, in namespace default: Forbidden for "system:serviceaccount:team-a:ci"
  grant it with the ClusterRole metricscale-read-only: kubectl metricscale rbac read-only | kubectl apply -f -, then kubectl create clusterrolebinding metricscale-read-only-team-a-ci --clusterrole=metricscale-read-only --serviceaccount=team-a:ci`},
		{"a list at the cluster scope, for a user", forbiddenFor(authorizer.AttributesRecord{User: &user.DefaultInfo{Name: "Jane@example.com"}, Verb: "list",
			APIGroup: "autoscaling", Resource: "horizontalpodautoscalers", ResourceRequest: true}, ""), ReadOnlyRole,
			`cannot list horizontalpodautoscalers in API group autoscaling, cluster-wide: Forbidden for "Jane@example.com"
  grant it with the ClusterRole metricscale-read-only: kubectl metricscale rbac read-only | kubectl apply -f -, then kubectl create clusterrolebinding metricscale-read-only-jane-example-com --clusterrole=metricscale-read-only --user=Jane@example.com`},
		{"a write in the adapter's namespace", forbiddenFor(authorizer.AttributesRecord{User: sa, Verb: "update", Resource: "configmaps",
			Name: "prometheus-adapter", Namespace: "monitoring", ResourceRequest: true}, ""), AdapterConfigRole,
			`cannot update configmaps in the core API group, in namespace monitoring: Forbidden for "system:serviceaccount:team-a:ci"
  grant it with the Role metricscale-adapter-config: kubectl metricscale rbac adapter-config | kubectl apply -n monitoring -f -, then kubectl create rolebinding metricscale-adapter-config-team-a-ci -n monitoring --role=metricscale-adapter-config --serviceaccount=team-a:ci`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Denied(c.err, c.role)
			if got := err.Error(); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			if !errors.Is(err, c.err) {
				t.Error("the worded error does not wrap the API server's")
			}
		})
	}
	other := errors.New("connection refused")
	if Denied(other, ReadOnlyRole) != other {
		t.Error("Denied changed an error that is not a refusal")
	}
}

// FuzzRefused: whatever the API server's message names (any user, resource,
// group and namespace), Refused reads it back as it was; any Forbidden
// message at all is read without a panic.
func FuzzRefused(f *testing.F) {
	f.Add("system:serviceaccount:a:b", "get", "custom.metrics.k8s.io", "pods", "MessageMetrics", "default")
	f.Add(`we"ird\`, "list", "", "horizontalpodautoscalers", "", "")
	f.Add("u", "create", "authorization.k8s.io", "subjectaccessreviews", "", "")
	f.Fuzz(func(t *testing.T, name, verb, group, resource, sub, ns string) {
		_, _ = Refused(apierrors.NewForbidden(schema.GroupResource{Group: group, Resource: resource}, name, errors.New(verb+ns)))
		if verb == "" || strings.ContainsAny(verb, " \t\n\v\f\r\u0085\u00a0") || strings.ContainsAny(name+verb+group+resource+sub+ns, "&<>") || resource == "" {
			return // not a verb the API server has; characters it escapes
		}
		got, ok := Refused(forbiddenFor(authorizer.AttributesRecord{User: &user.DefaultInfo{Name: name}, Verb: verb, APIGroup: group,
			Resource: resource, Subresource: sub, Namespace: ns, ResourceRequest: true}, ""))
		want := Refusal{User: name, Verb: verb, Resource: resource, Group: group, Namespace: ns}
		if sub != "" {
			want.Resource += "/" + sub
		}
		if !ok || got != want {
			t.Fatalf("Refused = %+v, %v; want %+v", got, ok, want)
		}
	})
}
