package qw

import "errors"

// Errors a caller checks with errors.Is. Every error this package returns
// wraps one of them and says in one line what was attempted and why it failed.
var (
	// ErrInvalidJob: a job cannot be enqueued as given (task name, id, countdown, eta, header or args).
	ErrInvalidJob = errors.New("qw: invalid job")
	// ErrInvalidFlow: a workflow is not made of Sig, Chain, Group and Chord nodes, or one of them is invalid.
	ErrInvalidFlow = errors.New("qw: invalid flow")
	// ErrStreamNotFound: the work stream does not exist (no qw worker or `qw init` created it yet).
	ErrStreamNotFound = errors.New("qw: stream not found")
	// ErrPublish: the server did not store a job.
	ErrPublish = errors.New("qw: publish failed")
	// ErrResultTimeout: a job reached no final state before the context ended.
	ErrResultTimeout = errors.New("qw: no final result")
	// ErrBadRecord: a stored record is not one qw writes.
	ErrBadRecord = errors.New("qw: bad record")
)

// qwError is an error whose message is a full sentence in qw's style, and
// which errors.Is matches against a sentinel (and any cause it wraps).
type qwError struct {
	kind  error
	msg   string
	cause error
}

func (e *qwError) Error() string { return e.msg }

func (e *qwError) Is(target error) bool { return target == e.kind }

func (e *qwError) Unwrap() error { return e.cause }

func fail(kind error, msg string) error { return &qwError{kind: kind, msg: msg} }

func failCause(kind error, msg string, cause error) error {
	return &qwError{kind: kind, msg: msg, cause: cause}
}
