package apierr

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestMessage(t *testing.T) {
	nf := apierrors.NewNotFound(schema.GroupResource{Group: "custom.metrics.k8s.io", Resource: "pods"}, "x")
	cases := []struct {
		err  error
		want string
	}{
		{nf, nf.ErrStatus.Message},
		{fmt.Errorf("listing: %w", nf), nf.ErrStatus.Message},
		{errors.New("connection refused"), "connection refused"},
	}
	for _, c := range cases {
		if got := Message(c.err); got != c.want {
			t.Errorf("Message(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
