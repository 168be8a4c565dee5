package qw

import (
	"fmt"
	"strings"
)

// MaxConcurrencyKey is the longest concurrency key, in characters.
const MaxConcurrencyKey = 256

// WithConcurrencyKey gives the job a concurrency key (header Qw-Concurrency-Key): at most the task's limit of jobs
// with the key run at once across every worker (1 when the task has no concurrency option), and keys take turns.
// A job due now waits on <stream>._key.<task>.<key in base64url> (see the README, "Per-key concurrency").
func WithConcurrencyKey(key string) EnqueueOpt {
	return func(o *enqueueOptions) error {
		if key == "" || len([]rune(key)) > MaxConcurrencyKey || strings.ContainsAny(key, "\r\n") {
			return bad(ErrInvalidJob, enqueueAttempt, "'concurrencyKey'", fmt.Sprintf("a non-empty line of at most %d characters", MaxConcurrencyKey), key)
		}
		o.concurrencyKey = key
		return nil
	}
}

// keySubject is the subject jobs of task with concurrency key key wait on.
func keySubject(stream, task, key string) string {
	return stream + "._key." + task + "." + scheduleToken(key)
}
