package qw

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// A parent span context as an application's SDK (or an incoming request) would make it.
func parentContext(t *testing.T) (context.Context, trace.SpanContext) {
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc), sc
}

// noPropagator is what otel has before an application registers one: it writes nothing.
var noPropagator = propagation.NewCompositeTextMapPropagator()

// withW3C registers the W3C trace context propagator for one test.
func withW3C(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(noPropagator) })
}

func TestStartSendWritesTheTraceContextAsTraceparent(t *testing.T) {
	withW3C(t)
	ctx, _ := parentContext(t)
	h := map[string]string{"Qw-Id": "a"}
	endSend(startSend(ctx, "jobs.add", "a", h), nil)
	// Without an SDK the send span is otel's no-op one, which carries its parent's context: that is what travels.
	if got, want := h["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"; got != want {
		t.Fatalf("traceparent = %q, want %q", got, want)
	}
}

func TestStartSendWithoutAPropagatorWritesNothing(t *testing.T) {
	otel.SetTextMapPropagator(noPropagator)
	ctx, _ := parentContext(t)
	h := map[string]string{}
	endSend(startSend(ctx, "jobs.add", "a", h), nil)
	if len(h) != 0 {
		t.Fatalf("headers = %v, want none (otel's default propagator is a no-op)", h)
	}
}

func TestStartSendKeepsTheCallersTraceparent(t *testing.T) {
	withW3C(t)
	ctx, _ := parentContext(t)
	mine := "00-11111111111111111111111111111111-2222222222222222-01"
	h := map[string]string{"traceparent": mine}
	endSend(startSend(ctx, "jobs.add", "a", h), nil)
	if h["traceparent"] != mine {
		t.Fatalf("traceparent = %q, want the caller's %q", h["traceparent"], mine)
	}
}

func TestEnqueueAndEnqueueFlowPutTraceparentOnTheMessage(t *testing.T) {
	requireQw(t)
	withW3C(t)
	s := startServer(t)
	stream := streamName(t)
	qwInit(t, s, stream)
	c := connect(t, s, stream)
	parent, sc := parentContext(t)
	ctx, cancel := context.WithTimeout(parent, 30*time.Second)
	defer cancel()
	if _, err := c.Enqueue(ctx, "add", []any{1, 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueFlow(ctx, Chain(Sig("add", 1, 1), Sig("add", 2))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueMany(ctx, []Job{{Task: "square", Args: []any{3}}}); err != nil {
		t.Fatal(err)
	}
	str, err := c.(*client).js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	for _, subject := range []string{stream + ".add", stream + "._flow", stream + ".square"} {
		m, err := str.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("traceparent"); got != want {
			t.Fatalf("%s: traceparent = %q, want %q", subject, got, want)
		}
	}
}
