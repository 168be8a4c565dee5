import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { context, propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, StackContextManager, TracerProvider } from "@opentelemetry/sdk-trace";
import {
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from "@opentelemetry/semantic-conventions/incubating";
import { headers as natsHeaders } from "@nats-io/nats-core";
import {
  endSend,
  extractContext,
  messagingAttributes,
  spanHeaders,
  startSend,
  startSendMany,
  traceHeadersOf,
} from "../../../src/client/trace_context.ts";

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const register = () => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new StackContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
};
const unregister = () => {
  trace.disable();
  context.disable();
  propagation.disable();
};
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe("trace context on job messages", () => {
  after(unregister);

  test("messagingAttributes() uses the names and values of the messaging conventions", () => {
    assert.deepEqual(messagingAttributes("send", "jobs.add", "order-42"), {
      [ATTR_MESSAGING_SYSTEM]: "nats",
      [ATTR_MESSAGING_DESTINATION_NAME]: "jobs.add",
      [ATTR_MESSAGING_OPERATION_TYPE]: MESSAGING_OPERATION_TYPE_VALUE_SEND,
      [ATTR_MESSAGING_OPERATION_NAME]: "send",
      [ATTR_MESSAGING_MESSAGE_ID]: "order-42",
    });
    assert.equal(messagingAttributes("process", "jobs.add", "x")[ATTR_MESSAGING_OPERATION_TYPE], MESSAGING_OPERATION_TYPE_VALUE_PROCESS);
  });

  test("with no SDK registered startSend() writes no header and its span records nothing", () => {
    unregister();
    const headers: Record<string, string> = {};
    const span = startSend("jobs.add", "a", headers);
    assert.deepEqual(headers, {});
    assert.equal(span.isRecording(), false);
    endSend(span);
  });

  test("startSend() makes a send span, child of the active span, and writes its context as traceparent", () => {
    register();
    exporter.reset();
    const parent = provider.getTracer("test").startSpan("checkout");
    const headers: Record<string, string> = { "x-tenant": "7" };
    const span = context.with(trace.setSpan(ROOT_CONTEXT, parent), () => startSend("jobs.add", "order-42", headers));
    endSend(span);
    const [, traceId, spanId] = TRACEPARENT.exec(headers.traceparent)!;
    assert.equal(traceId, parent.spanContext().traceId);
    assert.equal(spanId, span.spanContext().spanId);
    assert.equal(headers["x-tenant"], "7");
    const sent = exporter.getFinishedSpans().find((s) => s.name === "send jobs.add")!;
    assert.equal(sent.parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(sent.attributes["messaging.message.id"], "order-42");
  });

  test("startSend() keeps a traceparent the caller set", () => {
    register();
    const mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const headers: Record<string, string> = { traceparent: mine };
    endSend(startSend("jobs.add", "a", headers));
    assert.equal(headers.traceparent, mine);
  });

  test("startSendMany() makes one send span for a batch and writes it into a copy of every job's headers", () => {
    register();
    exporter.reset();
    const shared = { "x-tenant": "7" };
    const jobs: { headers?: Record<string, string> }[] = [{ headers: shared }, { headers: shared }, {}];
    const parent = provider.getTracer("test").startSpan("import");
    const span = context.with(trace.setSpan(ROOT_CONTEXT, parent), () => startSendMany("jobs", jobs));
    endSend(span);
    assert.deepEqual(shared, { "x-tenant": "7" }, "the caller's object is left as it was");
    for (const j of jobs) assert.equal(TRACEPARENT.exec(j.headers!.traceparent)![2], span.spanContext().spanId);
    const [s] = exporter.getFinishedSpans().filter((x) => x.name === "send jobs");
    assert.equal(s.attributes["messaging.batch.message_count"], 3);
    assert.equal(s.parentSpanContext?.spanId, parent.spanContext().spanId);
  });

  test("with no SDK and no propagator startSendMany() leaves the jobs' headers alone", () => {
    unregister();
    const headers = { a: "1" };
    const jobs = [{ headers }];
    endSend(startSendMany("jobs", jobs));
    assert.equal(jobs[0].headers, headers);
  });

  test("endSend() with an error marks the span failed with the exception", () => {
    register();
    exporter.reset();
    endSend(startSend("jobs.add", "a", {}), new TypeError("no responders"));
    const [s] = exporter.getFinishedSpans();
    assert.equal(s.status.code, 2);
    assert.equal(s.attributes["error.type"], "TypeError");
    assert.equal(s.events[0].name, "exception");
  });

  test("the context written by spanHeaders() is read back by extractContext() from NATS headers (round trip)", () => {
    register();
    const span = provider.getTracer("test").startSpan("run");
    const written = spanHeaders(span);
    const h = natsHeaders();
    for (const [k, v] of Object.entries(written)) h.set(k, v);
    h.set("Qw-Id", "a");
    const read = trace.getSpanContext(extractContext(h))!;
    assert.deepEqual([read.traceId, read.spanId, read.isRemote], [span.spanContext().traceId, span.spanContext().spanId, true]);
    assert.deepEqual(Object.keys(traceHeadersOf(h)), ["traceparent"]);
  });

  test("extractContext() reads a Traceparent header whatever its case", () => {
    register();
    const h = natsHeaders();
    h.set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert.equal(trace.getSpanContext(extractContext(h))?.spanId, "b7ad6b7169203331");
    assert.deepEqual(traceHeadersOf(h), { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
  });

  test("extractContext() of a message without trace headers, or with a bad traceparent, is the root context", () => {
    register();
    assert.equal(trace.getSpanContext(extractContext(undefined)), undefined);
    const h = natsHeaders();
    h.set("traceparent", "not-a-traceparent");
    assert.equal(trace.getSpanContext(extractContext(h)), undefined);
    assert.deepEqual(traceHeadersOf(undefined), {});
  });

  test("startSend() follows an SDK registered again: spans go to the provider registered now", () => {
    const first = new InMemorySpanExporter();
    const second = new InMemorySpanExporter();
    const use = (e: InMemorySpanExporter) => {
      unregister();
      trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: e })] }));
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    };
    use(first);
    endSend(startSend("jobs.a", "1", {}));
    use(second);
    endSend(startSend("jobs.b", "2", {}));
    assert.deepEqual(first.getFinishedSpans().map((s) => s.name), ["send jobs.a"]);
    assert.deepEqual(second.getFinishedSpans().map((s) => s.name), ["send jobs.b"]);
    unregister();
    register();
  });
});
