package qw

// Unique jobs and debounce, the client's steps (the repository's README, "Unique jobs and debounce"): a unique key
// is claimed in the KV bucket qw_<stream>_unique before the job is published, so of producers racing with a key
// one publishes; a debounced job where qw holds delays records itself as its key's latest in qw_<stream>_debounce.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxUniqueKey is the longest unique key, in characters.
const MaxUniqueKey = 256

// uniquePublishGrace is how long a claim never marked published holds before the next enqueue takes it over.
const uniquePublishGrace = 30 * time.Second

const claimTries = 5

var plainTask = regexp.MustCompile(`^[A-Za-z0-9-]+$`)

// WithUnique gives the job a unique key: while a job of its task with the key waits or runs, Enqueue adds nothing
// and returns the first job's id.
func WithUnique(key string) EnqueueOpt {
	return func(o *enqueueOptions) error {
		if key == "" || len([]rune(key)) > MaxUniqueKey || strings.ContainsAny(key, "\r\n") {
			return bad(ErrInvalidJob, enqueueAttempt, "'unique'", fmt.Sprintf("a non-empty line of at most %d characters", MaxUniqueKey), key)
		}
		o.unique = key
		return nil
	}
}

// WithDebounce debounces the job (with WithUnique): it runs d after the enqueue, and a newer enqueue with the key
// replaces the waiting one, so of a burst only the last runs.
func WithDebounce(d time.Duration) EnqueueOpt {
	return func(o *enqueueOptions) error { o.debounce = &d; return nil }
}

// UniqueBucket is the KV bucket of a stream's unique keys.
func UniqueBucket(stream string) string { return "qw_" + stream + "_unique" }

// DebounceBucket is the KV bucket of the latest debounced job per key (where qw holds delays).
func DebounceBucket(stream string) string { return "qw_" + stream + "_debounce" }

// UniqueKVKey is the KV key of a task's unique key: <task>.<key in base64url>, a task that is not [A-Za-z0-9-]+
// as "_" and its base64url.
func UniqueKVKey(task, key string) string {
	t := task
	if !plainTask.MatchString(task) {
		t = "_" + base64.RawURLEncoding.EncodeToString([]byte(task))
	}
	return t + "." + base64.RawURLEncoding.EncodeToString([]byte(key))
}

type uniqueRecord struct {
	ID        string `json:"id"`
	At        int64  `json:"at"`
	Published bool   `json:"published"`
}

// uniqueHeld says whether a key held by rec still holds: not when rec is not a record, its job's result is final,
// or it was never marked published within the grace.
func uniqueHeld(rec *uniqueRecord, state State, now time.Time) bool {
	if rec == nil || rec.ID == "" || state.Final() {
		return false
	}
	return rec.Published || now.UnixMilli()-rec.At <= uniquePublishGrace.Milliseconds()
}

type keyedBuckets struct {
	mu       sync.Mutex
	unique   jetstream.KeyValue
	debounce jetstream.KeyValue
}

func (c *client) keyBucket(ctx context.Context, debounce bool) (jetstream.KeyValue, error) {
	c.keyed.mu.Lock()
	defer c.keyed.mu.Unlock()
	slot, name := &c.keyed.unique, UniqueBucket(c.stream)
	if debounce {
		slot, name = &c.keyed.debounce, DebounceBucket(c.stream)
	}
	if *slot != nil {
		return *slot, nil
	}
	kv, err := c.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, TTL: DefaultResultTTL, History: 1})
	}
	if err != nil {
		return nil, failCause(ErrPublish, fmt.Sprintf("Cannot enqueue job as bucket '%s' cannot be opened: %v", name, err), err)
	}
	*slot = kv
	return kv, nil
}

// publishKeyed publishes a job that has a unique key; returns the id that holds the key.
func (c *client) publishKeyed(ctx context.Context, task string, o enqueueOptions, m message) (string, error) {
	if o.debounce != nil {
		if !strings.HasPrefix(m.subject, c.stream+"._delayed.") {
			return o.id, c.publish(ctx, m)
		}
		kv, err := c.keyBucket(ctx, true)
		if err != nil {
			return "", err
		}
		if _, err := kv.Put(ctx, UniqueKVKey(task, o.unique), []byte(o.id)); err != nil {
			return "", failCause(ErrPublish, fmt.Sprintf("Cannot enqueue job as its debounce key cannot be stored: %v", err), err)
		}
		return o.id, c.publish(ctx, m)
	}
	kv, err := c.keyBucket(ctx, false)
	if err != nil {
		return "", err
	}
	key := UniqueKVKey(task, o.unique)
	for i := 0; i < claimTries; i++ {
		rec := uniqueRecord{ID: o.id, At: c.now().UnixMilli()}
		b, _ := json.Marshal(rec)
		rev, err := kv.Create(ctx, key, b)
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return "", failCause(ErrPublish, fmt.Sprintf("Cannot enqueue job as its unique key cannot be claimed: %v", err), err)
			}
			e, err := kv.Get(ctx, key)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return "", failCause(ErrPublish, fmt.Sprintf("Cannot enqueue job as its unique key cannot be read: %v", err), err)
			}
			var held *uniqueRecord
			var got uniqueRecord
			if json.Unmarshal(e.Value(), &got) == nil {
				held = &got
			}
			if held != nil && held.ID == o.id {
				return o.id, c.publish(ctx, m) // the same job again: the stream's dedup keeps one
			}
			state := StatePending
			if held != nil && held.ID != "" {
				if r, err := c.Result(ctx, held.ID); err == nil {
					state = r.State
				}
			}
			if uniqueHeld(held, state, c.now()) {
				return held.ID, nil
			}
			_ = kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
			continue
		}
		if err := c.publish(ctx, m); err != nil {
			_ = kv.Delete(ctx, key, jetstream.LastRevision(rev))
			return "", err
		}
		rec.Published = true
		b, _ = json.Marshal(rec)
		_, _ = kv.Update(ctx, key, b, rev)
		return o.id, nil
	}
	return "", fail(ErrPublish, fmt.Sprintf("Cannot enqueue job as unique key '%s' of task '%s' changed hands %d times: try again", o.unique, task, claimTries))
}
