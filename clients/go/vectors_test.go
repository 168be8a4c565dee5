package qw

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The Go client against every vector of the repository's spec/ folder.

const specDir = "../../spec"

type wireMessage struct {
	Subject string            `json:"subject"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

type jobVector struct {
	Kind  string `json:"kind"`
	Input struct {
		Stream  string          `json:"stream"`
		Task    string          `json:"task"`
		Args    []any           `json:"args"`
		Flow    json.RawMessage `json:"flow"`
		NewID   string          `json:"new_id"`
		NowMs   int64           `json:"now_ms"`
		Delays  string          `json:"delays"`
		Options struct {
			ID        *string           `json:"id"`
			Countdown *float64          `json:"countdown"`
			EtaMs     *int64            `json:"eta_ms"`
			Expires   *float64          `json:"expires"`
			ExpiresMs *int64            `json:"expires_ms"`
			Priority  *int              `json:"priority"`
			Headers   map[string]string `json:"headers"`
			Unique    string            `json:"unique"`
			Debounce  *float64          `json:"debounce"`
			ConcKey   string            `json:"concurrency_key"`
		} `json:"options"`
	} `json:"input"`
	Message wireMessage `json:"message"`
}

func vectorFiles(t *testing.T, folder string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(specDir, folder, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vectors in %s: %v", filepath.Join(specDir, folder), err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return out
}

// decodeNumbers keeps numbers as their literal text, so they are written back as the vector has them.
func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// nodeOf is a vector's flow as a caller builds it, with this package's builders.
func nodeOf(t *testing.T, raw json.RawMessage) Node {
	var n struct {
		Task      *string           `json:"task"`
		Args      []any             `json:"args"`
		Immutable bool              `json:"immutable"`
		Chain     []json.RawMessage `json:"chain"`
		Group     []json.RawMessage `json:"group"`
		Chord     *struct {
			Header []json.RawMessage `json:"header"`
			Body   json.RawMessage   `json:"body"`
		} `json:"chord"`
	}
	if err := decodeNumbers(raw, &n); err != nil {
		t.Fatal(err)
	}
	all := func(rs []json.RawMessage) []Node {
		out := []Node{}
		for _, r := range rs {
			out = append(out, nodeOf(t, r))
		}
		return out
	}
	switch {
	case n.Task != nil && n.Immutable:
		return Si(*n.Task, n.Args...)
	case n.Task != nil:
		return Sig(*n.Task, n.Args...)
	case n.Chain != nil:
		return Chain(all(n.Chain)...)
	case n.Group != nil:
		return Group(all(n.Group)...)
	default:
		return Chord(Group(all(n.Chord.Header)...), nodeOf(t, n.Chord.Body))
	}
}

func TestJobVectors(t *testing.T) {
	kinds := map[string]bool{}
	for name, b := range vectorFiles(t, "jobs") {
		var v jobVector
		if err := decodeNumbers(b, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kinds[v.Kind] = true
		if v.Kind == "retry" {
			continue // the worker's, checked by the TypeScript suite
		}
		t.Run(name, func(t *testing.T) {
			in := v.Input
			id := v.Input.NewID
			if in.Options.ID != nil {
				id = *in.Options.ID
			}
			now := time.UnixMilli(in.NowMs)
			var m message
			var err error
			if v.Kind == "enqueue" {
				o := enqueueOptions{id: id, headers: in.Options.Headers, serverHeld: in.Delays == "server"}
				if in.Options.Countdown != nil {
					d := time.Duration(*in.Options.Countdown * float64(time.Second))
					o.countdown = &d
				}
				if in.Options.EtaMs != nil {
					eta := time.UnixMilli(*in.Options.EtaMs)
					o.eta = &eta
				}
				if in.Options.Expires != nil {
					d := time.Duration(*in.Options.Expires * float64(time.Second))
					o.expires = &d
				}
				if in.Options.ExpiresMs != nil {
					at := time.UnixMilli(*in.Options.ExpiresMs)
					o.expiresAt = &at
				}
				o.unique = in.Options.Unique
				o.concurrencyKey = in.Options.ConcKey
				if in.Options.Debounce != nil {
					d := time.Duration(*in.Options.Debounce * float64(time.Second))
					o.debounce = &d
				}
				o.priority = in.Options.Priority
				m, err = encodeJob(in.Stream, in.Task, in.Args, o, now)
			} else {
				var node any
				if node, err = normalize(nodeOf(t, in.Flow), ""); err == nil {
					m, err = encodeFlowStart(in.Stream, id, node)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			got := wireMessage{m.subject, m.headers, string(m.body)}
			if !reflect.DeepEqual(got, v.Message) {
				t.Errorf("message differs:\n got: %+v\nwant: %+v", got, v.Message)
			}
		})
	}
	var got []string
	for k := range kinds {
		got = append(got, k)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "enqueue,flow,retry" {
		t.Errorf("kinds of job vectors: %v", got)
	}
}

func TestResultVectors(t *testing.T) {
	for name, b := range vectorFiles(t, "results") {
		var v struct {
			Input struct {
				Stream string `json:"stream"`
				Job    struct {
					ID            string `json:"id"`
					Task          string `json:"task"`
					Retries       int    `json:"retries"`
					DeliveryCount int    `json:"deliveryCount"`
				} `json:"job"`
				Worker     string          `json:"worker"`
				NowMs      int64           `json:"now_ms"`
				State      State           `json:"state"`
				Value      json.RawMessage `json:"value"`
				Error      *TaskError      `json:"error"`
				DeadLetter string          `json:"dead_letter"`
				Reason     string          `json:"reason"`
				Progress   *Progress       `json:"progress"`
			} `json:"input"`
			Bucket string  `json:"bucket"`
			Key    string  `json:"key"`
			Value  *string `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			in := v.Input
			if got := ResultsBucket(in.Stream); got != v.Bucket {
				t.Errorf("bucket %q, want %q", got, v.Bucket)
			}
			if got := KeyFor(in.Job.ID); got != v.Key {
				t.Errorf("key %q, want %q", got, v.Key)
			}
			var stored []byte
			if v.Value != nil {
				stored = []byte(*v.Value)
			}
			r, err := decodeResult(in.Job.ID, stored)
			if err != nil {
				t.Fatal(err)
			}
			if r.State != in.State || r.ID != in.Job.ID {
				t.Fatalf("state %s id %s, want %s %s", r.State, r.ID, in.State, in.Job.ID)
			}
			if in.State == StatePending {
				return
			}
			want := Result{
				ID: in.Job.ID, Task: in.Job.Task, State: in.State, Value: in.Value, Error: in.Error, Retries: in.Job.Retries,
				DeliveryCount: in.Job.DeliveryCount, Worker: in.Worker, FinishedAtMs: in.NowMs, DeadLetter: in.DeadLetter, Progress: in.Progress,
				Reason: in.Reason,
			}
			if in.State != StateSuccess {
				want.Value = nil
			}
			if string(r.Value) == "null" && want.Value == nil {
				r.Value = nil
			}
			var gotValue, wantValue any
			_ = r.Decode(&gotValue)
			_ = want.Decode(&wantValue)
			if !reflect.DeepEqual(gotValue, wantValue) {
				t.Errorf("value %s, want %s", r.Value, want.Value)
			}
			r.Value, want.Value = nil, nil
			if r.Progress != nil && want.Progress != nil {
				var a, b any
				_ = json.Unmarshal(r.Progress.Meta, &a)
				_ = json.Unmarshal(want.Progress.Meta, &b)
				if r.Progress.Fraction != want.Progress.Fraction || !reflect.DeepEqual(a, b) {
					t.Errorf("progress %+v, want %+v", r.Progress, want.Progress)
				}
				r.Progress, want.Progress = nil, nil
			}
			if !reflect.DeepEqual(*r, want) {
				t.Errorf("result\n got: %+v\nwant: %+v", *r, want)
			}
		})
	}
}

func TestRevokeVectors(t *testing.T) {
	for name, b := range vectorFiles(t, "revokes") {
		var v struct {
			Input struct {
				Stream    string `json:"stream"`
				ID        string `json:"id"`
				Terminate bool   `json:"terminate"`
				At        string `json:"at"`
			} `json:"input"`
			Bucket string `json:"bucket"`
			Key    string `json:"key"`
			Value  string `json:"value"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Run(name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339Nano, v.Input.At)
			if err != nil {
				t.Fatal(err)
			}
			if RevokedBucket(v.Input.Stream) != v.Bucket || KeyFor(v.Input.ID) != v.Key {
				t.Errorf("bucket/key %s/%s, want %s/%s", RevokedBucket(v.Input.Stream), KeyFor(v.Input.ID), v.Bucket, v.Key)
			}
			if got := string(encodeRevoke(v.Input.ID, v.Input.Terminate, at)); got != v.Value {
				t.Errorf("value %s, want %s", got, v.Value)
			}
		})
	}
}

func TestPriorityOutOfRange(t *testing.T) {
	for _, p := range []int{-1, 10} {
		p := p
		_, err := encodeJob("jobs", "add", nil, enqueueOptions{id: "x", priority: &p}, time.UnixMilli(0))
		if err == nil || !strings.Contains(err.Error(), "'priority' must be a whole number from 0 to 9: current value is") {
			t.Fatalf("priority %d: %v", p, err)
		}
	}
}
