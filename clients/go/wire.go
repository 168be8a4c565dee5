package qw

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// message is what goes on NATS for a job or a flow's start.
type message struct {
	subject string
	headers map[string]string
	body    []byte
}

// enqueueOptions are the resolved options of one job.
type enqueueOptions struct {
	id        string
	countdown *time.Duration
	eta       *time.Time
	expires   *time.Duration
	expiresAt *time.Time
	headers   map[string]string
	// unique is the job's unique key; debounce, with it, its debounce window (see unique.go).
	unique   string
	debounce *time.Duration
	// concurrencyKey is the job's concurrency key (see concurrency.go).
	concurrencyKey string
	// priority: 0 (lowest) to 9; nil is the default, 5.
	priority *int
	// serverHeld: a delayed job goes out as a schedule the server holds (see delays.go).
	serverHeld bool
}

const enqueueAttempt = "enqueue job"

// defaultPriority is the priority of a job that names none: it goes on the plain <stream>.<task>.
const defaultPriority = 5

var (
	badTask    = regexp.MustCompile(`[\s.*>\x00-\x1f\x7f]`)
	headerName = regexp.MustCompile(`^[!-9;-~]+$`)
	plainKey   = regexp.MustCompile(`^[-/_a-zA-Z0-9]+(\.[-/_a-zA-Z0-9]+)*$`)
)

func show(v any) string {
	b, _ := marshal(fmt.Sprint(v))
	return string(b)
}

func bad(kind error, attempt, what, must string, value any) error {
	return fail(kind, fmt.Sprintf("Cannot %s as %s must be %s: current value is %s", attempt, what, must, show(value)))
}

// marshal is compact JSON as JavaScript's JSON.stringify writes it: no HTML
// escapes, no trailing newline. (Go escapes U+2028 and U+2029, which
// JavaScript does not; both read back the same.)
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func checkID(attempt, id string) error {
	if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "\r\n") {
		return bad(ErrInvalidJob, attempt, "'id'", "a non-empty line", id)
	}
	return nil
}

func checkTask(kind error, attempt, task string) error {
	if task == "" || badTask.MatchString(task) || strings.HasPrefix(task, "_") {
		return bad(kind, attempt, "'task'", `a name without whitespace, ".", "*", ">" or a leading "_"`, task)
	}
	return nil
}

// encodeJob is the message of one job: on <stream>.<task>, or while its eta is after now
// <stream>._delayed.<task>, or a schedule on <stream>._sched.<task>.<token> when o.serverHeld.
func encodeJob(stream, task string, args []any, o enqueueOptions, now time.Time) (message, error) {
	if err := checkTask(ErrInvalidJob, enqueueAttempt, task); err != nil {
		return message{}, err
	}
	if err := checkID(enqueueAttempt, o.id); err != nil {
		return message{}, err
	}
	nowMs := float64(now.UnixMilli())
	var etaMs *float64
	if o.countdown != nil && o.eta != nil {
		return message{}, fail(ErrInvalidJob, "Cannot enqueue job with both 'countdown' and 'eta'")
	}
	if o.countdown != nil {
		if *o.countdown < 0 {
			return message{}, bad(ErrInvalidJob, enqueueAttempt, "'countdown'", ">= 0", o.countdown.Seconds())
		}
		if *o.countdown > 0 {
			ms := nowMs + float64(*o.countdown)/float64(time.Millisecond)
			etaMs = &ms
		}
	} else if o.eta != nil {
		ms := float64(o.eta.UnixNano()) / 1e6
		etaMs = &ms
	}
	var expiresMs *float64
	if o.expires != nil && o.expiresAt != nil {
		return message{}, fail(ErrInvalidJob, "Cannot enqueue job with both 'expires' and 'expiresAt'")
	}
	if o.expires != nil {
		if *o.expires <= 0 {
			return message{}, bad(ErrInvalidJob, enqueueAttempt, "'expires'", "> 0 seconds", o.expires.Seconds())
		}
		ms := nowMs + float64(*o.expires)/float64(time.Millisecond)
		expiresMs = &ms
	} else if o.expiresAt != nil {
		ms := float64(o.expiresAt.UnixNano()) / 1e6
		expiresMs = &ms
	}
	scheduleName := ""
	if o.debounce != nil {
		if *o.debounce <= 0 {
			return message{}, bad(ErrInvalidJob, enqueueAttempt, "'debounce'", "a number of seconds > 0", o.debounce.Seconds())
		}
		if o.unique == "" {
			return message{}, fail(ErrInvalidJob, "Cannot enqueue job with 'debounce' but no 'unique': the key of the burst")
		}
		if o.countdown != nil || o.eta != nil {
			return message{}, fail(ErrInvalidJob, "Cannot enqueue job with 'debounce' and 'countdown' or 'eta'")
		}
		ms := nowMs + float64(*o.debounce)/float64(time.Millisecond)
		etaMs = &ms
		scheduleName = "debounce:" + o.unique
	}
	headers := make(map[string]string, len(o.headers)+6)
	for k, v := range o.headers {
		lower := strings.ToLower(k)
		if strings.HasPrefix(lower, "qw-") || lower == "nats-msg-id" {
			return message{}, fail(ErrInvalidJob, fmt.Sprintf("Cannot %s as header %s is reserved: use another name", enqueueAttempt, show(k)))
		}
		if !headerName.MatchString(k) || strings.ContainsAny(v, "\r\n") {
			return message{}, bad(ErrInvalidJob, enqueueAttempt, "header "+show(k), "a printable name with a one-line string value", v)
		}
		headers[k] = v
	}
	if args == nil {
		args = []any{}
	}
	body, err := marshal(struct {
		Args []any `json:"args"`
	}{args})
	if err != nil {
		return message{}, failCause(ErrInvalidJob, fmt.Sprintf("Cannot %s as 'args' must be JSON-serializable: %v", enqueueAttempt, err), err)
	}
	headers["Qw-Id"] = o.id
	if o.unique != "" {
		headers["Qw-Unique"] = o.unique
	}
	if o.concurrencyKey != "" {
		headers["Qw-Concurrency-Key"] = o.concurrencyKey
	}
	if o.debounce != nil {
		headers["Qw-Debounce"] = strconv.FormatFloat(o.debounce.Seconds(), 'f', -1, 64)
	}
	priority := defaultPriority
	if o.priority != nil {
		if *o.priority < 0 || *o.priority > 9 {
			return message{}, bad(ErrInvalidJob, enqueueAttempt, "'priority'", "a whole number from 0 to 9", *o.priority)
		}
		priority = *o.priority
	}
	ready := stream + "." + task
	if priority != defaultPriority {
		ready = stream + ".p" + strconv.Itoa(priority) + "." + task
	}
	if expiresMs != nil {
		// The absolute expiry; JavaScript's Math.round, as for the eta.
		headers["Qw-Expires"] = strconv.FormatInt(int64(math.Floor(*expiresMs+0.5)), 10)
	}
	if etaMs != nil && *etaMs > nowMs {
		headers["Nats-Msg-Id"] = o.id + ":eta"
		// JavaScript's Math.round: halves go up.
		eta := int64(math.Floor(*etaMs + 0.5))
		name := o.id + ":eta"
		if scheduleName != "" {
			name = scheduleName
		}
		if token := scheduleToken(name); o.serverHeld && len(token) <= maxScheduleToken {
			// Due at its eta, or at its expiry when that comes first: a worker then records it REVOKED (expired).
			due := eta
			if expiresMs != nil {
				if exp := int64(math.Floor(*expiresMs + 0.5)); exp < due {
					due = exp
				}
			}
			headers["Nats-Schedule"] = atSchedule(due)
			headers["Nats-Schedule-Target"] = ready
			return message{subject: stream + "._sched." + task + "." + token, headers: headers, body: body}, nil
		}
		headers["Qw-Eta"] = strconv.FormatInt(eta, 10)
		if priority != defaultPriority {
			headers["Qw-Priority"] = strconv.Itoa(priority)
		}
		return message{subject: stream + "._delayed." + task, headers: headers, body: body}, nil
	}
	headers["Nats-Msg-Id"] = o.id
	if o.concurrencyKey != "" {
		return message{subject: keySubject(stream, task, o.concurrencyKey), headers: headers, body: body}, nil
	}
	return message{subject: ready, headers: headers, body: body}, nil
}

// encodeFlowStart is the message that starts a flow; node is normalized.
func encodeFlowStart(stream, id string, node any) (message, error) {
	if err := checkID("start flow", id); err != nil {
		return message{}, err
	}
	body, err := marshal(struct {
		ID   string `json:"id"`
		Flow any    `json:"flow"`
	}{id, node})
	if err != nil {
		return message{}, failCause(ErrInvalidFlow, fmt.Sprintf("Cannot start flow as its args must be JSON-serializable: %v", err), err)
	}
	return message{subject: stream + "._flow", headers: map[string]string{"Nats-Msg-Id": "flow:" + id}, body: body}, nil
}

// encodeRevoke is a revoke as the bucket qw_<stream>_revoked stores it.
func encodeRevoke(id string, terminate bool, at time.Time) []byte {
	b, _ := marshal(struct {
		ID        string `json:"id"`
		Terminate bool   `json:"terminate"`
		At        string `json:"at"`
	}{id, terminate, at.UTC().Format("2006-01-02T15:04:05.000Z")})
	return b
}

// ResultsBucket is the KV bucket of a stream's results.
func ResultsBucket(stream string) string { return "qw_" + stream + "_results" }

// RevokedBucket is the KV bucket of a stream's revokes.
func RevokedBucket(stream string) string { return "qw_" + stream + "_revoked" }

func isKeyChar(r rune) bool {
	return r == '-' || r == '/' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// KeyFor is the KV key of a task id: the id itself when it is a valid key
// without "=", else every other character (and "=", and a dot that is first,
// last or next to another) escaped as =XX per UTF-8 byte, as qw writes it.
func KeyFor(id string) string {
	if plainKey.MatchString(id) {
		return id
	}
	rs := []rune(id)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == '.':
			if i == 0 || i == len(rs)-1 || rs[i-1] == '.' || rs[i+1] == '.' {
				b.WriteString("=2e")
			} else {
				b.WriteByte('.')
			}
		case isKeyChar(r):
			b.WriteRune(r)
		default:
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			for _, c := range buf[:n] {
				fmt.Fprintf(&b, "=%02x", c)
			}
		}
	}
	return b.String()
}
