package qw

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Delays held by the server (nats-server 2.12+, a stream with allow_msg_schedules): a delayed job is an
// ADR-51 schedule on <stream>._sched.<task>.<token>, which the server publishes to <stream>.<task> at its time.

// maxScheduleToken is the longest token (the dedup id in base64url) a schedule's subject may end with.
const maxScheduleToken = 512

// scheduleToken is a dedup id in base64url without padding: one subject per job.
func scheduleToken(dedupID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(dedupID))
}

// atSchedule is the Nats-Schedule value of a job due at etaMs: RFC 3339 in UTC with milliseconds.
func atSchedule(etaMs int64) string {
	return "@at " + time.UnixMilli(etaMs).UTC().Format("2006-01-02T15:04:05.000Z")
}

var serverVersion = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// serverHolds reports whether a server of this version holds the delayed jobs of a stream with this flag:
// @at schedules came in 2.12. An unreadable version counts as an older server.
func serverHolds(version string, allowMsgSchedules bool) bool {
	m := serverVersion.FindStringSubmatch(version)
	if m == nil || !allowMsgSchedules {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 2 || (major == 2 && minor >= 12)
}

// delays remembers whether the server holds this client's delayed jobs, read at the first delayed job.
type delays struct {
	mu    sync.Mutex
	known bool
	held  bool
}

// serverHeld reads the server's version and the stream's flag once.
func (c *client) serverHeld(ctx context.Context) bool {
	c.delays.mu.Lock()
	defer c.delays.mu.Unlock()
	if c.delays.known {
		return c.delays.held
	}
	version := c.js.Conn().ConnectedServerVersion()
	if !serverHolds(version, true) {
		c.delays.known = true
		return false
	}
	s, err := c.js.Stream(ctx, c.stream)
	if err != nil {
		// A stream it may not read keeps the qw way; one not created yet is asked again next time.
		c.delays.known = !errors.Is(err, jetstream.ErrStreamNotFound)
		return false
	}
	c.delays.known, c.delays.held = true, serverHolds(version, s.CachedInfo().Config.AllowMsgSchedules)
	return c.delays.held
}

// delayed reports whether o asks for a job that waits.
func (o enqueueOptions) delayed(now time.Time) bool {
	return (o.countdown != nil && *o.countdown > 0) || (o.eta != nil && o.eta.After(now)) || (o.debounce != nil && *o.debounce > 0)
}
