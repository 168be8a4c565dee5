package qw

import (
	"sync"
	"testing"
	"time"
)

func TestUniqueKVKeyMatchesTheTypeScriptClient(t *testing.T) {
	for _, c := range [][3]string{
		{"send-mail", "user-42", "send-mail.dXNlci00Mg"},
		{"send_mail", "a", "_c2VuZF9tYWls.YQ"},
		{"add", "a.b c*>", "add.YS5iIGMqPg"},
		{"add", "ü", "add.w7w"},
	} {
		if got := UniqueKVKey(c[0], c[1]); got != c[2] {
			t.Errorf("UniqueKVKey(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestUniqueHeld(t *testing.T) {
	now := time.UnixMilli(1_767_225_600_000)
	rec := func(published bool, age time.Duration) *uniqueRecord {
		return &uniqueRecord{ID: "a", At: now.Add(-age).UnixMilli(), Published: published}
	}
	for _, c := range []struct {
		name  string
		rec   *uniqueRecord
		state State
		want  bool
	}{
		{"a published job with no result holds", rec(true, time.Hour), StatePending, true},
		{"a job waiting for its retry holds", rec(true, 0), StateRetry, true},
		{"a finished job does not", rec(true, 0), StateSuccess, false},
		{"a revoked job does not", rec(true, 0), StateRevoked, false},
		{"an unpublished claim within the grace holds", rec(false, uniquePublishGrace), StatePending, true},
		{"an unpublished claim past the grace does not", rec(false, uniquePublishGrace+time.Millisecond), StatePending, false},
		{"no record does not", nil, StatePending, false},
	} {
		if got := uniqueHeld(c.rec, c.state, now); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestUniqueAndDebounceOptionsAreChecked(t *testing.T) {
	now := time.UnixMilli(1_767_225_600_000)
	d := 2 * time.Second
	zero := time.Duration(0)
	for name, o := range map[string]enqueueOptions{
		"debounce without unique": {id: "a", debounce: &d},
		"a debounce of 0":         {id: "a", unique: "k", debounce: &zero},
		"debounce and countdown":  {id: "a", unique: "k", debounce: &d, countdown: &d},
	} {
		if _, err := encodeJob("jobs", "add", nil, o, now); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := WithUnique("")(&enqueueOptions{}); err == nil {
		t.Error("an empty unique key: no error")
	}
}

func TestUniqueFromGoRacesToOneJobAndFreesTheKey(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	startQw(t, s, stream)
	ctx := within(t, 60*time.Second)
	clients := make([]Client, 10)
	for i := range clients {
		clients[i] = connect(t, s, stream)
	}
	ids := make([]string, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := c.Enqueue(ctx, "add", []any{1, 2}, WithUnique("go-k"))
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("ids differ: %v", ids)
		}
	}
	if r, err := clients[0].Wait(ctx, ids[0]); err != nil || string(r.Value) != "3" {
		t.Fatalf("%+v %v", r, err)
	}
	var again string
	for i := 0; i < 50; i++ {
		again, _ = clients[1].Enqueue(ctx, "add", []any{1, 2}, WithUnique("go-k"))
		if again != ids[0] {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if again == ids[0] {
		t.Fatal("the key was never released")
	}
	if r, err := clients[1].Wait(ctx, again); err != nil || r.State != StateSuccess {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestDebounceFromGoRunsOnlyTheLast(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	startQw(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)
	var ids []string
	for i := 0; i < 5; i++ {
		id, err := c.Enqueue(ctx, "add", []any{i, 0}, WithUnique("go-d"), WithDebounce(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if r, err := c.Wait(ctx, ids[4]); err != nil || string(r.Value) != "4" {
		t.Fatalf("%+v %v", r, err)
	}
	time.Sleep(500 * time.Millisecond)
	for _, id := range ids[:4] {
		if r, _ := c.Result(ctx, id); r.State != StatePending && r.State != StateRevoked {
			t.Fatalf("%s ran: %s", id, r.State)
		}
	}
}
