// Traces in a real Jaeger: a chain of three enqueued from a traced producer
// (this process exports its spans to Jaeger too) and run by dist/qw reads as
// one trace in Jaeger's query API, each run under the one before. Needs a
// Jaeger binary (JAEGER_BIN; `scripts/build_jaeger.sh` builds v1.75.0 with Go,
// which costs minutes of CPU): skipped without one, and kept out of CI, which
// checks the same traces against a test OTLP/HTTP receiver (traces_test.ts).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { context, propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor, StackContextManager, TracerProvider } from "@opentelemetry/sdk-trace";
import { chain, sig } from "../../src/core/flow.ts";
import { connectClient } from "../../src/client/client.ts";
import { spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const JAEGER = process.env.JAEGER_BIN ?? "";
const OTLP = "http://127.0.0.1:4318";
const QUERY = "http://127.0.0.1:16686";

const portBusy = (port: number) =>
  new Promise<boolean>((r) => {
    const s = tcpConnect(port, "127.0.0.1");
    s.on("connect", () => (s.destroy(), r(true)));
    s.on("error", () => r(false));
  });

const SKIP = JAEGER === ""
  ? "JAEGER_BIN is not set (build Jaeger with scripts/build_jaeger.sh)"
  : !existsSync(JAEGER)
  ? `JAEGER_BIN '${JAEGER}' does not exist`
  : (await portBusy(4318)) || (await portBusy(16686))
  ? "ports 4318 or 16686 are taken: Jaeger listens there"
  : false;
// Bun's runner does not print a skip's reason: say it here.
if (SKIP) console.error(`jaeger_test.ts: skipped: ${SKIP}`);

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  processID: string;
}

describe("traces in Jaeger", { skip: SKIP }, () => {
  const t = useServer("jaeger");
  let jaeger: ChildProcess;
  let jaegerLog = "";
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": "shop" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${OTLP}/v1/traces` }) })],
  });

  before(async () => {
    jaeger = spawn(JAEGER, [], { stdio: ["ignore", "pipe", "pipe"] });
    jaeger.stdout!.on("data", (d) => (jaegerLog += d));
    jaeger.stderr!.on("data", (d) => (jaegerLog += d));
    await waitFor(async () => (await fetch(`${QUERY}/api/services`).catch(() => null))?.ok === true, {
      timeoutMs: 30_000,
      message: "Jaeger did not answer on 16686",
    });
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new StackContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  after(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    if (jaeger && jaeger.exitCode === null) {
      // Gone before the next run binds its ports.
      const exited = new Promise((r) => jaeger.on("exit", r));
      jaeger.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
  });

  it("a chain of three from TypeScript is one trace: checkout, send, then each step under the one before", { timeout: 90_000 }, async () => {
    const stream = "jaeger";
    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/traced.ts", "--server", t.srv.url, "--otlp-endpoint", OTLP], {
      env: { OTEL_BSP_SCHEDULE_DELAY: "100", OTEL_SERVICE_NAME: "qw" },
    });
    await qwStarted(qw);
    const client = await connectClient({ servers: t.srv.url, stream });
    let flowId = "";
    const parent = provider.getTracer("shop").startSpan("checkout");
    try {
      flowId = await context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
        client.enqueueFlow(chain(sig("add", [1, 1]), sig("add", [2]), sig("mul", [10]))));
      parent.end();
      assert.equal((await client.result(flowId, { timeout: 20 })).result, 40);
    } finally {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    }
    const traceId = parent.spanContext().traceId;
    const spans = await waitFor(async () => {
      const r = await fetch(`${QUERY}/api/traces/${traceId}`);
      if (!r.ok) return null;
      const found = ((await r.json()) as { data: { spans: JaegerSpan[] }[] }).data?.[0]?.spans ?? [];
      return found.length >= 5 ? found : null;
    }, { timeoutMs: 30_000, message: () => `trace ${traceId} did not reach 5 spans in Jaeger; its log ends: ${jaegerLog.slice(-2000)}` });
    const named = (name: string) => spans.filter((s) => s.operationName === name);
    const job = (s: JaegerSpan) => s.tags.find((tag) => tag.key === "qw.job.id")?.value;
    // Jaeger nests a span under its first reference. A run's parent and its link are the same span, which
    // Jaeger shows as one FOLLOWS_FROM reference (the link's type): the message's context, as it should be.
    const refs = (s: JaegerSpan) => s.references.map((r) => `${r.refType} ${r.spanID}`);
    const [checkout] = named("checkout");
    const [send] = named(`send ${stream}._flow`);
    const runs = [".0", ".1", ".2"].map((p) => spans.find((s) => job(s) === `${flowId}${p}`)!);
    assert.deepEqual(refs(send), [`CHILD_OF ${checkout.spanID}`]);
    assert.deepEqual(refs(runs[0]), [`FOLLOWS_FROM ${send.spanID}`]);
    assert.deepEqual(refs(runs[1]), [`FOLLOWS_FROM ${runs[0].spanID}`]);
    assert.deepEqual(refs(runs[2]), [`FOLLOWS_FROM ${runs[1].spanID}`]);
    assert.equal(new Set(spans.map((s) => s.traceID)).size, 1);
    assert.deepEqual(runs.map((s) => s.operationName), [`process ${stream}.add`, `process ${stream}.add`, `process ${stream}.mul`]);
  });
});
