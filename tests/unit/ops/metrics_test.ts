import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { labels, Metrics } from "../../../src/ops/metrics.ts";
import { Health, parseListen, SPAWN_FAILURE_WINDOW_MS } from "../../../src/ops/http.ts";
import { eventMessage, EventPublisher } from "../../../src/ops/event_publisher.ts";
import { formatEvent } from "../../../src/cli/commands/cmd_events.ts";
import type { JobFields, QwEvent } from "../../../src/core/events.ts";

const job = (task: string, seq: number, extra: Partial<JobFields> = {}): JobFields => ({
  id: `id-${seq}`,
  task,
  retries: 0,
  deliveryCount: 1,
  seq,
  ...extra,
});
const error = { name: "Error", message: "boom" };

/** Sample lines of a rendered exposition, without comments. */
const samples = (text: string): string[] => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

function feed(m: Metrics | Health, events: QwEvent[]): void {
  for (const e of events) m.observe(e);
}

describe("Metrics", () => {
  test("counts every job outcome by task, with retries, worker losses, time limits, redeliveries and hand-backs", () => {
    const m = new Metrics({ stream: "jobs", poolSize: 2, held: () => 7 });
    feed(m, [
      { type: "service.started", stream: "jobs", consumer: "qw_jobs", concurrency: 4, tasks: ["add"] },
      { type: "pool.size", ready: 3, size: 4 },
      { type: "job.handed_back", reason: "waited 20 s", cause: "waited", ...job("add", 8) },
      { type: "job.handed_back", reason: "waited 20 s", cause: "waited", ...job("add", 9) },
      { type: "job.handed_back", reason: "stalled", cause: "stall", ...job("add", 10) },
      { type: "job.started", ...job("add", 1) },
      { type: "job.succeeded", ms: 3, ...job("add", 1) },
      { type: "job.started", ...job("add", 2) },
      { type: "job.failed", ms: 20, error, ...job("add", 2) },
      { type: "job.started", ...job("flaky", 3) },
      { type: "job.retry_scheduled", countdown: 0, ...job("flaky", 3) },
      { type: "job.started", ...job("flaky", 4, { deliveryCount: 2 }) },
      { type: "job.requeued", ...job("flaky", 4, { deliveryCount: 2 }) },
      { type: "job.rejected", reason: "over the cap", ...job("flaky", 5, { deliveryCount: 6 }) },
      { type: "job.started", ...job("skip", 6) },
      { type: "job.ignored", ...job("skip", 6) },
      { type: "job.invalid", seq: 7, subject: "jobs.nope", reason: "Unknown task 'nope'" },
      { type: "job.revoked", reason: "revoked before it started", ...job("skip", 11) },
      { type: "job.expired", expiresAt: 1767225602000, ...job("skip", 12) },
      { type: "job.expired", expiresAt: 1767225602000, ...job("skip", 13) },
      { type: "worker.lost", worker: 0, reason: "exited" },
      { type: "worker.time_limit", worker: 1, task: "add", id: "x" },
    ]);
    const text = m.render();
    assert.deepEqual(samples(text).filter((l) => !l.startsWith("qw_job_duration")), [
      'qw_jobs_total{task="add",outcome="succeeded"} 1',
      'qw_jobs_total{task="add",outcome="failed"} 1',
      'qw_jobs_total{task="flaky",outcome="retried"} 1',
      'qw_jobs_total{task="flaky",outcome="rejected"} 1',
      'qw_jobs_total{task="flaky",outcome="requeued"} 1',
      'qw_jobs_total{task="nope",outcome="invalid"} 1',
      'qw_jobs_total{task="skip",outcome="ignored"} 1',
      'qw_jobs_total{task="skip",outcome="revoked"} 1',
      'qw_jobs_total{task="skip",outcome="expired"} 2',
      'qw_retries_total{task="flaky"} 1',
      "qw_worker_lost_total 1",
      "qw_time_limits_total 1",
      "qw_redeliveries_seen_total 1",
      'qw_jobs_handed_back_total{reason="stall"} 1',
      'qw_jobs_handed_back_total{reason="waited"} 2',
      "qw_jobs_in_flight 0",
      "qw_jobs_held 7",
      "qw_pool_size 3",
    ]);
    for (
      const name of [
        "qw_jobs_total",
        "qw_retries_total",
        "qw_worker_lost_total",
        "qw_time_limits_total",
        "qw_redeliveries_seen_total",
      ]
    ) {
      assert.ok(text.includes(`# TYPE ${name} counter\n`), name);
    }
    assert.ok(text.includes("# TYPE qw_jobs_in_flight gauge\n"));
    assert.ok(text.includes("# TYPE qw_job_duration_seconds histogram\n"));
    assert.ok(text.endsWith("\n"));
  });

  test("renders a cumulative duration histogram per task from the ms of succeeded and failed jobs", () => {
    const m = new Metrics({ stream: "jobs", buckets: [0.01, 0.1, 1] });
    feed(m, [
      { type: "job.succeeded", ms: 5, ...job("a", 1) },
      { type: "job.succeeded", ms: 50, ...job("a", 2) },
      { type: "job.failed", ms: 5000, error, ...job("a", 3) },
      { type: "job.retry_scheduled", countdown: 1, ...job("a", 4) },
    ]);
    assert.deepEqual(samples(m.render()).filter((l) => l.startsWith("qw_job_duration")), [
      'qw_job_duration_seconds_bucket{task="a",le="0.01"} 1',
      'qw_job_duration_seconds_bucket{task="a",le="0.1"} 2',
      'qw_job_duration_seconds_bucket{task="a",le="1"} 2',
      'qw_job_duration_seconds_bucket{task="a",le="+Inf"} 3',
      'qw_job_duration_seconds_sum{task="a"} 5.055',
      'qw_job_duration_seconds_count{task="a"} 3',
    ]);
  });

  test("keeps jobs in flight from start to settlement, including handed-back and overlapping deliveries", () => {
    const m = new Metrics({ stream: "jobs" });
    feed(m, [
      { type: "job.started", ...job("a", 1) },
      { type: "job.started", ...job("a", 1, { deliveryCount: 2 }) },
      { type: "job.started", ...job("a", 2) },
    ]);
    assert.equal(m.snapshot().inFlight, 3);
    m.observe({ type: "job.succeeded", ms: 1, ...job("a", 1) });
    m.observe({ type: "job.handed_back", reason: "shutdown", cause: "shutdown", ...job("a", 2) });
    assert.equal(m.snapshot().inFlight, 1);
    // A job rejected before it started never counted.
    m.observe({ type: "job.rejected", reason: "cap", ...job("a", 9) });
    assert.equal(m.snapshot().inFlight, 1);
    m.observe({ type: "service.closed", handedBack: 0 });
    assert.equal(m.snapshot().inFlight, 0);
  });

  test("renders the families with zero values before any event", () => {
    const text = new Metrics({ stream: "jobs", poolSize: 3 }).render();
    assert.deepEqual(samples(text), [
      "qw_worker_lost_total 0",
      "qw_time_limits_total 0",
      "qw_redeliveries_seen_total 0",
      "qw_jobs_in_flight 0",
      "qw_jobs_held 0",
      "qw_pool_size 3",
    ]);
  });

  test("escapes backslashes, quotes and newlines in label values", () => {
    assert.equal(labels({ task: 'a"b\\c\nd' }), '{task="a\\"b\\\\c\\nd"}');
  });

  test("labels an invalid message outside the stream by its whole subject", () => {
    const m = new Metrics({ stream: "jobs" });
    m.observe({ type: "job.invalid", seq: 1, subject: "other.x", reason: "?" });
    assert.deepEqual(m.snapshot().jobs, { "other.x": { invalid: 1 } });
  });
});

describe("Health", () => {
  test("is healthy but not ready until the service started, and not ready while shutting down", () => {
    const h = new Health({ poolSize: 2 });
    assert.equal(h.health().ok, true);
    assert.deepEqual(h.readiness(), {
      ok: false,
      reason: "The consumer is not pulling yet",
      connected: true,
      poolAlive: true,
      pulling: false,
      closing: false,
    });
    h.observe({ type: "service.started", stream: "s", consumer: "c", concurrency: 2, tasks: [] });
    assert.equal(h.readiness().ok, true);
    h.observe({ type: "service.closing", reason: "SIGTERM" });
    assert.equal(h.health().ok, true);
    assert.equal(h.readiness().reason, "The worker is shutting down");
    h.observe({ type: "service.closed", handedBack: 0 });
    assert.equal(h.health().reason, "The pool is closed");
  });

  test("is unhealthy while disconnected from NATS and healthy again after the reconnect", () => {
    const h = new Health({ poolSize: 1 });
    h.observe({ type: "service.started", stream: "s", consumer: "c", concurrency: 1, tasks: [] });
    h.observe({ type: "connection.status", status: "disconnect", detail: "nats://127.0.0.1:4222" });
    assert.equal(h.health().ok, false);
    assert.equal(h.health().reason, "Not connected to NATS: disconnected from 'nats://127.0.0.1:4222'");
    assert.equal(h.readiness().ok, false);
    h.observe({ type: "connection.status", status: "reconnecting" });
    assert.equal(h.health().connected, false);
    h.observe({ type: "connection.status", status: "reconnect", detail: "nats://127.0.0.1:4222" });
    assert.equal(h.health().ok, true);
    assert.equal(h.readiness().ok, true);
  });

  test("calls the pool dead when every Web Worker failed to spawn lately and no job started since", () => {
    let now = 1_000_000;
    const h = new Health({ poolSize: 2, now: () => now });
    h.observe({ type: "worker.spawn_failed", worker: 0, error: "x", attempt: 1, retryInMs: 100 });
    assert.equal(h.poolAlive, true);
    now += 10;
    h.observe({ type: "worker.spawn_failed", worker: 1, error: "x", attempt: 1, retryInMs: 100 });
    assert.equal(h.poolAlive, false);
    assert.equal(h.health().reason, `No Web Worker could be spawned in the last ${SPAWN_FAILURE_WINDOW_MS / 1000}s`);
    now += 10;
    h.observe({ type: "job.started", ...job("a", 1) });
    assert.equal(h.poolAlive, true);
    now += 10;
    h.observe({ type: "worker.spawn_failed", worker: 0, error: "x", attempt: 1, retryInMs: 100 });
    h.observe({ type: "worker.spawn_failed", worker: 1, error: "x", attempt: 1, retryInMs: 100 });
    assert.equal(h.poolAlive, false);
    now += SPAWN_FAILURE_WINDOW_MS + 1;
    assert.equal(h.poolAlive, true);
  });

  test("fails /healthz with the reason while the pool is stalled, and passes again once it recovers", () => {
    const h = new Health({ poolSize: 2 });
    h.observe({ type: "service.started", stream: "jobs", consumer: "qw_jobs", concurrency: 2, tasks: ["a"] });
    h.observe({ type: "pool.stalled", waiting: 4, seconds: 30, fatal: false });
    assert.equal(h.health().ok, false);
    assert.equal(h.health().reason, "The pool is stalled: 4 job(s) waiting 30 s with no Web Worker running or reporting");
    assert.equal(h.readiness().ok, false);
    h.observe({ type: "pool.recovered", seconds: 31 });
    assert.equal(h.health().ok, true);
  });
});

describe("parseListen()", () => {
  test("splits host:port and [v6]:port", () => {
    assert.deepEqual(parseListen("127.0.0.1:9090"), { host: "127.0.0.1", port: 9090 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
  });

  test("rejects an address without a port with a one-line error", () => {
    assert.throws(() => parseListen("localhost"), {
      message: 'Cannot serve HTTP as the address must be "host:port": current value is "localhost"',
    });
  });
});

describe("EventPublisher", () => {
  const timer = () => new Promise((r) => setTimeout(r, 30));

  test("publishes a batch as one message of JSON lines with each event's time and source, after a short delay", async () => {
    const sent: [string, string][] = [];
    const p = new EventPublisher({ publish: (s, d) => void sent.push([s, d]) }, {
      subject: "_qw.events.jobs",
      source: "w1",
      flushMs: 5,
      now: () => 0,
    });
    p.push({ type: "job.started", ...job("add", 1) });
    p.push({ type: "job.succeeded", ms: 2, ...job("add", 1) });
    assert.equal(sent.length, 0);
    await timer();
    assert.equal(sent.length, 1);
    assert.equal(sent[0][0], "_qw.events.jobs");
    const lines = sent[0][1].split("\n");
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[0]).type, "job.started");
    assert.deepEqual(JSON.parse(lines[1]), {
      type: "job.succeeded",
      time: "1970-01-01T00:00:00.000Z",
      source: "w1",
      ms: 2,
      id: "id-1",
      task: "add",
      retries: 0,
      deliveryCount: 1,
      seq: 1,
    });
    assert.equal(p.published, 2);
  });

  test("drops events beyond its buffer and after close, and stops a batch at the first refused publish", () => {
    let refuse = false;
    const sent: string[] = [];
    const p = new EventPublisher({
      publish: (_s, d) => {
        if (refuse) throw new Error("closed");
        sent.push(d);
      },
    }, { subject: "s", source: "w", maxBuffered: 2 });
    for (let i = 1; i <= 3; i++) p.push({ type: "job.started", ...job("a", i) });
    assert.equal(p.dropped, 1);
    p.flush();
    assert.equal(sent.length, 1);
    assert.equal(sent[0].split("\n").length, 2);
    p.push({ type: "job.started", ...job("a", 4) });
    p.push({ type: "job.started", ...job("a", 5) });
    refuse = true;
    p.close();
    assert.equal(p.dropped, 3);
    p.push({ type: "job.started", ...job("a", 6) });
    assert.equal(p.dropped, 4);
  });

  test("puts type first and keeps a Web Worker number apart from the source", () => {
    const text = eventMessage({ type: "worker.lost", worker: 3, reason: "exited" }, 0, "host:1");
    assert.equal(
      text,
      '{"type":"worker.lost","time":"1970-01-01T00:00:00.000Z","source":"host:1","worker":3,"reason":"exited"}',
    );
  });

  test("puts type first even when the event was built with it later, and closes an event that has nothing else", () => {
    const late = { reason: "exited", type: "worker.lost", worker: 3 } as unknown as QwEvent;
    assert.equal(
      eventMessage(late, 0, 'h"1'),
      '{"type":"worker.lost","time":"1970-01-01T00:00:00.000Z","source":"h\\"1","reason":"exited","worker":3}',
    );
    const bare = { type: "service.started" } as unknown as QwEvent;
    assert.deepEqual(JSON.parse(eventMessage(bare, "t", "s")), { type: "service.started", time: "t", source: "s" });
    const bareLate = Object.assign(Object.create(null), { type: "x.y" }) as QwEvent;
    assert.equal(eventMessage(bareLate, "t", "s"), '{"type":"x.y","time":"t","source":"s"}');
  });

  test("a published batch's lines are the events' messages, stamped with each event's own millisecond", () => {
    const sent: string[] = [];
    let now = 0;
    const p = new EventPublisher({ publish: (_s, text) => void sent.push(text) }, { subject: "s", source: "w", now: () => now });
    const a: QwEvent = { type: "job.started", ...job("a", 1) };
    const b: QwEvent = { type: "job.succeeded", ms: 0.5, ...job("a", 1) };
    p.push(a);
    now = 1;
    p.push(b);
    p.push(a);
    p.flush();
    assert.deepEqual(sent, [[eventMessage(a, 0, "w"), eventMessage(b, 1, "w"), eventMessage(a, 1, "w")].join("\n")]);
  });
});

describe("qw events text", () => {
  test("prints time, source and the event's log message", () => {
    const text = eventMessage({ type: "job.succeeded", ms: 1.25, ...job("add", 1) }, 0, "w1");
    assert.equal(formatEvent(text), "1970-01-01T00:00:00.000Z w1 add[id-1] succeeded in 1.3ms\n");
  });

  test("prints unknown events and non-JSON messages as they are", () => {
    assert.equal(
      formatEvent('{"type":"job.future","time":"t","source":"w","x":1}'),
      't w job.future: {"type":"job.future","x":1}\n',
    );
    assert.equal(formatEvent("not json"), "not json\n");
  });
});
