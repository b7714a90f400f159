package cmd

import "errors"

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
