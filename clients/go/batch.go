package qw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxAtomicBatch is the most jobs one atomic batch holds: the server's default max_batch_size (ADR-50).
const MaxAtomicBatch = 1000

const (
	// apiAtomicDisabled: the stream lacks allow_atomic.
	apiAtomicDisabled = 10174
	// apiAtomicDuplicate: a member's Nats-Msg-Id is stored already; nothing of the batch is stored.
	apiAtomicDuplicate = 10201
	// apiAtomicTooManyInflight: the stream (50) or the server (1,000) has as many batches open as it takes.
	apiAtomicTooManyInflight = 10210
	// inflightRetries and inflightPause: how often a batch refused as too many are open is sent again, and the
	// first pause (doubled each time).
	inflightRetries = 5
	inflightPause   = 50 * time.Millisecond
)

// atomicState remembers whether the stream allows atomic batches, read once.
type atomicState struct {
	mu    sync.Mutex
	known bool
	allow bool
}

// splitBatches cuts count jobs into consecutive [start, end) ranges of at most size.
func splitBatches(count, size int) [][2]int {
	var out [][2]int
	for start := 0; start < count; start += size {
		out = append(out, [2]int{start, min(count, start+size)})
	}
	return out
}

// batchHeaders sets the batch headers of member index (0-based) of a batch of size on h: the last one commits.
func batchHeaders(h nats.Header, batchID string, index, size int) {
	h.Set("Nats-Batch-Id", batchID)
	h.Set("Nats-Batch-Sequence", strconv.Itoa(index+1))
	if index == size-1 {
		h.Set("Nats-Batch-Commit", "1")
	}
}

var versionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// atomicBatchServer reports whether a server version (2.15.3) has atomic batches: 2.12 or later.
func atomicBatchServer(version string) bool {
	m := versionRE.FindStringSubmatch(version)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 2 || (major == 2 && minor >= 12)
}

// allowsAtomic is true for a 2.12+ server and a stream with allow_atomic (an existing stream is used as it is).
func (c *client) allowsAtomic(ctx context.Context) (bool, error) {
	c.atomic.mu.Lock()
	defer c.atomic.mu.Unlock()
	if c.atomic.known {
		return c.atomic.allow, nil
	}
	allow := false
	if nc := c.js.Conn(); nc != nil && atomicBatchServer(nc.ConnectedServerVersion()) {
		s, err := c.js.Stream(ctx, c.stream)
		if err != nil {
			if serr := c.requireStream(ctx, "enqueue to"); serr != nil {
				return false, serr
			}
			return false, failCause(ErrPublish, fmt.Sprintf("Cannot enqueue to stream '%s': %v", c.stream, err), err)
		}
		allow = s.CachedInfo().Config.AllowAtomicPublish
	}
	c.atomic.known, c.atomic.allow = true, allow
	return allow, nil
}

// publishMany publishes msgs in order: atomic batches where allowed, else pipelined. A batch holding an id
// stored already is refused whole by the server and then sent pipelined, which stores only what is missing.
func (c *client) publishMany(ctx context.Context, msgs []message) error {
	atomic := false
	if len(msgs) > 1 {
		var err error
		if atomic, err = c.allowsAtomic(ctx); err != nil {
			return err
		}
	}
	if !atomic {
		return c.publishPipelined(ctx, msgs)
	}
	for _, r := range splitBatches(len(msgs), MaxAtomicBatch) {
		part := msgs[r[0]:r[1]]
		if atomic && len(part) > 1 {
			err := c.publishBatchRetrying(ctx, part)
			if err == nil {
				continue
			}
			var apiErr *jetstream.APIError
			switch {
			case errors.As(err, &apiErr) && apiErr.ErrorCode == apiAtomicDisabled:
				atomic = false
			case errors.As(err, &apiErr) && apiErr.ErrorCode == apiAtomicDuplicate:
			default:
				before := ""
				if r[0] > 0 {
					before = fmt.Sprintf("; jobs 1 to %d were stored", r[0])
				}
				return failCause(ErrPublish, fmt.Sprintf("Cannot enqueue jobs %d to %d of %d as an atomic batch: %v (none of them was stored%s)", r[0]+1, r[1], len(msgs), err, before), err)
			}
		}
		if err := c.publishPipelined(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// publishBatchRetrying is publishBatch, sent again after a pause while the server has too many batches open
// (nothing was stored).
func (c *client) publishBatchRetrying(ctx context.Context, part []message) error {
	for attempt := 0; ; attempt++ {
		err := c.publishBatch(ctx, part)
		var apiErr *jetstream.APIError
		if err == nil || !errors.As(err, &apiErr) || apiErr.ErrorCode != apiAtomicTooManyInflight || attempt >= inflightRetries {
			return err
		}
		pause := time.Duration(float64(inflightPause<<attempt) * (0.5 + mrand.Float64()))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// publishBatch sends one atomic batch: the first member as a request (only its reply says whether the server
// opened the batch), the middle ones without a reply (the server answers only the commit), the last with
// Nats-Batch-Commit. The connection keeps them in order.
func (c *client) publishBatch(ctx context.Context, part []message) error {
	nc := c.js.Conn()
	id := newID()
	last := len(part) - 1
	for i, m := range part {
		msg := natsMsg(m)
		batchHeaders(msg.Header, id, i, len(part))
		switch i {
		case last:
			_, err := c.js.PublishMsg(ctx, msg)
			return err
		case 0:
			reply, err := nc.RequestMsgWithContext(ctx, msg)
			if err != nil {
				return err
			}
			if len(reply.Data) > 0 {
				var r struct {
					Error *jetstream.APIError `json:"error"`
				}
				if err := json.Unmarshal(reply.Data, &r); err == nil && r.Error != nil {
					return r.Error
				}
			}
		default:
			if err := nc.PublishMsg(msg); err != nil {
				return err
			}
		}
	}
	return nil
}
