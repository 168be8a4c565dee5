package qw

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestServerHolds(t *testing.T) {
	for _, c := range []struct {
		version string
		flag    bool
		want    bool
	}{
		{"2.9.10", true, false},
		{"2.11.4", true, false},
		{"2.12.0", true, true},
		{"2.12.0", false, false},
		{"v2.15.3", true, true},
		{"3.0.0", true, true},
		{"", true, false},
		{"garbage", true, false},
	} {
		if got := serverHolds(c.version, c.flag); got != c.want {
			t.Errorf("serverHolds(%q, %v) = %v, want %v", c.version, c.flag, got, c.want)
		}
	}
}

// A countdown enqueued from Go while no qw runs: held by the server on 2.12+ (a schedule on its own
// subject), on <stream>._delayed.<task> before; a qw started later runs it once either way.
func TestCountdownFromGoHeldByTheServer(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)
	id, err := c.Enqueue(ctx, "add", []any{2, 2}, WithCountdown(time.Second), WithID("go-held"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	want := stream + "._delayed.add"
	if serverHolds(nc.ConnectedServerVersion(), true) {
		want = stream + "._sched.add." + scheduleToken("go-held:eta")
	}
	if len(info.State.Subjects) != 1 || info.State.Subjects[want] != 1 {
		t.Fatalf("subjects %v, want one message on %s", info.State.Subjects, want)
	}
	startQw(t, s, stream)
	if r, err := c.Wait(ctx, id); err != nil || string(r.Value) != "4" {
		t.Fatalf("countdown: %+v %v", r, err)
	}
}
