// Package apierr renders errors of the Kubernetes API for people: the API
// server's own message rather than the client's wrapping of it.
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
