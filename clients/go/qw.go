// Package qw enqueues jobs for qw, the job worker for NATS JetStream, and
// reads their results: jobs, workflows (Chain, Group, Chord) and revokes, in
// qw's wire format (pinned by the test vectors in the repository's spec/).
//
//	nc, _ := nats.Connect(nats.DefaultURL)
//	js, _ := jetstream.New(nc)
//	client, _ := qw.New(js, qw.WithStream("jobs"))
//	id, _ := client.Enqueue(ctx, "add", []any{2, 3}, qw.WithID("order-42"))
//	r, _ := client.Wait(ctx, id) // r.State == qw.StateSuccess; r.Decode(&sum)
package qw

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultResultTTL is the revoked bucket's TTL when this client is the first to create it: qw's default result TTL.
const DefaultResultTTL = 24 * time.Hour

// Client enqueues jobs onto one qw stream and reads their results.
type Client interface {
	// Enqueue publishes a job of task with args; returns its task id once the server stored it.
	Enqueue(ctx context.Context, task string, args []any, opts ...EnqueueOpt) (string, error)
	// EnqueueMany publishes jobs; returns their ids in order. Every job is checked before the first is sent.
	// On nats-server 2.12+ with a stream that has allow_atomic they go in atomic batches of up to 1,000, each
	// stored whole or not at all (several batches are not one); elsewhere pipelined, where a failure can leave
	// some stored.
	EnqueueMany(ctx context.Context, jobs []Job) ([]string, error)
	// EnqueueFlow starts a workflow; returns its id. Result(flowID) is the flow's own record.
	EnqueueFlow(ctx context.Context, flow Node, opts ...EnqueueOpt) (string, error)
	// Result is the current record of a job; State is StatePending when there is none.
	Result(ctx context.Context, id string) (*Result, error)
	// Wait watches a job's record until it reaches a final state, or until ctx ends (ErrResultTimeout).
	Wait(ctx context.Context, id string) (*Result, error)
	// Revoke revokes a job: one that has not started never runs. A job that already ended is left as it is.
	Revoke(ctx context.Context, id string, opts ...RevokeOpt) (RevokeStatus, error)
	// Stream is the work stream.
	Stream() string
}

// Job is one job for EnqueueMany.
type Job struct {
	Task    string
	Args    []any
	Options []EnqueueOpt
}

// Option configures New.
type Option func(*config) error

type config struct {
	stream string
	now    func() time.Time
}

// WithStream sets the work stream, as the worker's --stream. Required.
func WithStream(name string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name, " \t\r\n.*>") {
			return bad(ErrInvalidJob, "create client", "'stream'", `a name without whitespace, ".", "*" or ">"`, name)
		}
		c.stream = name
		return nil
	}
}

// EnqueueOpt sets an option of one job.
type EnqueueOpt func(*enqueueOptions) error

// WithID sets the task id, which is also the dedup id: the same id within the
// stream's 2-minute duplicate window is stored once. Default: a random UUID.
func WithID(id string) EnqueueOpt {
	return func(o *enqueueOptions) error { o.id = id; return nil }
}

// WithCountdown delays the job by d.
func WithCountdown(d time.Duration) EnqueueOpt {
	return func(o *enqueueOptions) error { o.countdown = &d; return nil }
}

// WithETA delays the job until t; a time in the past runs now.
func WithETA(t time.Time) EnqueueOpt {
	return func(o *enqueueOptions) error { o.eta = &t; return nil }
}

// WithExpires is Celery's expires: a job not started within d of its enqueue
// never runs, and is stored REVOKED with reason "expired". Retries keep it.
func WithExpires(d time.Duration) EnqueueOpt {
	return func(o *enqueueOptions) error { o.expires = &d; return nil }
}

// WithPriority sets the job's priority, 0 (lowest) to 9; the default is 5. Higher runs first: a job of
// another priority than 5 goes on <stream>.p<N>.<task> (see the README's "Priorities").
func WithPriority(n int) EnqueueOpt {
	return func(o *enqueueOptions) error { o.priority = &n; return nil }
}

// WithExpiresAt is WithExpires with an absolute time.
func WithExpiresAt(t time.Time) EnqueueOpt {
	return func(o *enqueueOptions) error { o.expiresAt = &t; return nil }
}

// WithHeader adds a NATS header; Qw-* and Nats-Msg-Id are reserved.
func WithHeader(name, value string) EnqueueOpt {
	return func(o *enqueueOptions) error {
		if o.headers == nil {
			o.headers = map[string]string{}
		}
		o.headers[name] = value
		return nil
	}
}

// RevokeOpt sets an option of a revoke.
type RevokeOpt func(*revokeOptions)

type revokeOptions struct{ terminate bool }

// WithTerminate also terminates the job if it is running (otherwise a running job finishes).
func WithTerminate() RevokeOpt { return func(o *revokeOptions) { o.terminate = true } }

type client struct {
	atomic  atomicState
	js      jetstream.JetStream
	stream  string
	now     func() time.Time
	results jetstream.KeyValue
	revoked jetstream.KeyValue
	delays  delays
	keyed   keyedBuckets
}

// New returns a Client on js for the stream given WithStream.
func New(js jetstream.JetStream, opts ...Option) (Client, error) {
	c := config{now: time.Now}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.stream == "" {
		return nil, fail(ErrInvalidJob, "Cannot create client as 'stream' must be set: use qw.WithStream(name)")
	}
	return &client{js: js, stream: c.stream, now: c.now}, nil
}

func (c *client) Stream() string { return c.stream }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func resolve(opts []EnqueueOpt) (enqueueOptions, error) {
	var o enqueueOptions
	for _, f := range opts {
		if err := f(&o); err != nil {
			return o, err
		}
	}
	if o.id == "" {
		o.id = newID()
	}
	return o, nil
}

func (c *client) Enqueue(ctx context.Context, task string, args []any, opts ...EnqueueOpt) (string, error) {
	o, err := resolve(opts)
	if err != nil {
		return "", err
	}
	now := c.now()
	o.serverHeld = o.delayed(now) && c.serverHeld(ctx)
	m, err := encodeJob(c.stream, task, args, o, now)
	if err != nil {
		return "", err
	}
	span := startSend(ctx, c.stream+"."+task, o.id, m.headers)
	id := o.id
	if o.unique == "" {
		err = c.publish(ctx, m)
	} else {
		id, err = c.publishKeyed(ctx, task, o, m)
	}
	endSend(span, err)
	return id, err
}

func (c *client) EnqueueMany(ctx context.Context, jobs []Job) ([]string, error) {
	now := c.now()
	ids := make([]string, len(jobs))
	msgs := make([]message, len(jobs))
	for i, j := range jobs {
		o, err := resolve(j.Options)
		if err != nil {
			return nil, err
		}
		if o.unique != "" {
			return nil, fail(ErrInvalidJob, "Cannot enqueue job with 'unique' among many: use Enqueue")
		}
		o.serverHeld = o.delayed(now) && c.serverHeld(ctx)
		if msgs[i], err = encodeJob(c.stream, j.Task, j.Args, o, now); err != nil {
			return nil, err
		}
		ids[i] = o.id
	}
	span := startSendMany(ctx, c.stream, msgs)
	err := c.publishMany(ctx, msgs)
	endSend(span, err)
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// publishPipelined publishes msgs each on its own, all in flight at once.
func (c *client) publishPipelined(ctx context.Context, msgs []message) error {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		f, err := c.js.PublishMsgAsync(natsMsg(m))
		if err != nil {
			return c.publishError(ctx, m, err)
		}
		futures[i] = f
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return c.publishError(ctx, msgs[i], err)
		case <-ctx.Done():
			return failCause(ErrPublish, fmt.Sprintf("Cannot enqueue to stream '%s': %v", c.stream, ctx.Err()), ctx.Err())
		}
	}
	return nil
}

func (c *client) EnqueueFlow(ctx context.Context, flow Node, opts ...EnqueueOpt) (string, error) {
	o, err := resolve(opts)
	if err != nil {
		return "", err
	}
	node, err := normalize(flow, "")
	if err != nil {
		return "", err
	}
	m, err := encodeFlowStart(c.stream, o.id, node)
	if err != nil {
		return "", err
	}
	span := startSend(ctx, m.subject, o.id, m.headers)
	err = c.publish(ctx, m)
	endSend(span, err)
	return o.id, err
}

func natsMsg(m message) *nats.Msg {
	h := nats.Header{}
	for k, v := range m.headers {
		h.Set(k, v)
	}
	return &nats.Msg{Subject: m.subject, Header: h, Data: m.body}
}

func (c *client) publish(ctx context.Context, m message) error {
	if _, err := c.js.PublishMsg(ctx, natsMsg(m)); err != nil {
		return c.publishError(ctx, m, err)
	}
	return nil
}

func (c *client) publishError(ctx context.Context, m message, err error) error {
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		if serr := c.requireStream(ctx, "enqueue to"); serr != nil {
			return serr
		}
		return failCause(ErrStreamNotFound, fmt.Sprintf("Cannot enqueue to stream '%s' as subject '%s' is not one of its subjects", c.stream, m.subject), err)
	}
	return failCause(ErrPublish, fmt.Sprintf("Cannot enqueue to stream '%s': %v", c.stream, err), err)
}

func (c *client) requireStream(ctx context.Context, attempt string) error {
	_, err := c.js.Stream(ctx, c.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fail(ErrStreamNotFound, fmt.Sprintf("Cannot %s stream '%s': stream not found (start a worker with --stream %s first, or run qw init)", attempt, c.stream, c.stream))
	}
	if err != nil {
		return failCause(ErrPublish, fmt.Sprintf("Cannot %s stream '%s': %v", attempt, c.stream, err), err)
	}
	return nil
}

// resultsKV is the results bucket; nil while no worker created it yet (it waits while ctx lasts when wait is set).
func (c *client) resultsKV(ctx context.Context, wait bool) (jetstream.KeyValue, error) {
	if c.results != nil {
		return c.results, nil
	}
	checked := false
	for delay := 100 * time.Millisecond; ; delay = min(time.Second, delay*2) {
		kv, err := c.js.KeyValue(ctx, ResultsBucket(c.stream))
		if err == nil {
			c.results = kv
			return kv, nil
		}
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, failCause(ErrBadRecord, fmt.Sprintf("Cannot get result from stream '%s': %v", c.stream, err), err)
		}
		if !checked {
			if err := c.requireStream(ctx, "get result from"); err != nil {
				return nil, err
			}
			checked = true
		}
		if !wait {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(delay):
		}
	}
}

func (c *client) Result(ctx context.Context, id string) (*Result, error) {
	if err := checkID("get result", id); err != nil {
		return nil, err
	}
	kv, err := c.resultsKV(ctx, false)
	if err != nil || kv == nil {
		return &Result{ID: id, State: StatePending}, err
	}
	e, err := kv.Get(ctx, KeyFor(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &Result{ID: id, State: StatePending}, nil
	}
	if err != nil {
		return nil, failCause(ErrBadRecord, fmt.Sprintf("Cannot get result of '%s': %v", id, err), err)
	}
	return decodeResult(id, e.Value())
}

func (c *client) Wait(ctx context.Context, id string) (*Result, error) {
	if err := checkID("wait for result", id); err != nil {
		return nil, err
	}
	last := &Result{ID: id, State: StatePending}
	timeout := func() error {
		return failCause(ErrResultTimeout, fmt.Sprintf("No final result for '%s' before the context ended (%v): current state is \"%s\"", id, ctx.Err(), last.State), ctx.Err())
	}
	kv, err := c.resultsKV(ctx, true)
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return last, timeout()
	}
	w, err := kv.Watch(ctx, KeyFor(id))
	if err != nil {
		if ctx.Err() != nil {
			return last, timeout()
		}
		return nil, failCause(ErrBadRecord, fmt.Sprintf("Cannot watch result of '%s': %v", id, err), err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return last, timeout()
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return last, timeout()
				}
				return last, fail(ErrResultTimeout, fmt.Sprintf("No final result for '%s': the watch ended (connection closed?): current state is \"%s\"", id, last.State))
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			r, err := decodeResult(id, e.Value())
			if err != nil {
				return nil, err
			}
			last = r
			if r.State.Final() {
				return r, nil
			}
		}
	}
}

func (c *client) Revoke(ctx context.Context, id string, opts ...RevokeOpt) (RevokeStatus, error) {
	var o revokeOptions
	for _, f := range opts {
		f(&o)
	}
	cur, err := c.Result(ctx, id)
	if err != nil {
		return RevokeStatus{}, err
	}
	if cur.State.Final() {
		return RevokeStatus{Revoked: false, State: cur.State}, nil
	}
	if err := c.requireStream(ctx, "revoke a job of"); err != nil {
		return RevokeStatus{}, err
	}
	if c.revoked == nil {
		kv, err := c.js.KeyValue(ctx, RevokedBucket(c.stream))
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: RevokedBucket(c.stream), TTL: DefaultResultTTL, History: 1})
		}
		if err != nil {
			return RevokeStatus{}, failCause(ErrPublish, fmt.Sprintf("Cannot revoke '%s': %v", id, err), err)
		}
		c.revoked = kv
	}
	if _, err := c.revoked.Put(ctx, KeyFor(id), encodeRevoke(id, o.terminate, c.now())); err != nil {
		return RevokeStatus{}, failCause(ErrPublish, fmt.Sprintf("Cannot revoke '%s': %v", id, err), err)
	}
	return RevokeStatus{Revoked: true, State: cur.State}, nil
}
