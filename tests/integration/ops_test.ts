/**
 * Operating a worker: /metrics match a known scenario exactly, /healthz and
 * /readyz follow the connection and shutdown, and job events reach
 * `_qw.events.<stream>` and `qw events`. A real nats-server for the file.
 */

import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { resolveConfig, type WorkerConfig } from "../../src/core/config/config.ts";
import type { QwEvent } from "../../src/core/events.ts";
import { type Service, startService } from "../../src/worker/service.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 30_000 };
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = new URL("../../src/", import.meta.url).href;

const TASKS = `
import { task } from ${JSON.stringify(SRC + "core/task/task.ts")};
import { Ignore, Reject } from ${JSON.stringify(SRC + "core/errors.ts")};
export function add(a, b) { return a + b; }
export function boom() { throw new Error("boom"); }
export const again = task({ bind: true, maxRetries: 1 }, (ctx) => ctx.retry({ countdown: 0 }));
export function nope() { throw new Reject("Not today"); }
export function skip() { throw new Ignore(); }
export const bounce = task({ acksLate: true, bind: true }, (ctx) => {
  if (ctx.deliveryCount === 1) throw new Reject("Once more", { requeue: true });
  return "ok";
});
export function die() { setTimeout(() => { throw new Error("Web Worker dies"); }, 0); return new Promise(() => {}); }
export const hang = task({ timeLimit: 0.3 }, () => new Promise(() => {}));
export const nap = task({ acksLate: true }, (ms) => new Promise((r) => setTimeout(r, ms)));
`;

let server: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let dir: string;
let tasksFile: string;
let n = 0;
const services: Service[] = [];

before(async () => {
  server = await NatsServer.start();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  dir = mkdtempSync(join(tmpdir(), "qw-ops-"));
  tasksFile = join(dir, "tasks.mjs");
  writeFileSync(tasksFile, TASKS);
});

// Each test's workers stop with it: a lost Web Worker or a restart must not spill into the next test.
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close("test over", { graceSeconds: 0 })));
});

after(async () => {
  await Promise.all(services.map((s) => s.close("test over", { graceSeconds: 0 })));
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker on a fresh stream with an HTTP endpoint on a free port; records every event. */
async function worker(
  extra: Record<string, unknown> = {},
  on: NatsServer = server,
): Promise<{ svc: Service; stream: string; events: QwEvent[]; base: string }> {
  const stream = `ops${++n}_${Date.now().toString(36)}`;
  const cfg: WorkerConfig = resolveConfig(
    {
      server: on.url,
      stream,
      tasks: tasksFile,
      concurrency: 2,
      grace: 5,
      results: false,
      http: "127.0.0.1:0",
      name: "w1",
      events: true,
      ...extra,
    },
    { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
  );
  const svc = await startService(cfg);
  services.push(svc);
  const events: QwEvent[] = [];
  svc.events.on((e) => events.push(e));
  return { svc, stream, events, base: `http://${svc.httpAddress}` };
}

const enqueue = (stream: string, task: string, args: unknown[] = []) =>
  js.publish(`${stream}.${task}`, JSON.stringify({ args }));

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get("content-type") ?? "", body: await r.text() };
}

const samples = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
const settled = (events: QwEvent[]) =>
  events.filter((e) => e.type.startsWith("job.") && e.type !== "job.started" && e.type !== "job.handed_back").length;

describe("/metrics", () => {
  it("matches a scenario of every outcome exactly", SLOW, async () => {
    const { stream, events, base } = await worker();
    await Promise.all([
      enqueue(stream, "add", [1, 2]),
      enqueue(stream, "add", [3, 4]),
      enqueue(stream, "add", [5, 6]),
      enqueue(stream, "boom"),
      enqueue(stream, "again"),
      enqueue(stream, "nope"),
      enqueue(stream, "skip"),
      enqueue(stream, "bounce"),
      enqueue(stream, "unknown"),
    ]);
    // One at a time: a lost Web Worker or a time limit must not take other jobs with it.
    await waitFor(() => settled(events) === 11, { timeoutMs: 10_000, message: "First jobs not settled" });
    await enqueue(stream, "die");
    await waitFor(() => settled(events) === 12, { timeoutMs: 10_000, message: "'die' not settled" });
    await enqueue(stream, "hang");
    await waitFor(() => settled(events) === 13, { timeoutMs: 10_000, message: "'hang' not settled" });
    await new Promise((r) => setTimeout(r, 300)); // Nothing else may arrive.
    const r = await get(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    const lines = samples(r.body);
    assert.deepEqual(lines.filter((l) => !l.startsWith("qw_job_duration_seconds")), [
      'qw_jobs_total{task="add",outcome="succeeded"} 3',
      'qw_jobs_total{task="again",outcome="failed"} 1',
      'qw_jobs_total{task="again",outcome="retried"} 1',
      'qw_jobs_total{task="boom",outcome="failed"} 1',
      'qw_jobs_total{task="bounce",outcome="succeeded"} 1',
      'qw_jobs_total{task="bounce",outcome="requeued"} 1',
      'qw_jobs_total{task="die",outcome="failed"} 1',
      'qw_jobs_total{task="hang",outcome="failed"} 1',
      'qw_jobs_total{task="nope",outcome="rejected"} 1',
      'qw_jobs_total{task="skip",outcome="ignored"} 1',
      'qw_jobs_total{task="unknown",outcome="invalid"} 1',
      'qw_retries_total{task="again"} 1',
      "qw_worker_lost_total 1",
      "qw_time_limits_total 1",
      "qw_redeliveries_seen_total 1",
      "qw_jobs_in_flight 0",
      "qw_jobs_held 0",
      "qw_pool_size 2",
    ]);
    const counts = Object.fromEntries(
      lines.filter((l) => l.startsWith("qw_job_duration_seconds_count")).map((
        l,
      ) => [/task="(\w+)"/.exec(l)![1], Number(l.split(" ")[1])]),
    );
    assert.deepEqual(counts, { add: 3, again: 1, boom: 1, bounce: 1, die: 1, hang: 1 });
    const inf = lines.find((l) => l.startsWith('qw_job_duration_seconds_bucket{task="hang",le="+Inf"}'));
    assert.equal(inf, 'qw_job_duration_seconds_bucket{task="hang",le="+Inf"} 1');
  });
});

describe("/healthz and /readyz", () => {
  it(
    "are 200 while connected and pulling, 503 with the reason while NATS is down, and 200 again after it is back",
    SLOW,
    async () => {
      // A server of its own: the others must not see it go down.
      const own = await NatsServer.start();
      try {
        await restartScenario(own);
      } finally {
        await own.stop();
      }
    },
  );

  it(
    "turn /readyz to 503 during the grace period, keep /healthz at 200, and stop serving once closed",
    SLOW,
    async () => {
      const { svc, stream, events, base } = await worker();
      await enqueue(stream, "nap", [800]);
      await waitFor(() => events.some((e) => e.type === "job.started"), { message: "'nap' never started" });
      const closing = svc.close("test");
      const ready = await get(`${base}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(JSON.parse(ready.body).reason, "The worker is shutting down");
      assert.equal((await get(`${base}/healthz`)).status, 200);
      await closing;
      assert.ok(events.some((e) => e.type === "job.succeeded"));
      await assert.rejects(fetch(`${base}/healthz`));
    },
  );

  it("refuses to start on an address in use with a one-line error", SLOW, async () => {
    const { svc } = await worker();
    const stream = `ops_busy_${Date.now().toString(36)}`;
    const cfg = resolveConfig(
      { server: server.url, stream, tasks: tasksFile, concurrency: 1, results: false, http: svc.httpAddress! },
      { env: {}, cpuCount: 1, hostname: "test", pid: 1 },
    );
    await assert.rejects(startService(cfg), {
      message: `Cannot serve HTTP on '${svc.httpAddress}': the address is in use`,
    });
  });
});

describe("job events", () => {
  it("are published as JSON lines on _qw.events.<stream> for every job", SLOW, async () => {
    const { stream } = await worker();
    const got: Record<string, unknown>[] = [];
    const sub = nc.subscribe(`_qw.events.${stream}`, {
      callback: (_err, m) => void got.push(...m.string().split("\n").map((l) => JSON.parse(l))),
    });
    await nc.flush();
    await enqueue(stream, "add", [2, 3]);
    await enqueue(stream, "boom");
    await waitFor(() => got.filter((e) => e.type === "job.succeeded" || e.type === "job.failed").length === 2, {
      message: "No job events published",
    });
    sub.unsubscribe();
    const started = got.find((e) => e.type === "job.started" && e.task === "add")!;
    assert.equal(started.source, "w1");
    assert.equal(started.deliveryCount, 1);
    assert.ok(!Number.isNaN(Date.parse(started.time as string)));
    const failed = got.find((e) => e.type === "job.failed")!;
    assert.deepEqual([(failed.error as Error).name, (failed.error as Error).message], ["Error", "boom"]);
  });

  it("end with service.closing and service.closed when the worker shuts down", SLOW, async () => {
    const { svc, stream } = await worker();
    const got: Record<string, unknown>[] = [];
    const sub = nc.subscribe(`_qw.events.${stream}`, {
      callback: (_err, m) => void got.push(...m.string().split("\n").map((l) => JSON.parse(l))),
    });
    await nc.flush();
    await svc.close("test over");
    await waitFor(() => got.some((e) => e.type === "service.closed"), { message: "No final event published" });
    sub.unsubscribe();
    assert.deepEqual(got.map((e) => e.type).filter((t) => t !== "service.started"), ["service.closing", "service.closed"]);
    assert.equal(got.at(-1)!.handedBack, 0);
  });

  it("are not published with events: false (--no-events)", SLOW, async () => {
    const { stream } = await worker({ events: false });
    let got = 0;
    const sub = nc.subscribe(`_qw.events.${stream}`, { callback: () => void got++ });
    await nc.flush();
    await enqueue(stream, "add", [2, 3]);
    await new Promise((r) => setTimeout(r, 500));
    sub.unsubscribe();
    assert.equal(got, 0);
  });

  it("are printed live by 'qw events --json', which stops after QW_EVENTS_LIMIT events with exit 0", SLOW, async () => {
    const { stream } = await worker();
    const cli = qw(["events", "--stream", stream, "--server", server.url, "--json"], { QW_EVENTS_LIMIT: "2" });
    await waitFor(() => cli.stderr.includes("Following events on"), { message: "'qw events' never subscribed" });
    await enqueue(stream, "add", [1, 1]);
    assert.equal(await cli.exit, 0);
    const lines = cli.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => e.type), ["job.started", "job.succeeded"]);
  });

  it("'qw events' says how to turn events on when a worker publishes none (the default)", SLOW, async () => {
    const { stream } = await worker({ events: undefined });
    const cli = qw(["events", "--stream", stream, "--server", server.url]);
    await enqueue(stream, "add", [1, 1]);
    await waitFor(() => cli.stderr.includes("No events yet: workers publish events only when started with --events (-E)"), {
      timeoutMs: 10_000,
      message: "no hint",
    });
    process.kill(cli.child.pid!, "SIGINT");
    assert.equal(await cli.exit, 0);
    assert.equal(cli.stdout, "");
  });

  it("are printed as text by 'qw events' until SIGINT, which exits 0", SLOW, async () => {
    const { stream } = await worker();
    const cli = qw(["events", "--stream", stream, "--server", server.url]);
    await waitFor(() => cli.stderr.includes("Following events on"), { message: "'qw events' never subscribed" });
    await enqueue(stream, "add", [1, 1]);
    await waitFor(() => cli.stdout.includes("succeeded in"), { message: "No event printed" });
    // process.kill, not child.kill: Deno's child.kill() reports every exit as killed by the signal.
    process.kill(cli.child.pid!, "SIGINT");
    assert.equal(await cli.exit, 0);
    assert.match(cli.stdout, /^\S+ w1 add\[\S+\] started\n\S+ w1 add\[\S+\] succeeded in [\d.]+ms\n$/);
  });
});

/** Health through a server stop and restart. */
async function restartScenario(own: NatsServer): Promise<void> {
  const { svc, base, events } = await worker({}, own);
  const ok = await get(`${base}/healthz`);
  assert.equal(ok.status, 200);
  assert.equal(ok.type, "application/json");
  assert.deepEqual(JSON.parse(ok.body), {
    status: "ok",
    ok: true,
    connected: true,
    poolAlive: true,
    pulling: true,
    closing: false,
  });
  assert.equal((await get(`${base}/readyz`)).status, 200);
  assert.equal((await get(`${base}/nope`)).status, 404);

  await own.stop({ cleanup: false });
  const down = await waitFor(async () => {
    const r = await get(`${base}/healthz`);
    return r.status === 503 ? r : null;
  }, { timeoutMs: 10_000, message: "/healthz never reported the lost connection" });
  const body = JSON.parse(down.body);
  assert.equal(body.status, "unavailable");
  assert.equal(body.connected, false);
  assert.match(body.reason, /^Not connected to NATS: /);
  assert.equal((await get(`${base}/readyz`)).status, 503);

  await own.restart();
  await waitFor(async () => (await get(`${base}/healthz`)).status === 200, {
    timeoutMs: 15_000,
    message: "/healthz never recovered",
  });
  assert.equal((await get(`${base}/readyz`)).status, 200);
  assert.ok(events.some((e) => e.type === "connection.status" && e.status === "reconnect"));
  await svc.close("test over");
}

/** Run the qw CLI with the runtime running this test. */
function qw(args: string[], env: Record<string, string> = {}) {
  const isDeno = "Deno" in globalThis;
  const argv = isDeno ? ["run", "-A", "cli.ts", ...args] : ["cli.ts", ...args];
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const r = { child, stdout: "", stderr: "", exit: null as unknown as Promise<number | null> };
  child.stdout!.on("data", (d) => (r.stdout += d));
  child.stderr!.on("data", (d) => (r.stderr += d));
  r.exit = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  return r;
}
