package cmd

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/metricscale/kubectl-metricscale/deploy/rbac"
	"github.com/metricscale/kubectl-metricscale/pkg/apierr"
)

// Exit codes shared by all commands. doctor uses ExitFindings when it found an
// error in the chain; every command uses ExitCannotRun when it could not do its
// job at all (bad flags, unreachable API server, unimplemented).
const (
	ExitOK        = 0
	ExitFindings  = 1
	ExitCannotRun = 2
)

// ExitError carries the process exit code for an error.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitCannotRun
}

// options is a command's Options, as kubectl's commands have them.
type options interface {
	// Complete reads the flags and arguments and builds what Run needs.
	Complete(args []string) error
	// Validate rejects what cannot be done, before anything is read or written.
	Validate() error
	// Run does the work until ctx is cancelled (Ctrl-C).
	Run(ctx context.Context) error
}

// runOptions runs o's Complete, Validate and Run; a command whose flags or
// arguments are wrong could not run (exit 2).
func runOptions(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(args); err != nil {
			return &ExitError{Code: ExitCannotRun, Err: err}
		}
		if err := o.Validate(); err != nil {
			return &ExitError{Code: ExitCannotRun, Err: err}
		}
		err := o.Run(cmd.Context())
		if errors.Is(err, context.Canceled) && cmd.Context().Err() != nil {
			// Ctrl-C: the request it cut short is not the failure to report.
			return &ExitError{Code: ExitCode(err), Err: errors.New("interrupted")}
		}
		return explainRefusal(err)
	}
}

// explainRefusal turns a request the API server refused for want of
// permission into one message: what was refused, for whom, and the role
// of deploy/rbac that grants it with the commands that apply and bind it.
// Errors without such a refusal, or already explained, are kept.
func explainRefusal(err error) error {
	var denied *apierr.DeniedError
	if err == nil || errors.As(err, &denied) {
		return err
	}
	r, ok := apierr.Refused(err)
	if !ok {
		return err
	}
	code, inner := ExitCannotRun, err
	var ee *ExitError
	if errors.As(err, &ee) {
		code, inner = ee.Code, ee.Err
	}
	d := denial(r, inner)
	if d == nil {
		return err
	}
	return &ExitError{Code: code, Err: d}
}

// denial is the one message for refusal r (err the refused request's):
// the role of deploy/rbac that grants it and how to apply and bind it; nil
// when no role there grants it.
func denial(r apierr.Refusal, err error) *apierr.DeniedError {
	role, ok := rbac.Granting(r)
	if !ok {
		return nil
	}
	return &apierr.DeniedError{Refusal: r, Role: role, Err: err}
}
