package kube

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

// FirstDenied asks the API server, with one SelfSubjectAccessReview per
// entry (which every authenticated user may send), whether the caller may
// do each of attrs, and returns the first it would refuse, nil when none:
// a command that writes several objects checks them all before the first
// write, so a missing permission leaves nothing half done. The refusal
// names the caller as a SelfSubjectReview gives it ("" when that is not
// served).
func FirstDenied(ctx context.Context, c kubernetes.Interface, attrs []authorizationv1.ResourceAttributes) (*apierr.Refusal, error) {
	for i := range attrs {
		a := attrs[i]
		review, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("asking whether %s %s may be done: %w", a.Verb, a.Resource, err)
		}
		if review.Status.Allowed {
			continue
		}
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		r := &apierr.Refusal{Verb: a.Verb, Resource: resource, Group: a.Group, Namespace: a.Namespace, Name: a.Name}
		if who, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil {
			r.User = who.Status.UserInfo.Username
		}
		return r, nil
	}
	return nil, nil
}
