package qw

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestSplitBatches(t *testing.T) {
	cases := []struct {
		count, size int
		want        [][2]int
	}{
		{0, 1000, nil},
		{1, 1000, [][2]int{{0, 1}}},
		{1000, 1000, [][2]int{{0, 1000}}},
		{1001, 1000, [][2]int{{0, 1000}, {1000, 1001}}},
		{2500, 1000, [][2]int{{0, 1000}, {1000, 2000}, {2000, 2500}}},
	}
	for _, c := range cases {
		if got := splitBatches(c.count, c.size); !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitBatches(%d, %d) = %v, want %v", c.count, c.size, got, c.want)
		}
	}
}

func TestBatchHeadersCommitOnlyTheLast(t *testing.T) {
	h := nats.Header{}
	batchHeaders(h, "b", 0, 2)
	if h.Get("Nats-Batch-Sequence") != "1" || h.Get("Nats-Batch-Commit") != "" || h.Get("Nats-Batch-Id") != "b" {
		t.Fatal(h)
	}
	h = nats.Header{}
	batchHeaders(h, "b", 1, 2)
	if h.Get("Nats-Batch-Sequence") != "2" || h.Get("Nats-Batch-Commit") != "1" {
		t.Fatal(h)
	}
}

func TestAtomicBatchServer(t *testing.T) {
	for v, want := range map[string]bool{"2.9.10": false, "2.11.4": false, "2.12.0": true, "v2.15.3": true, "3.0.0": true, "": false} {
		if got := atomicBatchServer(v); got != want {
			t.Errorf("atomicBatchServer(%q) = %v, want %v", v, got, want)
		}
	}
}

// 2,500 jobs: ids in order; on 2.12+ the stored messages carry batches of 1,000, 1,000 and 500; again with the
// same ids and one more, only the new one is stored.
func TestEnqueueManyGoesInAtomicBatchesOn212(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)
	jobs := func(n int) []Job {
		out := make([]Job, n)
		for i := range out {
			out[i] = Job{Task: "add", Args: []any{i, i}, Options: []EnqueueOpt{WithID(fmt.Sprintf("m-%d", i))}}
		}
		return out
	}
	ids, err := c.EnqueueMany(ctx, jobs(2500))
	if err != nil || len(ids) != 2500 || ids[0] != "m-0" || ids[2499] != "m-2499" {
		t.Fatal(len(ids), err)
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
	info := st.CachedInfo()
	atomic := atomicBatchServer(nc.ConnectedServerVersion())
	if info.Config.AllowAtomicPublish != atomic || info.State.Msgs != 2500 {
		t.Fatalf("allow_atomic %v on %s, %d messages", info.Config.AllowAtomicPublish, nc.ConnectedServerVersion(), info.State.Msgs)
	}
	var commits []uint64
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Nats-Batch-Commit") == "1" {
			commits = append(commits, seq-info.State.FirstSeq)
		}
	}
	want := []uint64(nil)
	if atomic {
		want = []uint64{999, 1999, 2499}
	}
	if !reflect.DeepEqual(commits, want) {
		t.Fatalf("commits at %v, want %v", commits, want)
	}
	if _, err := c.EnqueueMany(ctx, jobs(2501)); err != nil {
		t.Fatal(err)
	}
	info2, err := st.Info(context.Background())
	if err != nil || info2.State.Msgs != 2501 {
		t.Fatal(info2.State.Msgs, err)
	}
}

// On 2.12+ a batch refused as the stream has 50 batches open is sent again once one closes.
func TestEnqueueManyWaitsForAFreeBatchSlot(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 30*time.Second)
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if !atomicBatchServer(nc.ConnectedServerVersion()) {
		t.Skip("no atomic batches before nats-server 2.12")
	}
	for b := 0; b < 50; b++ {
		m := nats.NewMsg(stream + ".add")
		m.Data = []byte("{}")
		m.Header.Set("Nats-Batch-Id", fmt.Sprintf("open-%d", b))
		m.Header.Set("Nats-Batch-Sequence", "1")
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
	done := make(chan error, 1)
	go func() {
		_, err := c.EnqueueMany(ctx, []Job{{Task: "add", Args: []any{1, 1}}, {Task: "add", Args: []any{2, 2}}})
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	commit := nats.NewMsg(stream + ".add")
	commit.Data = []byte("{}")
	commit.Header.Set("Nats-Batch-Id", "open-0")
	commit.Header.Set("Nats-Batch-Sequence", "2")
	commit.Header.Set("Nats-Batch-Commit", "1")
	if _, err := nc.RequestMsg(commit, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, stream)
	if err != nil || st.CachedInfo().State.Msgs != 4 {
		t.Fatal(err)
	}
}
