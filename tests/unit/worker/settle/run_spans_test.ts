import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { propagation, SpanKind, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { headers as natsHeaders } from "@nats-io/nats-core";
import type { JsMsg } from "@nats-io/jetstream";
import type { Decision } from "../../../../src/core/job/ack_policy.ts";
import type { Held } from "../../../../src/worker/intake/held.ts";
import { outcomeName, runAttributes, runError, RunSpans } from "../../../../src/worker/settle/run_spans.ts";
import { fields, outcomeEvent, startedEvent } from "../../../../src/worker/settle/_outcome.ts";
import { retryJob } from "../../../../src/worker/settle/job_sink.ts";

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const PRODUCER = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" };

function held(traceparent?: string): Held {
  const h = natsHeaders();
  h.set("Qw-Id", "order-42");
  if (traceparent) h.set("traceparent", traceparent);
  const msg = { subject: "jobs.charge", headers: h, data: new Uint8Array() } as unknown as JsMsg;
  return {
    id: "order-42", task: "charge", retries: 1, deliveryCount: 2, seq: 9, msg, policy: {} as Held["policy"], runsBefore: 1,
    state: "running", acked: false, startedAt: 0, heldAt: 0, lastTouch: 0, expiresAt: null,
  };
}
const failed: Decision = { broker: { op: "ack" }, state: "FAILURE", event: "job.failed", error: { name: "RangeError", message: "amount < 0", stack: "RangeError: amount < 0\n    at charge" } };

describe("run spans", () => {
  before(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  after(() => propagation.disable());

  test("runAttributes() names the run by the messaging conventions and qw's own fields", () => {
    assert.deepEqual(runAttributes({ id: "a", task: "t", retries: 2, runsBefore: 3, deliveryCount: 1, seq: 5 }, "jobs.t"), {
      "messaging.system": "nats", "messaging.destination.name": "jobs.t", "messaging.operation.type": "process",
      "messaging.operation.name": "process", "messaging.message.id": "a",
      "qw.task": "t", "qw.job.id": "a", "qw.retries": 2, "qw.run": 4, "qw.delivery_count": 1, "qw.stream_sequence": 5,
    });
  });

  test("outcomeName() and runError(): an error marks failed, rejected and retried runs, not requeued or ignored ones", () => {
    const error = { name: "E", message: "m" };
    const table: [Decision["event"], string, boolean][] = [
      ["job.succeeded", "succeeded", false],
      ["job.failed", "failed", true],
      ["job.retry_scheduled", "retry_scheduled", true],
      ["job.rejected", "rejected", true],
      ["job.requeued", "requeued", false],
      ["job.ignored", "ignored", false],
      ["job.revoked", "revoked", false],
    ];
    for (const [event, name, marked] of table) {
      assert.equal(outcomeName({ event }), name);
      assert.equal(runError({ event, error }) !== null, marked, event);
    }
    assert.equal(runError({ event: "job.failed" }), null);
  });

  test("a run is a consumer span, child of and linked to its message's context, ended with its outcome and error", () => {
    exporter.reset();
    const spans = new RunSpans(provider.getTracer("qw"));
    const h = held(`00-${PRODUCER.traceId}-${PRODUCER.spanId}-01`);
    spans.started(h);
    assert.equal((startedEvent(h) as { traceId?: string }).traceId, PRODUCER.traceId);
    assert.equal(fields(h).spanId, h.span!.spanContext().spanId);
    spans.decided(h, failed);
    const event = outcomeEvent(h, failed, 3);
    spans.ended(h);
    assert.equal(h.span, undefined);
    const [s] = exporter.getFinishedSpans();
    assert.equal(s.name, "process jobs.charge");
    assert.equal(s.kind, SpanKind.CONSUMER);
    assert.equal(s.spanContext().traceId, PRODUCER.traceId);
    assert.equal(s.parentSpanContext?.spanId, PRODUCER.spanId);
    assert.deepEqual(s.links.map((l) => l.context.spanId), [PRODUCER.spanId]);
    assert.deepEqual([s.attributes["qw.outcome"], s.attributes["qw.state"], s.attributes["error.type"], s.attributes["qw.run"]], ["failed", "FAILURE", "RangeError", 2]);
    assert.deepEqual([s.status.code, s.status.message], [2, "RangeError: amount < 0"]);
    assert.equal(s.events[0].attributes?.["exception.stacktrace"], failed.error!.stack);
    assert.deepEqual([(event as { spanId?: string }).spanId], [s.spanContext().spanId]);
  });

  test("a run of a message without trace context starts a new trace, with no link", () => {
    exporter.reset();
    const spans = new RunSpans(provider.getTracer("qw"));
    const h = held();
    spans.started(h);
    spans.ended(h, "still running when the grace period ended");
    const [s] = exporter.getFinishedSpans();
    assert.equal(s.parentSpanContext, undefined);
    assert.deepEqual(s.links, []);
    assert.deepEqual([s.attributes["qw.outcome"], s.attributes["qw.hand_back.reason"]], ["handed_back", "still running when the grace period ended"]);
  });

  test("a retry published by a traced run carries the run's context; untraced, it carries the message's own", () => {
    const spans = new RunSpans(provider.getTracer("qw"));
    const original = `00-${PRODUCER.traceId}-${PRODUCER.spanId}-01`;
    const h = held(original);
    assert.equal(retryJob(h, 0, 2, 0).headers!.traceparent, original);
    spans.started(h);
    const carried = retryJob(h, 0, 2, 0).headers!.traceparent;
    assert.equal(carried, `00-${PRODUCER.traceId}-${h.span!.spanContext().spanId}-01`);
    spans.ended(h);
  });

  test("a job that never started has no span, and ending it does nothing", () => {
    exporter.reset();
    const h = held();
    new RunSpans(provider.getTracer("qw")).ended(h);
    assert.equal(exporter.getFinishedSpans().length, 0);
    assert.equal(fields(h).traceId, undefined);
    assert.equal(trace.getActiveSpan(), undefined);
  });
});
