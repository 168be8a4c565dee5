import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SERVICE_NAME, diagText, oncePerMinute, tracingSettings } from "../../../src/cli/tracing.ts";
import { jsonFields } from "../../../src/cli/log.ts";

describe("tracingSettings()", () => {
  test("is null without an endpoint, and when OTEL_SDK_DISABLED is true", () => {
    assert.equal(tracingSettings(null, { OTEL_SERVICE_NAME: "x" }, "w"), null);
    assert.equal(tracingSettings("http://c:4318", { OTEL_SDK_DISABLED: " TRUE " }, "w"), null);
    assert.notEqual(tracingSettings("http://c:4318", { OTEL_SDK_DISABLED: "false" }, "w"), null);
  });

  test("sends to <endpoint>/v1/traces, as the OTLP exporter specification reads OTEL_EXPORTER_OTLP_ENDPOINT", () => {
    assert.equal(tracingSettings("http://c:4318", {}, "w")?.url, "http://c:4318/v1/traces");
    assert.equal(tracingSettings("https://c/otlp/", {}, "w")?.url, "https://c/otlp/v1/traces");
  });

  test("names the service from OTEL_SERVICE_NAME, else qw; the instance is the worker's name; the delay from OTEL_BSP_SCHEDULE_DELAY", () => {
    assert.deepEqual(tracingSettings("http://c:4318", {}, "box:42"), {
      url: "http://c:4318/v1/traces", serviceName: DEFAULT_SERVICE_NAME, instance: "box:42", scheduledDelayMs: 5000,
    });
    const s = tracingSettings("http://c:4318", { OTEL_SERVICE_NAME: "billing", OTEL_BSP_SCHEDULE_DELAY: "200" }, "w");
    assert.deepEqual([s?.serviceName, s?.scheduledDelayMs], ["billing", 200]);
    assert.equal(tracingSettings("http://c:4318", { OTEL_BSP_SCHEDULE_DELAY: "soon" }, "w")?.scheduledDelayMs, 5000);
  });
});

describe("jsonFields()", () => {
  const job = { id: "a", task: "t", retries: 0, deliveryCount: 1, seq: 1 };
  test("names a traced job event's ids trace_id and span_id", () => {
    const fields = jsonFields({ type: "job.started", ...job, traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" });
    assert.deepEqual(fields, { type: "job.started", ...job, trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: "b7ad6b7169203331" });
  });
  test("leaves an untraced event as it is", () => {
    assert.deepEqual(jsonFields({ type: "job.started", ...job }), { type: "job.started", ...job });
  });
});

describe("export errors", () => {
  test("oncePerMinute() reports the first at once, then one a minute saying how many it left out", () => {
    let now = 0;
    const said: string[] = [];
    const report = oncePerMinute((m) => said.push(m), () => now);
    report("down");
    now = 5_000;
    report("down");
    now = 30_000;
    report("down");
    now = 61_000;
    report("still down");
    assert.deepEqual(said, ["down", "still down (and 2 more since the last one)"]);
  });

  test("diagText() makes one line of the SDK's error, given as an object or as its JSON", () => {
    assert.equal(diagText('{"message":"connect ECONNREFUSED 127.0.0.1:9","code":"ECONNREFUSED"}', []), "connect ECONNREFUSED 127.0.0.1:9");
    assert.equal(diagText("export failed", [new Error("timeout")]), "export failed timeout");
    assert.equal(diagText("status", [503]), "status 503");
  });
});
