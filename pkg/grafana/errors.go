package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels for errors.Is on an *Error.
var (
	ErrUnauthorized    = errors.New("unauthorized")        // 401
	ErrForbidden       = errors.New("forbidden")           // 403, read-only data sources included
	ErrReadOnly        = errors.New("read-only")           // 403 on a data source provisioned from files
	ErrNotFound        = errors.New("not found")           // 404
	ErrConflict        = errors.New("conflict")            // 409, and 412 name-exists (Grafana < 11.3)
	ErrVersionMismatch = errors.New("version mismatch")    // 412 version-mismatch
	ErrProvisioned     = errors.New("provisioned")         // 400: saving or deleting a file-provisioned dashboard
	ErrUnreachable     = errors.New("Grafana unreachable") // no HTTP answer
)

// Error is a call Grafana refused or did not answer. It carries Grafana's
// own message and never the credentials.
type Error struct {
	// Op is what was asked, e.g. `save dashboard "metricscale-overview"`.
	Op string
	// Status is the HTTP status; 0 when Grafana gave no answer.
	Status int
	// Message is Grafana's "message" (or the body's text when not JSON).
	Message string
	// Reason is Grafana's "status" word, e.g. "version-mismatch".
	Reason string
	// Auth describes the credentials sent (Credentials.Describe) for 401 and 403.
	Auth string
	// Err is the network error when Grafana gave no answer.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "grafana: %s: ", e.Op)
	if e.Status == 0 {
		fmt.Fprintf(&b, "no answer: %v", e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		fmt.Fprintf(&b, " (sent %s: check that it is valid and not expired)", e.Auth)
	case e.Status == http.StatusForbidden && !e.Is(ErrReadOnly):
		fmt.Fprintf(&b, " (sent %s: give it a role that may do this)", e.Auth)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinels by status and, where Grafana uses one status for
// several causes, by its message.
func (e *Error) Is(target error) bool {
	msg := strings.ToLower(e.Message)
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrReadOnly:
		return e.Status == http.StatusForbidden && strings.Contains(msg, "read-only")
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict || (e.Status == http.StatusPreconditionFailed && e.Reason == "name-exists")
	case ErrVersionMismatch:
		return e.Status == http.StatusPreconditionFailed && e.Reason != "name-exists"
	case ErrProvisioned:
		// Save: "Cannot save provisioned dashboard"; delete: "... because it was provisioned".
		return e.Status == http.StatusBadRequest && (strings.Contains(msg, "provisioned dashboard") || strings.Contains(msg, "was provisioned"))
	case ErrUnreachable:
		return e.Status == 0 && !errors.Is(e.Err, context.Canceled)
	}
	return false
}

// stopsEverything reports errors after which no further call can succeed:
// the credentials are refused or Grafana is gone. A read-only data source
// is a refusal of one object, not of the caller.
func stopsEverything(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrUnreachable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.Is(err, ErrForbidden) && !errors.Is(err, ErrReadOnly))
}

// statusError reads Grafana's error body: {"message": ..., "status": ...}
// on every version, plain text from a proxy in front of it.
func statusError(status int, body []byte) *Error {
	e := &Error{Status: status}
	var parsed struct {
		Message string `json:"message"`
		Status  string `json:"status"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		e.Message, e.Reason = parsed.Message, parsed.Status
		if e.Message == "" {
			e.Message = parsed.Error
		}
		return e
	}
	const max = 200
	text := strings.TrimSpace(string(body))
	if len(text) > max {
		text = text[:max] + "..."
	}
	e.Message = text
	return e
}
