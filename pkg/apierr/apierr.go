// Package apierr renders errors of the Kubernetes API for people: the API
// server's own message rather than the client's wrapping of it.
//
// Refused reads a Forbidden answer's refused request (user, verb, resource
// with subresource, group, namespace) from the API server's message; Denied
// words it with the role of deploy/rbac that grants it and the binding to
// create. doctor stops on the first refused read it needs (exit 2) instead
// of reporting refused requests as broken links.
package apierr

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Message is the API server's message for err when it sent a Status, else
// err's text.
func Message(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		return st.Status().Message
	}
	return err.Error()
}
