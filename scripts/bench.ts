/**
 * Speed of the real product, side by side in one run, as ratios: a plain
 * JetStream consumer with the same NATS client (the raw limit) against
 * `dist/qw` running a no-op task, on the same nats-server, the same stream
 * type and the same number of pre-published messages. Then enqueue-to-start
 * latency at a steady 1,000 jobs/s, time from process start to the first
 * job, idle and loaded RSS, and how soon a requeued job runs again. Prints a
 * table and PASS/MISS per target. Timings are printed, never asserted.
 *
 *   bun scripts/bench.ts                 (make bench)
 *   bun scripts/bench.ts --jobs 20000    fewer jobs per throughput run (quicker, noisier)
 *   bun scripts/bench.ts --reps 1        one run per configuration instead of the best of 3
 *
 * Throughput of a run = jobs / (time from the first job starting to the
 * stream being empty). The stream is a WorkQueue, so it is empty exactly
 * when every message was acked. Each configuration runs `--reps` times (3)
 * and the best is used, for the raw consumer and qw alike: on a shared 2-core
 * machine other processes only ever make a run slower.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import type { JetStreamClient } from "@nats-io/jetstream";
import {
  client,
  type Client,
  createRawConsumer,
  createStreams,
  FIXTURES,
  fmt,
  job,
  NatsServer,
  out,
  percentile,
  publishAll,
  QW_BIN,
  QwProcess,
  RssSampler,
  rssMb,
  sleep,
  tempDir,
  until,
} from "./_harness.ts";

const argv = process.argv.slice(2);
const jobsArg = argv.indexOf("--jobs");
const N = jobsArg >= 0 ? Number(argv[jobsArg + 1]) : 100_000;
const repsArg = argv.indexOf("--reps");
const REPS = repsArg >= 0 ? Math.max(1, Number(argv[repsArg + 1])) : 3;
const CPUS = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
const TASKS = join(FIXTURES, "bench_tasks.ts");
const RUN_TIMEOUT_MS = 600_000;
const LAT_RATE = 1000;
const LAT_SECONDS = 10;
const progress = (s: string) => process.stderr.write(`  ... ${s}\n`);

if (!existsSync(QW_BIN)) {
  out(`bench: ${QW_BIN} is missing: run 'make build' first`);
  process.exit(2);
}

const tmp = tempDir("qw-bench-");
let streamNo = 0;
const newStream = (prefix: string) => `${prefix}${++streamNo}`;

/** Remove a run's streams and bucket so the next run starts from the same state. */
async function dropStream(c: Client, stream: string): Promise<void> {
  for (const name of [stream, `${stream}_dlq`, `KV_qw_${stream}_results`]) await c.jsm.streams.delete(name).catch(() => {});
}

async function prepare(c: Client, stream: string, count: number, task = "noop"): Promise<void> {
  await createStreams(c.jsm, stream);
  await publishAll(c.js, Array.from({ length: count }, (_, i) => job(stream, task, `${stream}-${i}`, [])), { window: 1024 });
}

/** Poll until the stream holds no message; the time it became empty (ms epoch). */
async function emptyAt(c: Client, stream: string, timeoutMs = RUN_TIMEOUT_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const t = Date.now();
    if ((await c.jsm.streams.info(stream)).state.messages === 0) return t;
    await sleep(10);
  }
  throw new Error(`stream ${stream} not empty within ${timeoutMs / 1000} s`);
}

// ---------------------------------------------------------------------------
// The raw limit: the same client, a plain pull consumer, one ack per message.

async function raw(c: Client, late: boolean): Promise<number> {
  const stream = newStream("RAW");
  await prepare(c, stream, N);
  await createRawConsumer(c.jsm, stream, "raw");
  const consumer = await c.js.consumers.get(stream, "raw");
  const noop = async () => {};
  let first = 0;
  let n = 0;
  const it = await consumer.consume({ max_messages: 1000 });
  for await (const m of it) {
    if (n === 0) first = Date.now();
    if (late) await noop();
    m.ack();
    if (++n === N) break;
  }
  await c.nc.flush();
  const end = await emptyAt(c, stream);
  await dropStream(c, stream);
  return N / ((end - first) / 1000);
}

/** Run `f` REPS times; the best figure and the spread. */
async function best<T extends { jobsPerS: number }>(label: string, f: () => Promise<T>): Promise<T & { spread: string }> {
  const runs: T[] = [];
  for (let i = 0; i < REPS; i++) {
    progress(`${label} (${i + 1}/${REPS})`);
    runs.push(await f());
  }
  runs.sort((a, b) => b.jobsPerS - a.jobsPerS);
  const k = (x: number) => `${fmt(x / 1000, 1)}k`;
  return { ...runs[0], spread: REPS > 1 ? `${k(runs[runs.length - 1].jobsPerS)}-${k(runs[0].jobsPerS)}` : "" };
}

// ---------------------------------------------------------------------------
// qw: pre-published no-op jobs, then dist/qw.

interface QwRun {
  jobsPerS: number;
  peakRssMb: number;
}

async function qwThroughput(
  c: Client,
  url: string,
  o: { late: boolean; concurrency: number; results: boolean; events?: boolean },
): Promise<QwRun> {
  const stream = newStream("QW");
  await prepare(c, stream, N);
  const log = join(tmp.path, `${stream}.log`);
  const args = ["--stream", stream, "--tasks", TASKS, "--server", url, "--concurrency", String(o.concurrency), "--log-level", "warning"];
  if (o.late) args.push("--acks-late");
  if (!o.results) args.push("--no-results");
  if (!o.events) args.push("--no-events");
  const qw = QwProcess.start(args, { logFile: join(tmp.path, `${stream}.qw.log`), env: { QW_BENCH_LOG: log } });
  const rss = new RssSampler(() => (qw.alive ? qw.pid : null), 250);
  try {
    const end = await emptyAt(c, stream);
    const firsts = readLines(log).filter((l) => l.startsWith("F ")).map((l) => Number(l.slice(2)));
    if (firsts.length === 0) throw new Error(`qw ran no job (log: ${readFileSync(qw.logFile, "utf8").slice(0, 300)})`);
    const r = rss.stop();
    return { jobsPerS: N / ((end - Math.min(...firsts)) / 1000), peakRssMb: r.peak };
  } finally {
    rss.stop();
    await qw.stop();
    await dropStream(c, stream);
  }
}

function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
}

/** Wait until qw's pull consumer is waiting for messages: it is up. */
async function waitReady(c: Client, stream: string, qw: QwProcess): Promise<void> {
  const ok = await until(async () => (await c.jsm.consumers.info(stream, `qw_${stream}`)).num_waiting > 0, 30_000, 20);
  if (!ok) throw new Error(`qw did not start (log: ${readFileSync(qw.logFile, "utf8").slice(0, 300)})`);
}

// ---------------------------------------------------------------------------
// Latency from enqueue to task start at a steady rate.

async function latency(c: Client, url: string): Promise<{ p50: number; p99: number; max: number; n: number; rate: number }> {
  const stream = newStream("LAT");
  await createStreams(c.jsm, stream);
  const log = join(tmp.path, `${stream}.log`);
  const args = ["--stream", stream, "--tasks", TASKS, "--server", url, "--concurrency", String(CPUS), "--log-level", "warning", "--no-results"];
  const qw = QwProcess.start(args, { logFile: join(tmp.path, `${stream}.qw.log`), env: { QW_BENCH_LOG: log } });
  try {
    await waitReady(c, stream, qw);
    const warm = LAT_RATE; // the first second is warm-up
    const total = warm + LAT_RATE * LAT_SECONDS;
    const sent = await paced(c.js, stream, total, LAT_RATE);
    await until(() => readLines(log).length >= total, 30_000, 50);
    const lat = readLines(log).filter((l) => l.startsWith("L ")).map((l) => Number(l.slice(2)));
    const measured = lat.slice(warm);
    return { p50: percentile(measured, 50), p99: percentile(measured, 99), max: Math.max(...measured), n: measured.length, rate: sent.rate };
  } finally {
    await qw.stop();
    await dropStream(c, stream);
  }
}

/** Publish `total` jobs at `rate` per second, each stamped with its enqueue time. */
async function paced(js: JetStreamClient, stream: string, total: number, rate: number): Promise<{ rate: number }> {
  const pending: Promise<unknown>[] = [];
  const t0 = performance.now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    while (i < due) {
      const id = `${stream}-${i++}`;
      const m = job(stream, "lat", id, [performance.timeOrigin + performance.now()]);
      pending.push(js.publish(m.subject, m.data, { msgID: id }));
    }
    await sleep(1);
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(pending);
  return { rate: total / seconds };
}

// ---------------------------------------------------------------------------
// Start-up, idle RSS, requeue.

async function startup(c: Client, url: string): Promise<{ startMs: number[]; idleRssMb: number }> {
  const startMs: number[] = [];
  let idleRssMb = NaN;
  for (let trial = 0; trial < 3; trial++) {
    const stream = newStream("UP");
    await prepare(c, stream, 1);
    const log = join(tmp.path, `${stream}.log`);
    const args = ["--stream", stream, "--tasks", TASKS, "--server", url, "--log-level", "warning", "--concurrency", String(CPUS)];
    const qw = QwProcess.start(args, { logFile: join(tmp.path, `${stream}.qw.log`), env: { QW_BENCH_LOG: log } });
    try {
      if (!(await until(() => readLines(log).length > 0, 30_000, 5))) throw new Error("qw did not run the job within 30 s");
      startMs.push(Number(readLines(log)[0].slice(2)) - qw.spawnedAt);
      if (trial === 2) {
        await sleep(3000);
        idleRssMb = rssMb(qw.pid) ?? NaN;
      }
    } finally {
      await qw.stop();
      await dropStream(c, stream);
    }
  }
  return { startMs, idleRssMb };
}

async function requeue(c: Client, url: string, count = 20): Promise<number[]> {
  const stream = newStream("RQ");
  await createStreams(c.jsm, stream);
  const log = join(tmp.path, `${stream}.log`);
  const args = ["--stream", stream, "--tasks", TASKS, "--server", url, "--log-level", "warning", "--concurrency", String(CPUS)];
  const qw = QwProcess.start(args, { logFile: join(tmp.path, `${stream}.qw.log`), env: { QW_BENCH_LOG: log } });
  const gaps: number[] = [];
  try {
    await waitReady(c, stream, qw);
    for (let i = 0; i < count; i++) {
      const id = `rq-${i}`;
      await publishAll(c.js, [job(stream, "requeue", id, [])]);
      const runs = () => readLines(log).filter((l) => l.startsWith(`R ${id} `)).map((l) => l.split(" "));
      if (!(await until(() => runs().length >= 2, 10_000, 2))) throw new Error(`job ${id} did not run twice within 10 s`);
      const [a, b] = runs();
      gaps.push(Number(b[3]) - Number(a[3]));
    }
    return gaps;
  } finally {
    await qw.stop();
    await dropStream(c, stream);
  }
}

// ---------------------------------------------------------------------------

const t0 = Date.now();
const server = await NatsServer.start();
const c = await client(server.url);
const version = (() => {
  try {
    return readFileSync(join(server.dir, "server.log"), "utf8").match(/Version:\s+(\S+)/)?.[1] ?? "?";
  } catch {
    return "?";
  }
})();
const bunVersion = (globalThis as { Bun?: { version: string } }).Bun?.version;
out(`qw bench: ${N} pre-published no-op jobs per throughput run; ${CPUS} CPUs; nats-server ${version} (file storage, loopback); ` +
  `${bunVersion ? `bun ${bunVersion}` : "deno"}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);

try {
  const rawEarlyRun = await best("raw consumer, early ack", async () => ({ jobsPerS: await raw(c, false) }));
  const rawLateRun = await best("raw consumer, ack after an awaited no-op", async () => ({ jobsPerS: await raw(c, true) }));
  const rawEarly = rawEarlyRun.jobsPerS;
  const rawLate = rawLateRun.jobsPerS;

  const concurrencies = [...new Set([1, 2, CPUS])];
  const rows: { name: string; jobsPerS: number; ratio: number; rss?: number; spread: string }[] = [
    { name: "raw consumer, early ack", jobsPerS: rawEarly, ratio: 1, spread: rawEarlyRun.spread },
    { name: "raw consumer, ack after awaited no-op", jobsPerS: rawLate, ratio: 1, spread: rawLateRun.spread },
  ];
  const qwAt: Record<string, QwRun> = {};
  for (const late of [false, true]) {
    for (const conc of concurrencies) {
      const r = await best(
        `qw ${late ? "acksLate" : "early ack"}, concurrency ${conc}`,
        () => qwThroughput(c, server.url, { late, concurrency: conc, results: false }),
      );
      qwAt[`${late}/${conc}`] = r;
      rows.push({
        name: `qw ${late ? "acksLate" : "early ack"}, concurrency ${conc}${conc === CPUS ? " (= CPUs)" : ""}`,
        jobsPerS: r.jobsPerS,
        ratio: r.jobsPerS / (late ? rawLate : rawEarly),
        rss: r.peakRssMb,
        spread: r.spread,
      });
    }
  }
  // The rows above measure the pipeline (--no-results --no-events); these show what each feature costs.
  const withEvents = await best(
    `qw early ack, concurrency ${CPUS}, events published`,
    () => qwThroughput(c, server.url, { late: false, concurrency: CPUS, results: false, events: true }),
  );
  const withResults = await best(
    `qw early ack, concurrency ${CPUS}, defaults (results and events)`,
    () => qwThroughput(c, server.url, { late: false, concurrency: CPUS, results: true, events: true }),
  );
  for (const [name, r] of [["WITH events", withEvents], ["WITH results and events (defaults)", withResults]] as const) {
    rows.push({
      name: `qw early ack, concurrency ${CPUS}, ${name}`,
      jobsPerS: r.jobsPerS,
      ratio: r.jobsPerS / rawEarly,
      rss: r.peakRssMb,
      spread: r.spread,
    });
  }

  progress(`latency at ${LAT_RATE} jobs/s for ${LAT_SECONDS} s`);
  const lat = await latency(c, server.url);
  progress("start-up and idle RSS");
  const up = await startup(c, server.url);
  progress("requeue");
  const rq = await requeue(c, server.url);

  out("");
  const head = REPS > 1 ? `jobs/s (best of ${REPS})` : "jobs/s";
  out(`${"run".padEnd(50)}${head.padStart(20)}${"range".padStart(14)}${"qw/raw".padStart(8)}${"peak RSS MB".padStart(13)}`);
  for (const r of rows) {
    out(`${r.name.padEnd(50)}${Math.round(r.jobsPerS).toLocaleString("en-US").padStart(20)}${r.spread.padStart(14)}${
      fmt(r.ratio, 2).padStart(8)
    }${(r.rss === undefined ? "" : fmt(r.rss)).padStart(13)}`);
  }
  const base = qwAt[`false/${CPUS}`].jobsPerS;
  out(`publishing events costs ${fmt((1 - withEvents.jobsPerS / base) * 100, 0)}% and events plus storing results ${
    fmt((1 - withResults.jobsPerS / base) * 100, 0)
  }% of early-ack throughput at concurrency ${CPUS}`);
  out("");
  out(`enqueue-to-start latency at ${fmt(lat.rate, 0)} jobs/s (${lat.n} jobs after 1 s warm-up): p50 ${fmt(lat.p50, 2)} ms, p99 ${fmt(lat.p99, 2)} ms, max ${fmt(lat.max, 2)} ms`);
  const sorted = [...up.startMs].sort((a, b) => a - b);
  out(`process start to first job run: median ${fmt(sorted[1], 0)} ms (runs: ${up.startMs.map((x) => fmt(x, 0)).join(", ")} ms)`);
  const loaded = Math.max(...Object.values(qwAt).map((r) => r.peakRssMb), withResults.peakRssMb, withEvents.peakRssMb);
  out(`RSS of dist/qw (concurrency ${CPUS}): idle ${fmt(up.idleRssMb)} MB, loaded peak ${fmt(loaded)} MB`);
  out(`requeued job (Reject requeue=true, acksLate) runs again after: p50 ${fmt(percentile(rq, 50), 1)} ms, max ${fmt(Math.max(...rq), 1)} ms (${rq.length} jobs)`);
  out("peers: skipped: BullMQ needs redis-server and the bullmq npm package, Celery needs python3-celery and redis-server; none is installed here");
  out("");

  const early = qwAt[`false/${CPUS}`].jobsPerS / rawEarly;
  const lateRatio = qwAt[`true/${CPUS}`].jobsPerS / rawLate;
  const targets: [string, boolean, string][] = [
    [`qw early ack >= 0.8x raw (concurrency ${CPUS})`, early >= 0.8, `${fmt(early, 2)}x`],
    [`qw acksLate >= 0.7x raw (concurrency ${CPUS})`, lateRatio >= 0.7, `${fmt(lateRatio, 2)}x`],
    [`p99 enqueue-to-start < 5 ms at ${LAT_RATE} jobs/s`, lat.p99 < 5, `${fmt(lat.p99, 2)} ms`],
    ["idle RSS < 80 MB", up.idleRssMb < 80, `${fmt(up.idleRssMb)} MB`],
    ["requeued job re-runs < 100 ms", Math.max(...rq) < 100, `max ${fmt(Math.max(...rq), 1)} ms`],
  ];
  out("targets:");
  for (const [name, ok, fig] of targets) out(`  ${ok ? "PASS" : "MISS"}  ${name.padEnd(48)} ${fig}`);
  out(`bench took ${fmt((Date.now() - t0) / 1000, 0)} s; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
} finally {
  await c.close();
  await server.stop();
  tmp.cleanup();
}
process.exit(0);
