/**
 * The measurements of scripts/bench.ts that run the real `dist/qw`: throughput
 * on pre-published no-op jobs, RSS over a long run, enqueue-to-start latency
 * at a steady rate, start-up to the first job, idle RSS and requeue delay.
 * The fixture tasks (`fixtures/bench_tasks.ts`) write what they see to
 * $QW_BENCH_LOG.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { JetStreamClient } from "@nats-io/jetstream";
import {
  type Client,
  createStreams,
  FIXTURES,
  job,
  percentile,
  publishAll,
  QwProcess,
  rssMb,
  RssSampler,
  sleep,
  until,
} from "./_harness.ts";
import { dropStream, emptyAt, prepare, RUN_TIMEOUT_MS } from "./_bench_raw.ts";
import { processCpu, rssPeakMb, type RunCpu, runCpu, threadCpu } from "./_bench_cpu.ts";
import { type JobShape, shapeTask } from "./_bench_shapes.ts";

const TASKS = join(FIXTURES, "bench_tasks.ts");
/** The keyed row's tasks file: the others run one without a keyed task, as a user who keys none does. */
const KEYED_TASKS = join(FIXTURES, "bench_keyed_tasks.ts");

/** Flags of one qw run; `undefined` leaves a feature at qw's default (no flag passed). */
export interface QwFlags {
  concurrency: number;
  acksLate?: boolean;
  /** `--confirm-ack`: strict at most once, a confirmed ack before each start. */
  confirmAck?: boolean;
  results?: boolean;
  events?: boolean;
  /** `--log-level`; qw's default (info, a line per job done) when absent. */
  logLevel?: string;
  /** How the pre-published jobs are spread: one plain subject (absent), priorities 0-9, or concurrency keys. */
  shape?: JobShape;
}

/** The command line of a qw run: only the flags asked for, beside where to connect and what to run. */
export function qwArgs(stream: string, url: string, f: QwFlags): string[] {
  const args = ["--stream", stream, "--tasks", f.shape === "keys" ? KEYED_TASKS : TASKS, "--server", url, "--concurrency", String(f.concurrency)];
  if (f.logLevel) args.push("--log-level", f.logLevel);
  if (f.acksLate !== undefined) args.push(f.acksLate ? "--acks-late" : "--no-acks-late");
  if (f.confirmAck) args.push("--confirm-ack");
  if (f.results !== undefined) args.push(f.results ? "--results" : "--no-results");
  if (f.events !== undefined) args.push(f.events ? "--events" : "--no-events");
  return args;
}

/** Where the bench writes a run's files. */
export interface QwEnv {
  c: Client;
  url: string;
  tmp: string;
  /** nats-server's process id, for its CPU time (see _bench_cpu.ts). */
  natsPid?: number;
}

function readLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
}

function startQw(env: QwEnv, stream: string, flags: QwFlags): { qw: QwProcess; log: string } {
  const log = join(env.tmp, `${stream}.log`);
  const qw = QwProcess.start(qwArgs(stream, env.url, flags), {
    logFile: join(env.tmp, `${stream}.qw.log`),
    env: { QW_BENCH_LOG: log },
  });
  return { qw, log };
}

/** Messages in qw's results bucket of `stream` (0 when it has none yet). */
async function resultCount(c: Client, stream: string): Promise<number> {
  return (await c.jsm.streams.info(`KV_qw_${stream}_results`).catch(() => null))?.state.messages ?? 0;
}

/** When the stream is empty and, if results are stored, `n` results are in the bucket (ms epoch). */
async function doneAt(c: Client, stream: string, n: number, results: boolean): Promise<number> {
  const empty = await emptyAt(c, stream);
  if (!results) return empty;
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const t = Date.now();
    if (await resultCount(c, stream) >= n) return Math.max(empty, t);
    await sleep(10);
  }
  throw new Error(`results of ${stream} not all stored within ${RUN_TIMEOUT_MS / 1000} s`);
}

function firstJobAt(log: string, qw: QwProcess): number {
  const firsts = readLines(log).filter((l) => l.startsWith("F ")).map((l) => Number(l.slice(2)));
  if (firsts.length === 0) throw new Error(`qw ran no job (log: ${readFileSync(qw.logFile, "utf8").slice(0, 300)})`);
  return Math.min(...firsts);
}

/**
 * Throughput on `n` pre-published no-op jobs: jobs / (first job started to
 * stream empty and, with results on, every result stored). Peak RSS too (the
 * kernel's high-water mark), and the CPU of qw's threads from its start and of
 * nats-server meanwhile.
 */
export async function qwThroughput(
  env: QwEnv,
  stream: string,
  n: number,
  flags: QwFlags,
): Promise<{ jobsPerS: number; peakRssMb: number; cpu: RunCpu | null }> {
  await prepare(env.c, stream, n, shapeTask(flags.shape), flags.shape);
  const nats0 = processCpu(env.natsPid);
  const { qw, log } = startQw(env, stream, flags);
  const rss = new RssSampler(() => (qw.alive ? qw.pid : null), 250);
  try {
    const end = await doneAt(env.c, stream, n, flags.results !== false);
    const proc = threadCpu(qw.pid);
    const nats1 = processCpu(env.natsPid);
    const cpu = runCpu(proc, nats0, nats1);
    const peakRssMb = Math.max(rss.stop().peak, rssPeakMb(qw.pid) ?? 0);
    return { jobsPerS: n / ((end - firstJobAt(log, qw)) / 1000), peakRssMb, cpu };
  } finally {
    rss.stop();
    await qw.stop();
    await dropStream(env.c, stream);
  }
}

/**
 * RSS of one long run of `n` jobs: at the first job, after a tenth of the
 * jobs (the post-warm-up level), the peak, and when all are done.
 */
export async function rssOverRun(
  env: QwEnv,
  stream: string,
  n: number,
  flags: QwFlags,
): Promise<{ start: number; warm: number; peak: number; end: number; jobsPerS: number }> {
  await prepare(env.c, stream, n);
  const { qw, log } = startQw(env, stream, flags);
  const results = flags.results !== false;
  let start = NaN;
  let warm = NaN;
  let peak = 0;
  let end = NaN;
  try {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`qw did not finish ${n} jobs within ${RUN_TIMEOUT_MS / 1000} s`);
      const left = (await env.c.jsm.streams.info(stream)).state.messages;
      const stored = results ? await resultCount(env.c, stream) : n - left;
      const r = rssMb(qw.pid);
      if (r === null) {
        throw new Error(`qw exited during the run (log: ${readFileSync(qw.logFile, "utf8").slice(0, 300)})`);
      }
      peak = Math.max(peak, r);
      if (Number.isNaN(start) && left < n) start = r;
      if (Number.isNaN(warm) && n - left >= n / 10) warm = r;
      if (left === 0 && stored >= n) {
        end = r;
        break;
      }
      await sleep(250);
    }
    return { start, warm, peak, end, jobsPerS: n / ((Date.now() - firstJobAt(log, qw)) / 1000) };
  } finally {
    await qw.stop();
    await dropStream(env.c, stream);
  }
}

/** Wait until qw's pull consumer is waiting for messages: it is up. */
async function waitReady(c: Client, stream: string, qw: QwProcess): Promise<void> {
  const ok = await until(async () => (await c.jsm.consumers.info(stream, `qw_${stream}`)).num_waiting > 0, 30_000, 20);
  if (!ok) throw new Error(`qw did not start (log: ${readFileSync(qw.logFile, "utf8").slice(0, 300)})`);
}

/** Enqueue-to-start latency at a steady `rate` for `seconds`, after one second of warm-up. */
export async function latency(
  env: QwEnv,
  stream: string,
  o: { flags: QwFlags; rate: number; seconds: number },
): Promise<{ p50: number; p99: number; max: number; n: number; rate: number }> {
  await createStreams(env.c.jsm, stream);
  const { qw, log } = startQw(env, stream, o.flags);
  try {
    await waitReady(env.c, stream, qw);
    const warm = o.rate;
    const total = warm + o.rate * o.seconds;
    const sent = await paced(env.c.js, stream, total, o.rate);
    await until(() => readLines(log).length >= total, 30_000, 50);
    const measured = readLines(log).filter((l) => l.startsWith("L ")).map((l) => Number(l.slice(2))).slice(warm);
    return {
      p50: percentile(measured, 50),
      p99: percentile(measured, 99),
      max: Math.max(...measured),
      n: measured.length,
      rate: sent.rate,
    };
  } finally {
    await qw.stop();
    await dropStream(env.c, stream);
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

/**
 * Process start to the first job run, with nothing made beforehand: qw
 * creates the work stream, the dead-letter stream and the results bucket.
 * The job is published as soon as the stream accepts it (a publish is tried
 * every 2 ms; each is deduplicated by its id), so the figure includes that
 * polling. The last trial also reads the RSS after 3 s idle.
 */
export async function startup(
  env: QwEnv,
  streams: string[],
  flags: QwFlags,
): Promise<{ startMs: number[]; idleRssMb: number }> {
  const startMs: number[] = [];
  let idleRssMb = NaN;
  for (const [trial, stream] of streams.entries()) {
    await dropStream(env.c, stream);
    const { qw, log } = startQw(env, stream, flags);
    try {
      const m = job(stream, "noop", `${stream}-0`, []);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await env.c.js.publish(m.subject, m.data, { msgID: m.msgId, timeout: 1000 }).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline || !qw.alive) {
          throw new Error(`qw made no stream within 30 s (log: ${readFileSync(qw.logFile, "utf8").slice(0, 300)})`);
        }
        await sleep(2);
      }
      if (!(await until(() => readLines(log).length > 0, 30_000, 5))) {
        throw new Error("qw did not run the job within 30 s");
      }
      startMs.push(Number(readLines(log)[0].slice(2)) - qw.spawnedAt);
      if (trial === streams.length - 1) {
        await sleep(3000);
        idleRssMb = rssMb(qw.pid) ?? NaN;
      }
    } finally {
      await qw.stop();
      await dropStream(env.c, stream);
    }
  }
  return { startMs, idleRssMb };
}

/** How long after its requeue (Reject requeue=true, acksLate) each of `count` jobs runs again (ms). */
export async function requeue(env: QwEnv, stream: string, flags: QwFlags, count = 20): Promise<number[]> {
  await createStreams(env.c.jsm, stream);
  const { qw, log } = startQw(env, stream, flags);
  const gaps: number[] = [];
  try {
    await waitReady(env.c, stream, qw);
    for (let i = 0; i < count; i++) {
      const id = `rq-${i}`;
      await publishAll(env.c.js, [job(stream, "requeue", id, [])]);
      const runs = () => readLines(log).filter((l) => l.startsWith(`R ${id} `)).map((l) => l.split(" "));
      if (!(await until(() => runs().length >= 2, 10_000, 2))) {
        throw new Error(`job ${id} did not run twice within 10 s`);
      }
      const [a, b] = runs();
      gaps.push(Number(b[3]) - Number(a[3]));
    }
    return gaps;
  } finally {
    await qw.stop();
    await dropStream(env.c, stream);
  }
}
