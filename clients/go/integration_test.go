package qw

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The Go client against a real nats-server and a real dist/qw: jobs enqueued here run in qw.

var (
	qwBin = envOr("QW_BIN", "../../dist/qw")
	tasks = "../testdata/tasks.ts"
)

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

type server struct {
	url string
	cmd *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(t *testing.T) *server {
	t.Helper()
	// NATS_SERVER_BIN picks the server, as in the TypeScript suite (make test sets it to 2.15.3); else PATH's.
	bin := os.Getenv("NATS_SERVER_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Fatal("nats-server is not on PATH: install it (make install runs scripts/ensure_nats_server.sh)")
		}
	}
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(bin, "-js", "-sd", filepath.Join(dir, "store"), "-a", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nats-server did not listen within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &server{url: fmt.Sprintf("nats://127.0.0.1:%d", port), cmd: cmd}
}

func requireQw(t *testing.T) {
	if _, err := os.Stat(qwBin); err != nil {
		t.Fatalf("%s is missing: run `make build` first", qwBin)
	}
}

func qwInit(t *testing.T, s *server, stream string) {
	requireQw(t)
	out, err := exec.Command(qwBin, "init", "--stream", stream, "--server", s.url).CombinedOutput()
	if err != nil {
		t.Fatalf("qw init: %v: %s", err, out)
	}
}

func startQw(t *testing.T, s *server, stream string) {
	requireQw(t)
	cmd := exec.Command(qwBin, "--stream", stream, "--tasks", tasks, "--server", s.url, "--concurrency", "2")
	log, _ := os.Create(filepath.Join(t.TempDir(), "qw.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

func connect(t *testing.T, s *server, stream string) Client {
	nc, err := nats.Connect(s.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(js, WithStream(stream))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func streamName(t *testing.T) string {
	return "go_" + strings.ReplaceAll(newID()[:8], "-", "")
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestEnqueueRunsInQw(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	startQw(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)

	id, err := c.Enqueue(ctx, "add", []any{2, 3}, WithHeader("X-Request-Id", "r-1"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := r.Decode(&sum); err != nil || r.State != StateSuccess || sum != 5 || r.Task != "add" {
		t.Fatalf("got %+v (%v), want SUCCESS 5", r, err)
	}
	if p, _ := c.Result(ctx, "never-enqueued"); p.State != StatePending {
		t.Fatalf("unknown id: %s", p.State)
	}
	fid, _ := c.Enqueue(ctx, "fail", []any{"no card"})
	f, err := c.Wait(ctx, fid)
	if err != nil || f.State != StateFailure || f.Error == nil || f.Error.Name != "TypeError" || f.Error.Message != "no card" {
		t.Fatalf("failure: %+v %v", f, err)
	}
	start := time.Now()
	later, _ := c.Enqueue(ctx, "add", []any{4, 4}, WithCountdown(time.Second))
	if r, err := c.Wait(ctx, later); err != nil || string(r.Value) != "8" || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("countdown: %+v %v after %v", r, err, time.Since(start))
	}
}

func TestFlowsFromGo(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	startQw(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)

	id, err := c.EnqueueFlow(ctx, Chord(Group(Sig("square", 2), Sig("square", 3)), Sig("sum")), WithID("report-7"))
	if err != nil || id != "report-7" {
		t.Fatal(id, err)
	}
	if r, err := c.Wait(ctx, id); err != nil || string(r.Value) != "13" {
		t.Fatalf("chord: %+v %v", r, err)
	}
	chain, _ := c.EnqueueFlow(ctx, Chain(Sig("add", 1, 1), Sig("add", 2), Si("add", 10, 10)))
	if r, err := c.Wait(ctx, chain); err != nil || string(r.Value) != "20" {
		t.Fatalf("chain: %+v %v", r, err)
	}
}

func TestRevokeFromGo(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)
	id, _ := c.Enqueue(ctx, "add", []any{1, 2}, WithCountdown(time.Minute))
	if st, err := c.Revoke(ctx, id); err != nil || st != (RevokeStatus{true, StatePending}) {
		t.Fatal(st, err)
	}
	startQw(t, s, stream)
	if r, err := c.Wait(ctx, id); err != nil || r.State != StateRevoked {
		t.Fatalf("revoked: %+v %v", r, err)
	}
	if st, err := c.Revoke(ctx, id, WithTerminate()); err != nil || st != (RevokeStatus{false, StateRevoked}) {
		t.Fatal(st, err)
	}
}

func TestAnExpiredJobFromGoNeverRuns(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)
	id, err := c.Enqueue(ctx, "add", []any{1, 2}, WithExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	far, _ := c.Enqueue(ctx, "add", []any{2, 2}, WithExpiresAt(time.Now().Add(10*time.Minute)))
	time.Sleep(2 * time.Second)
	startQw(t, s, stream)
	if r, err := c.Wait(ctx, id); err != nil || r.State != StateRevoked || r.Reason != "expired" {
		t.Fatalf("expired: %+v %v", r, err)
	}
	var n int
	if r, err := c.Wait(ctx, far); err != nil || r.State != StateSuccess || r.Decode(&n) != nil || n != 4 {
		t.Fatalf("far: %+v %v", r, err)
	}
}

func TestAThousandJobsFromGoRunInOneQw(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	startQw(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 120*time.Second)
	jobs := make([]Job, 1000)
	for i := range jobs {
		jobs[i] = Job{Task: "add", Args: []any{i, i}}
	}
	ids, err := c.EnqueueMany(ctx, jobs)
	if err != nil || len(ids) != 1000 {
		t.Fatal(len(ids), err)
	}
	errs := make(chan error, len(ids))
	for i, id := range ids {
		go func() {
			r, err := c.Wait(ctx, id)
			if err == nil && string(r.Value) != fmt.Sprint(2*i) {
				err = fmt.Errorf("job %d: %s %s", i, r.State, r.Value)
			}
			errs <- err
		}()
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestClearErrors(t *testing.T) {
	s := startServer(t)
	if _, err := New(nil); err == nil || err.Error() != "Cannot create client as 'stream' must be set: use qw.WithStream(name)" {
		t.Fatal(err)
	}
	if _, err := New(nil, WithStream("a.b")); !errors.Is(err, ErrInvalidJob) {
		t.Fatal(err)
	}
	c := connect(t, s, "no_such_stream")
	ctx := within(t, 10*time.Second)
	_, err := c.Enqueue(ctx, "add", []any{1})
	if !errors.Is(err, ErrStreamNotFound) || !strings.Contains(err.Error(), "stream not found") {
		t.Fatalf("missing stream: %v", err)
	}
	_, err = c.Enqueue(ctx, "bad name", nil)
	if !errors.Is(err, ErrInvalidJob) || err.Error() != `Cannot enqueue job as 'task' must be a name without whitespace, ".", "*", ">" or a leading "_": current value is "bad name"` {
		t.Fatalf("bad task: %v", err)
	}
	_, err = c.Enqueue(ctx, "add", nil, WithHeader("Qw-Id", "x"))
	if !errors.Is(err, ErrInvalidJob) {
		t.Fatal(err)
	}
	_, err = c.Enqueue(ctx, "add", []any{func() {}})
	if !errors.Is(err, ErrInvalidJob) || !strings.Contains(err.Error(), "'args' must be JSON-serializable") {
		t.Fatal(err)
	}
	_, err = c.EnqueueFlow(ctx, Chain(Sig("ok"), Group(Sig("ok"), Sig("_bad"))))
	if !errors.Is(err, ErrInvalidFlow) || !strings.HasPrefix(err.Error(), "Cannot start flow as step '.1.1' must be a task name") {
		t.Fatal(err)
	}

	stream := streamName(t)
	qwInit(t, s, stream)
	c = connect(t, s, stream)
	id, _ := c.Enqueue(ctx, "add", []any{1, 2})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	r, err := c.Wait(short, id)
	if !errors.Is(err, ErrResultTimeout) || !errors.Is(err, context.DeadlineExceeded) || r.State != StatePending {
		t.Fatalf("timeout: %v", err)
	}
}

func TestAConcurrencyKeyFromGoWaitsOnItsKeySubjectAndRuns(t *testing.T) {
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	ctx := within(t, 60*time.Second)
	var ids []string
	for n := 0; n < 3; n++ {
		id, err := c.Enqueue(ctx, "add", []any{n, n}, WithConcurrencyKey("tenant é"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	st, err := c.(*client).js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	want := stream + "._key.add." + scheduleToken("tenant é")
	if len(info.State.Subjects) != 1 || info.State.Subjects[want] != 3 {
		t.Fatalf("subjects: %v, want %s: 3", info.State.Subjects, want)
	}
	startQw(t, s, stream)
	for n, id := range ids {
		var sum int
		if r, err := c.Wait(ctx, id); err != nil || r.State != StateSuccess || r.Decode(&sum) != nil || sum != 2*n {
			t.Fatalf("job %d: %+v %v", n, r, err)
		}
	}
}
