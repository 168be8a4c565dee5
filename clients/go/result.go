package qw

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is a job's state.
type State string

const (
	StatePending  State = "PENDING"  // no record: not run yet, unknown id, or expired
	StateStarted  State = "STARTED"  // started (tasks with trackStarted)
	StateProgress State = "PROGRESS" // running, with Progress
	StateRetry    State = "RETRY"    // failed; a retry is scheduled
	StateSuccess  State = "SUCCESS"
	StateFailure  State = "FAILURE"
	StateRevoked  State = "REVOKED"
)

// Final reports whether a job in this state has ended: SUCCESS, FAILURE or REVOKED.
func (s State) Final() bool { return s == StateSuccess || s == StateFailure || s == StateRevoked }

// TaskError is the error a failed job stored.
type TaskError struct {
	Name    string         `json:"name"`
	Message string         `json:"message"`
	Stack   string         `json:"stack,omitempty"`
	Cause   *TaskError     `json:"cause,omitempty"`
	Data    map[string]any `json:"data,omitempty"`
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Message }

// Progress is what a running task reported last.
type Progress struct {
	Fraction float64         `json:"fraction"`
	Meta     json.RawMessage `json:"meta,omitempty"`
}

// Result is a job's record.
type Result struct {
	ID    string `json:"id"`
	Task  string `json:"task"`
	State State  `json:"state"`
	// Value is the task's return value as JSON (SUCCESS only); see Decode.
	Value         json.RawMessage `json:"result,omitempty"`
	Error         *TaskError      `json:"error,omitempty"`
	Retries       int             `json:"retries"`
	DeliveryCount int             `json:"deliveryCount"`
	Worker        string          `json:"worker"`
	// FinishedAtMs is when the record was written, in epoch milliseconds.
	FinishedAtMs int64 `json:"finishedAt"`
	// DeadLetter is why the job was dead-lettered, when it was.
	DeadLetter string `json:"deadLetter,omitempty"`
	// Reason is why a REVOKED job did not run when it was not a revoke: "expired".
	Reason   string    `json:"reason,omitempty"`
	Progress *Progress `json:"progress,omitempty"`
}

// Decode unmarshals the result value into v.
func (r *Result) Decode(v any) error {
	if len(r.Value) == 0 {
		return json.Unmarshal([]byte("null"), v)
	}
	return json.Unmarshal(r.Value, v)
}

// FinishedAt is FinishedAtMs as a time.
func (r *Result) FinishedAt() time.Time { return time.UnixMilli(r.FinishedAtMs) }

func decodeResult(id string, value []byte) (*Result, error) {
	if value == nil {
		return &Result{ID: id, State: StatePending}, nil
	}
	r := &Result{}
	if err := json.Unmarshal(value, r); err != nil {
		return nil, failCause(ErrBadRecord, fmt.Sprintf("Cannot read result of %s as its record is not JSON: %v", show(id), err), err)
	}
	if r.ID == "" {
		r.ID = id
	}
	return r, nil
}

// RevokeStatus is what a revoke did: Revoked is false when the job had already ended in State.
type RevokeStatus struct {
	Revoked bool
	State   State
}
