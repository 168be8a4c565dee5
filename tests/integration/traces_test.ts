// Traces end to end: a producer with a registered OpenTelemetry SDK (this
// process) enqueues, real dist/qw exports its runs over OTLP/HTTP to a test
// receiver, and the spans of a chain of three, and of a job and its retry,
// form one trace with the right parents.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor, StackContextManager, TracerProvider } from "@opentelemetry/sdk-trace";
import { chain, sig } from "../../src/core/flow.ts";
import { connectClient } from "../../src/client/client.ts";
import { spawnQw } from "../helpers/cli.ts";
import { OtlpReceiver, type ReceivedSpan } from "../helpers/otlp_receiver.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/traced.ts";
const CONSUMER = 5;
const ERROR = 2;

describe("traces", () => {
  const t = useServer("traces");
  let receiver: OtlpReceiver;
  const produced = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: produced })] });

  before(async () => {
    receiver = await OtlpReceiver.start();
    // What an application does (or @opentelemetry/sdk-node does for it): a provider, a context manager, W3C propagation.
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new StackContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  after(async () => {
    // Other test files may run in this process: leave the API as it was, a no-op.
    trace.disable();
    context.disable();
    propagation.disable();
    await receiver?.stop();
  });

  const startWorker = async (stream: string) => {
    const qw = spawnQw(
      ["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "2", "--default-retry-delay", "0", "--log-format", "json", "--log-level", "debug"],
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "100", OTEL_SERVICE_NAME: "qw-test" } },
    );
    await qwStarted(qw);
    return qw;
  };
  const runsOf = (traceId: string, n: number) =>
    waitFor(() => {
      const runs = receiver.spans.filter((s) => s.traceId === traceId && s.kind === CONSUMER);
      return runs.length >= n ? runs : null;
    }, { timeoutMs: 20_000, message: () => `expected ${n} runs in trace ${traceId}, received: ${JSON.stringify(receiver.spans.map((s) => s.name))}` });
  const byJob = (runs: ReceivedSpan[], id: string) => runs.find((s) => s.attributes["qw.job.id"] === id)!;

  it("a chain of three enqueued under a span is one trace: send -> step 0 -> step 1 -> step 2, each run a child of the one before", SLOW, async () => {
    const stream = "chain";
    const qw = await startWorker(stream);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const parent = provider.getTracer("test").startSpan("checkout");
      const flowId = await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
        client.enqueueFlow(chain(sig("add", [1, 1]), sig("add", [2]), sig("mul", [10]))));
      parent.end();
      assert.equal((await client.result(flowId, { timeout: 20 })).result, 40);

      const traceId = parent.spanContext().traceId;
      const send = produced.getFinishedSpans().find((s) => s.name === `send ${stream}._flow`);
      assert.ok(send, `the producer made a send span: ${produced.getFinishedSpans().map((s) => s.name)}`);
      assert.equal(send.spanContext().traceId, traceId);
      assert.equal(send.parentSpanContext?.spanId, parent.spanContext().spanId);
      assert.equal(send.attributes["messaging.operation.type"], "send");

      const runs = await runsOf(traceId, 3);
      assert.equal(runs.length, 3, "one span per run, no more");
      const [s0, s1, s2] = [".0", ".1", ".2"].map((p) => byJob(runs, `${flowId}${p}`));
      assert.equal(s0.parentSpanId, send.spanContext().spanId, "the first step is a child of the producer's send span");
      assert.equal(s1.parentSpanId, s0.spanId, "step 1 is a child of step 0's run");
      assert.equal(s2.parentSpanId, s1.spanId, "step 2 is a child of step 1's run");
      assert.deepEqual(s1.links, [{ traceId, spanId: s0.spanId }], "a run links to the context its message carries");
      assert.equal(s0.name, `process ${stream}.add`);
      assert.equal(s2.name, `process ${stream}.mul`);
      assert.deepEqual(
        [s0.attributes["messaging.system"], s0.attributes["messaging.operation.type"], s0.attributes["messaging.destination.name"]],
        ["nats", "process", `${stream}.add`],
      );
      assert.deepEqual([s2.attributes["qw.task"], s2.attributes["qw.outcome"], s2.attributes["qw.run"], s2.status.code], ["mul", "succeeded", 1, 0]);
      assert.equal(s0.service, "qw-test");
      assert.deepEqual(receiver.rejected, []);

      // JSON log lines of those runs name their trace and span.
      const lines = qw.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const started = lines.find((l) => l.type === "job.started" && l.id === `${flowId}.1`);
      assert.deepEqual([started?.trace_id, started?.span_id], [traceId, s1.spanId]);
    } finally {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("a retry is a new run, child of and linked to the failed run; the failed run carries its error", SLOW, async () => {
    const stream = "retried";
    const qw = await startWorker(stream);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const parent = provider.getTracer("test").startSpan("signup");
      const id = await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
        client.enqueue("recovers", [join(t.dir, "recovers.jsonl"), 1]));
      parent.end();
      assert.equal((await client.result(id, { timeout: 20 })).state, "SUCCESS");
      const send = produced.getFinishedSpans().find((s) => s.name === `send ${stream}.recovers`)!;
      assert.equal(send.kind, SpanKind.PRODUCER);

      const runs = await runsOf(parent.spanContext().traceId, 2);
      const [first, second] = [0, 1].map((r) => runs.find((s) => s.attributes["qw.retries"] === r)!);
      assert.equal(first.parentSpanId, send.spanContext().spanId);
      assert.deepEqual([first.attributes["qw.outcome"], first.status.code, first.attributes["error.type"]], ["retry_scheduled", ERROR, "TypeError"]);
      const exception = first.events.find((e) => e.name === "exception");
      assert.equal(exception?.attributes["exception.message"], "not yet (retries 0)");
      assert.equal(second.parentSpanId, first.spanId, "the retry's run is a child of the run that scheduled it");
      assert.deepEqual(second.links.map((l) => l.spanId), [first.spanId]);
      assert.deepEqual([second.attributes["qw.outcome"], second.status.code], ["succeeded", 0]);
    } finally {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    }
  });
});
