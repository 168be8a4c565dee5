/**
 * Fault injection against the real product: `dist/qw` processes and
 * nats-server processes on loopback. Each scenario enqueues a known set of
 * jobs whose tasks (scripts/fixtures/chaos_tasks.ts) append every execution
 * to a file outside the worker, injects a fault, waits (bounded) for the
 * queue to drain and prints one line:
 *
 *   <scenario>: jobs N, done N, lost 0, duplicates D, seconds S[, more figures]
 *
 * "done" counts distinct job ids that finished a run and were acknowledged
 * (the stream is a WorkQueue, so a drained stream means every message was
 * acked or termed; termed ones are found in the dead-letter stream). "lost"
 * counts jobs neither done nor dead-lettered. "duplicates" counts finished
 * runs beyond the first of a job.
 *
 * Some scenarios put their own figures first (9: rounds) or after "lost"
 * (9: jobs held; 10: jobs without a stored result).
 *
 *   bun scripts/chaos.ts            scenarios 1-12 at full size (make chaos)
 *   bun scripts/chaos.ts --short    scenarios 1, 3, 5, 6, 9, 10, 11, 12 at a tenth of the size, 9 in 3 rounds of 20 (make chaos-short, CI)
 *   bun scripts/chaos.ts --only 2,4 these scenarios (with --short: at a tenth)
 *   bun scripts/chaos.ts --seed 31  scenario 11 (the fault soup) with this one seed (a replay)
 *   bun scripts/chaos.ts --only 11 --seeds 30   the fault soup with seeds 1-30 (default 200, 20 with --short)
 *   bun scripts/chaos.ts --keep     keep the temp dir (logs, record files)
 *
 * Scenario 11, the fault soup, prints its own line instead:
 *
 *   11 fault soup: seeds N, jobs J, rolling restarts R, results outages O, revoked finished F, revoked waiting V, pauses P (of the stream Q), seeds with priorities Y, seeds with keys K (keyed jobs KJ), stuck S, wrong W, seconds T
 *
 * then one line per failing seed. "stuck" counts jobs the server still held
 * for qw after the bound; "wrong" counts jobs settled otherwise than the
 * decision table says, and seeds whose qw died or did not stop cleanly.
 *
 * Exits 1 if anything acksLate was lost or a scenario's own check failed.
 *
 * @module
 */

import { join } from "node:path";
import { createServer } from "node:net";
import { Kvm } from "@nats-io/kv";
import type { ConsumerInfo } from "@nats-io/jetstream";
import { keyFor, type ResultRecord } from "../src/client/buckets/result_store.ts";
import {
  client,
  type Client,
  countLines,
  createStreams,
  type DeadLetter,
  type Execution,
  FIXTURES,
  fmt,
  job,
  NatsServer,
  out,
  type Outgoing,
  publishAll,
  queueState,
  QW_BIN,
  QwProcess,
  readDeadLetters,
  readExecutions,
  ROOT,
  RssSampler,
  sleep,
  startCluster,
  tempDir,
  until,
  waitDrained,
} from "./_harness.ts";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { failureLine, passed, runSoup, soupCase } from "../tests/helpers/fault_soup.ts";
import { chain, chord, group, sig } from "../src/core/flow.ts";
import { connectClient } from "../src/client/client.ts";

const argv = process.argv.slice(2);
const SHORT = argv.includes("--short");
const KEEP = argv.includes("--keep");
const onlyArg = argv.indexOf("--only");
const seedArg = argv.indexOf("--seed");
const SEED = seedArg >= 0 ? Number(argv[seedArg + 1]) : null;
if (SEED !== null && !Number.isSafeInteger(SEED)) {
  out(`chaos: --seed takes an integer, not '${argv[seedArg + 1]}'`);
  process.exit(2);
}
const seedsArg = argv.indexOf("--seeds");
const SEEDS = seedsArg >= 0 ? Number(argv[seedsArg + 1]) : null;
if (SEEDS !== null && !(Number.isSafeInteger(SEEDS) && SEEDS >= 1)) {
  out(`chaos: --seeds takes a whole number >= 1, not '${argv[seedsArg + 1]}'`);
  process.exit(2);
}
// A seed replays the fault soup alone unless --only says otherwise.
const ONLY = onlyArg >= 0 ? new Set(argv[onlyArg + 1].split(",").map(Number)) : SEED !== null ? new Set([11]) : null;
const SCALE = SHORT ? 0.1 : 1;
const TASKS = join(FIXTURES, "chaos_tasks.ts");
const CONSUMER = (s: string) => `qw_${s}`;
const DRAIN_TIMEOUT_MS = SHORT ? 120_000 : 300_000;

const n = (full: number) => Math.max(1, Math.round(full * SCALE));
const progress = (s: string) => process.stderr.write(`  ... ${s}\n`);

if (!existsSync(QW_BIN)) {
  out(`chaos: ${QW_BIN} is missing: run 'make build' first`);
  process.exit(2);
}

const tmp = tempDir("qw-chaos-");
let failed = false;

type Figure = [string, string | number];

/** What a scenario hands back to be printed. */
interface Report {
  /** Figures printed before "jobs". */
  lead?: Figure[];
  /** Figures printed right after "lost". */
  afterLost?: Figure[];
  jobs: number;
  done: number;
  lost: number;
  duplicates: number;
  seconds: number;
  /** Extra figures, in order. */
  extra: Figure[];
  /** Failed checks, each a short sentence. */
  problems: string[];
  /** True when the jobs were acksLate: a loss fails the run. */
  acksLate: boolean;
  /** A scenario's own figures, printed instead of the standard ones, and lines printed under it. */
  line?: string;
  details?: string[];
}

interface Ctx {
  dir: string;
  log: string;
  qwLog(i: number): string;
}

type Scenario = { no: number; name: string; inShort: boolean; run(ctx: Ctx): Promise<Report> };

/** Tally executions against the job ids and the dead letters. */
function account(ids: string[], execs: Execution[], dead: DeadLetter[]) {
  const ends = new Map<string, number>();
  const starts = new Map<string, number>();
  for (const e of execs) {
    if (e.kind === "E") ends.set(e.id, (ends.get(e.id) ?? 0) + 1);
    else if (e.kind === "S" || e.kind === "P") starts.set(e.id, (starts.get(e.id) ?? 0) + 1);
  }
  const deadIds = new Set(dead.map((d) => d.id).filter((x): x is string => x !== null));
  let done = 0, lost = 0, duplicates = 0, deadLettered = 0;
  const lostIds: string[] = [];
  for (const id of ids) {
    const e = ends.get(id) ?? 0;
    duplicates += Math.max(0, e - 1);
    if (deadIds.has(id)) deadLettered++;
    else if (e > 0) done++;
    else {
      lost++;
      if (lostIds.length < 5) lostIds.push(id);
    }
  }
  return { done, lost, duplicates, deadLettered, lostIds, ends, starts, deadIds };
}

/** Runs of a message delivered before (delivery count > 1). */
function redeliveredRuns(execs: Execution[]): number {
  return execs.filter((e) => (e.kind === "S" || e.kind === "P") && e.delivery > 1).length;
}

/** Jobs that started on `pid` and did not finish there: running when it was killed. */
function interrupted(execs: Execution[], pid: number): Set<string> {
  const open = new Set<string>();
  for (const e of execs) {
    if (e.pid !== pid) continue;
    if (e.kind === "S") open.add(e.id);
    else if (e.kind === "E") open.delete(e.id);
  }
  return open;
}

/** How a qw process ended, with the last line it logged. */
function describeExit(p: QwProcess): string {
  const last = p.logLines(/\S/).pop() ?? "";
  return `qw ${p.pid} exited ${JSON.stringify(p.exit)}: ${last.slice(0, 200)}`;
}

function qwArgs(stream: string, servers: string, extra: string[] = []): string[] {
  return ["--stream", stream, "--tasks", TASKS, "--server", servers, "--log-level", "warning", ...extra];
}

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** Wait until about `fraction` of `total` jobs finished (E lines), bounded. */
async function waitProgress(log: string, total: number, fraction: number, timeoutMs = 120_000): Promise<void> {
  // Each job writes an S and an E line.
  const ok = await until(() => countLines(log) >= 2 * total * fraction, timeoutMs, 20);
  if (!ok) throw new Error(`no progress: fewer than ${Math.round(total * fraction)} jobs ran within ${timeoutMs / 1000} s`);
}

/** A deterministic PRNG (mulberry32), so every run mixes the same way. */
function prng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function withServer<T>(f: (server: NatsServer, c: Client) => Promise<T>): Promise<T> {
  const server = await NatsServer.start();
  const c = await client(server.url);
  try {
    return await f(server, c);
  } finally {
    await c.close();
    await server.stop({ cleanup: !KEEP });
  }
}

async function stopAll(procs: QwProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop(10_000)));
}

// ---------------------------------------------------------------------------
// 1 and 2: kill -9 of one of two qw processes mid-run.

async function kill9(ctx: Ctx, task: "late" | "early"): Promise<Report> {
  const stream = task === "late" ? "C1" : "C2";
  const N = n(10_000);
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const jobIds = ids("j", N);
    // 10 ms jobs: at the kill, each of the victim's Web Workers is in the middle of one.
    await publishAll(c.js, jobIds.map((id) => job(stream, task, id, [10])));
    const args = qwArgs(stream, server.url, ["--concurrency", "4", "--ack-wait", "5"]);
    const env = { QW_CHAOS_LOG: ctx.log };
    const t0 = Date.now();
    const procs = [0, 1].map((i) => QwProcess.start(args, { logFile: ctx.qwLog(i), env }));
    try {
      await waitProgress(ctx.log, N, 0.3);
      const victim = procs[0];
      await victim.kill9();
      progress(`killed qw ${victim.pid} with SIGKILL at ${countLines(ctx.log) >> 1} runs`);
      await sleep(1000);
      procs.push(QwProcess.start(args, { logFile: ctx.qwLog(2), env }));
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
      const seconds = (Date.now() - t0) / 1000;
      const execs = readExecutions(ctx.log);
      const redelivered = redeliveredRuns(execs);
      const dead = await readDeadLetters(c, stream);
      const a = account(jobIds, execs, dead);
      const running = interrupted(execs, victim.pid);
      const lostRunning = [...running].filter((id) => !a.ends.has(id) && !a.deadIds.has(id)).length;
      const problems: string[] = [];
      if (a.deadLettered > 0) problems.push(`${a.deadLettered} jobs dead-lettered`);
      const exited = procs.slice(1).filter((p) => !p.alive);
      if (exited.length > 0) problems.push(exited.map(describeExit).join("; "));
      const extra: [string, string | number][] = [
        ["running at kill", running.size],
        ["redelivered runs", redelivered],
        ["dead-lettered", a.deadLettered],
      ];
      if (task === "early") {
        // At most once: exactly the jobs acked at start and cut short are lost.
        extra.splice(1, 0, ["lost of those running", lostRunning]);
        if (a.lost !== lostRunning) problems.push(`${a.lost - lostRunning} lost jobs were not running at the kill`);
      } else if (a.lost > 0) {
        problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      }
      return { jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, extra, problems, acksLate: task === "late" };
    } finally {
      await stopAll(procs);
    }
  });
}

// ---------------------------------------------------------------------------
// 3: nats-server stopped and restarted mid-run (file storage).

async function serverRestart(ctx: Ctx): Promise<Report> {
  const stream = "C3";
  const N = n(10_000);
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const jobIds = ids("j", N);
    await publishAll(c.js, jobIds.map((id) => job(stream, "late", id, [2])));
    const args = qwArgs(stream, server.url, ["--concurrency", "4", "--ack-wait", "5"]);
    const env = { QW_CHAOS_LOG: ctx.log };
    const t0 = Date.now();
    const procs = [0, 1].map((i) => QwProcess.start(args, { logFile: ctx.qwLog(i), env }));
    try {
      await waitProgress(ctx.log, N, 0.3);
      const before = countLines(ctx.log);
      const down = Date.now();
      await server.stop({ cleanup: false });
      progress(`nats-server stopped at ${before >> 1} runs`);
      await sleep(2000);
      await server.restart();
      const downtime = (Date.now() - down) / 1000;
      progress(`nats-server restarted after ${fmt(downtime)} s`);
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
      const seconds = (Date.now() - t0) / 1000;
      const execs = readExecutions(ctx.log);
      const dead = await readDeadLetters(c, stream);
      const a = account(jobIds, execs, dead);
      const restartAt = down + downtime * 1000;
      const after = new Set(execs.filter((e) => e.at > restartAt).map((e) => e.pid));
      const problems: string[] = [];
      if (a.lost > 0) problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      if (a.deadLettered > 0) problems.push(`${a.deadLettered} jobs dead-lettered`);
      const exited = procs.filter((p) => !p.alive);
      if (exited.length > 0) problems.push(exited.map(describeExit).join("; "));
      const resumed = procs.filter((p) => after.has(p.pid)).length;
      if (resumed === 0) problems.push("no qw process ran a job after the restart");
      return {
        jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
        extra: [["server down", `${fmt(downtime)} s`], ["redelivered runs", redeliveredRuns(execs)], ["qw processes running jobs after restart", `${resumed}/2`], ["qw restarts", 0]],
      };
    } finally {
      await stopAll(procs);
    }
  });
}

// ---------------------------------------------------------------------------
// 4: 3-node cluster, R3 stream, the stream leader is killed mid-run.

async function clusterLeaderKill(ctx: Ctx): Promise<Report> {
  const stream = "C4";
  const N = n(10_000);
  const cluster = await startCluster(3);
  const urls = cluster.urls.join(",");
  const c = await client(cluster.urls);
  const procs: QwProcess[] = [];
  try {
    await createStreams(c.jsm, stream, { replicas: 3 });
    const jobIds = ids("j", N);
    await publishAll(c.js, jobIds.map((id) => job(stream, "late", id, [2])));
    const args = qwArgs(stream, urls, ["--concurrency", "4", "--ack-wait", "5", "--no-results"]);
    const env = { QW_CHAOS_LOG: ctx.log };
    const t0 = Date.now();
    for (const i of [0, 1]) procs.push(QwProcess.start(args, { logFile: ctx.qwLog(i), env }));
    await waitProgress(ctx.log, N, 0.3);
    const deadBeforeFault = procs.filter((p) => !p.alive).map(describeExit);
    const leader = (await c.jsm.streams.info(stream)).cluster?.leader ?? "";
    const m = /-n(\d+)$/.exec(leader);
    if (!m) throw new Error(`cannot tell the stream leader from '${leader}'`);
    const victim = cluster.servers[Number(m[1]) - 1];
    await victim.kill9();
    progress(`killed stream leader ${leader} (pid gone) at ${countLines(ctx.log) >> 1} runs`);
    let newLeader = "";
    await until(async () => {
      newLeader = (await c.jsm.streams.info(stream)).cluster?.leader ?? "";
      return newLeader !== "" && newLeader !== leader;
    }, 30_000, 200);
    await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
    const seconds = (Date.now() - t0) / 1000;
    const execs = readExecutions(ctx.log);
    const dead = await readDeadLetters(c, stream);
    const a = account(jobIds, execs, dead);
    const problems: string[] = [];
    if (a.lost > 0) problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
    if (a.deadLettered > 0) problems.push(`${a.deadLettered} jobs dead-lettered`);
    if (deadBeforeFault.length > 0) problems.push(`qw exited before the fault: ${deadBeforeFault.join("; ")}`);
    const exited = procs.filter((p) => !p.alive).length - deadBeforeFault.length;
    if (exited > 0) problems.push(`${exited} qw process(es) exited after the fault: qw needed a restart`);
    return {
      jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
      extra: [["redelivered runs", redeliveredRuns(execs)], ["leader killed", leader], ["new leader", newLeader || "none"], ["qw restarts", 0]],
    };
  } finally {
    await stopAll(procs);
    await c.close();
    await cluster.stop();
  }
}

// ---------------------------------------------------------------------------
// 5: 10% of jobs end their own Web Worker with process.exit().

/** The most probes whose [P, E] intervals overlap. */
function maxOverlap(execs: Execution[], probeIds: Set<string>): { overlap: number; workers: number } {
  const points: [number, number][] = [];
  const workers = new Set<string>();
  for (const e of execs) {
    if (!probeIds.has(e.id)) continue;
    if (e.kind === "P") {
      points.push([e.at, 1]);
      workers.add(`${e.pid}/${e.worker}`);
    } else if (e.kind === "E") points.push([e.at, -1]);
  }
  points.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let cur = 0, best = 0;
  for (const [, d] of points) best = Math.max(best, (cur += d));
  return { overlap: best, workers: workers.size };
}

async function workerDeaths(ctx: Ctx): Promise<Report> {
  const stream = "C5";
  const N = n(10_000);
  const C = 2;
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const jobIds = ids("j", N);
    const killers = new Set(jobIds.filter((_, i) => i % 10 === 7));
    await publishAll(c.js, jobIds.map((id) => job(stream, "mortal", id, [0, killers.has(id)])));
    const args = qwArgs(stream, server.url, ["--concurrency", String(C), "--no-results"]);
    const t0 = Date.now();
    const qw = QwProcess.start(args, { logFile: ctx.qwLog(0), env: { QW_CHAOS_LOG: ctx.log } });
    try {
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
      const seconds = (Date.now() - t0) / 1000;
      // The pool must be back at full size: C probes of 300 ms must run at once.
      const probeIds = ids("probe", 4 * C);
      await publishAll(c.js, probeIds.map((id) => job(stream, "probe", id, [300])));
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: 60_000 });
      const execs = readExecutions(ctx.log);
      const dead = await readDeadLetters(c, stream);
      const a = account(jobIds, execs, dead);
      const { overlap } = maxOverlap(execs, new Set(probeIds));
      const killersDead = [...killers].filter((id) => a.deadIds.has(id)).length;
      const goodDead = jobIds.filter((id) => !killers.has(id) && a.deadIds.has(id)).length;
      const goodDone = jobIds.filter((id) => !killers.has(id) && a.ends.has(id) && !a.deadIds.has(id)).length;
      const lostLogged = qw.logLines(/Web Worker \d+ lost/).length;
      const problems: string[] = [];
      if (a.lost > 0) problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      if (killersDead !== killers.size) problems.push(`${killers.size - killersDead} worker-killing jobs not dead-lettered`);
      if (goodDone + goodDead !== N - killers.size) problems.push("some ordinary jobs ended neither done nor dead-lettered");
      if (overlap !== C) problems.push(`pool not at full size afterwards: ${overlap} of ${C} Web Workers ran probes at once`);
      if (!qw.alive) problems.push(describeExit(qw));
      const badReasons = dead.filter((d) => killers.has(d.id ?? "") && !/lost/i.test(d.reason)).length;
      if (badReasons > 0) problems.push(`${badReasons} dead letters without a worker-lost reason`);
      return {
        jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
        extra: [
          ["worker-killing jobs", killers.size],
          ["dead-lettered", `${a.deadLettered} (${killersDead} killers, ${goodDead} others)`],
          ["Web Worker deaths logged", lostLogged],
          ["pool size after", `${overlap}/${C}`],
        ],
      };
    } finally {
      await qw.stop();
    }
  });
}

// ---------------------------------------------------------------------------
// 6: 1,000 malformed messages mixed into 10k good ones.

const MALFORMED_KINDS = [
  "bad JSON",
  "missing args",
  "args not an array",
  "body not an object",
  "unknown task",
  "huge payload",
  "binary garbage",
  "empty body",
  "Qw-Retries: abc",
  "Qw-Retries: -1",
] as const;

function malformed(stream: string, kind: typeof MALFORMED_KINDS[number], i: number, rnd: () => number): Outgoing {
  const id = `bad-${i}`;
  const enc = new TextEncoder();
  const base = { subject: `${stream}.late`, headers: { "Qw-Id": id } as Record<string, string>, msgId: id };
  switch (kind) {
    case "bad JSON":
      return { ...base, data: enc.encode(`{"args": [1, 2`) };
    case "missing args":
      return { ...base, data: enc.encode(`{"argz": []}`) };
    case "args not an array":
      return { ...base, data: enc.encode(`{"args": {"0": 1}}`) };
    case "body not an object":
      return { ...base, data: enc.encode(i % 2 ? `[1, 2, 3]` : `null`) };
    case "unknown task":
      return { ...base, subject: `${stream}.no_such_task`, data: enc.encode(`{"args": []}`) };
    case "huge payload": {
      // 900 KB (under the server's 1 MB max_payload), an unterminated JSON string.
      const data = new Uint8Array(900 * 1024).fill(0x61);
      data.set(enc.encode(`{"args": ["`), 0);
      return { ...base, data };
    }
    case "binary garbage": {
      const data = new Uint8Array(1 + Math.floor(rnd() * 2048));
      for (let k = 0; k < data.length; k++) data[k] = Math.floor(rnd() * 256);
      data[0] = 0xff; // never valid UTF-8 JSON
      return { ...base, data };
    }
    case "empty body":
      return { ...base, data: new Uint8Array(0) };
    case "Qw-Retries: abc":
      return { ...base, data: enc.encode(`{"args": [0]}`), headers: { ...base.headers, "Qw-Retries": "abc" } };
    case "Qw-Retries: -1":
      return { ...base, data: enc.encode(`{"args": [0]}`), headers: { ...base.headers, "Qw-Retries": "-1" } };
  }
}

async function malformedMix(ctx: Ctx): Promise<Report> {
  const stream = "C6";
  const G = n(10_000);
  const B = n(1_000);
  const rnd = prng(6);
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const good = ids("j", G);
    const msgs: { m: Outgoing; bad: string | null }[] = good.map((id) => ({ m: job(stream, "late", id, [0]), bad: null }));
    for (let i = 0; i < B; i++) {
      const kind = MALFORMED_KINDS[i % MALFORMED_KINDS.length];
      msgs.push({ m: malformed(stream, kind, i, rnd), bad: kind });
    }
    for (let i = msgs.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [msgs[i], msgs[j]] = [msgs[j], msgs[i]];
    }
    const seqs = await publishAll(c.js, msgs.map((x) => x.m), { window: 128 });
    const badBySeq = new Map<number, string>();
    seqs.forEach((s, i) => msgs[i].bad && badBySeq.set(s, msgs[i].bad!));
    const args = qwArgs(stream, server.url, ["--concurrency", "2", "--no-results"]);
    const t0 = Date.now();
    const qw = QwProcess.start(args, { logFile: ctx.qwLog(0), env: { QW_CHAOS_LOG: ctx.log } });
    try {
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
      const seconds = (Date.now() - t0) / 1000;
      const execs = readExecutions(ctx.log);
      const dead = await readDeadLetters(c, stream);
      const a = account(good, execs, dead);
      const deadBad = dead.filter((d) => badBySeq.has(d.seq));
      const withReason = deadBad.filter((d) => d.reason.trim() !== "");
      const byKind = new Map<string, number>();
      for (const d of withReason) byKind.set(badBySeq.get(d.seq)!, (byKind.get(badBySeq.get(d.seq)!) ?? 0) + 1);
      const distinctBad = new Set(withReason.map((d) => d.seq)).size;
      const badRan = execs.filter((e) => e.id.startsWith("bad-") && e.kind === "S").length;
      const lostLogged = qw.logLines(/Web Worker \d+ lost|spawn|uncaught/i).length;
      const problems: string[] = [];
      if (!qw.alive) problems.push(`crashed: ${describeExit(qw)}`);
      if (a.lost > 0) problems.push(`lost ${a.lost} good acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      if (a.deadLettered > 0) problems.push(`${a.deadLettered} good jobs dead-lettered`);
      if (distinctBad !== B) {
        const missing = MALFORMED_KINDS.filter((k) => (byKind.get(k) ?? 0) < Math.floor(B / MALFORMED_KINDS.length));
        problems.push(`${B - distinctBad} malformed messages not dead-lettered with a reason (kinds: ${missing.join(", ")})`);
      }
      if (badRan > 0) problems.push(`${badRan} malformed messages ran a task`);
      if (lostLogged > 0) problems.push(`${lostLogged} Web Worker deaths logged`);
      return {
        jobs: G, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
        extra: [
          ["malformed", B],
          ["dead letters", dead.length],
          ["dead-lettered with a reason", distinctBad],
          ["crashes", qw.alive ? 0 : 1],
          ["Web Worker deaths", lostLogged],
        ],
      };
    } finally {
      await qw.stop();
    }
  });
}

// ---------------------------------------------------------------------------
// 7: SIGTERM under load with acksLate.

async function sigterm(ctx: Ctx): Promise<Report> {
  const stream = "C7";
  const N = n(10_000);
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const jobIds = ids("j", N);
    // Around the signal, some jobs run 3 s, longer than the grace period: they must be handed back.
    const long = (i: number) => i >= 0.25 * N && i < 0.45 * N && i % 50 === 0;
    await publishAll(c.js, jobIds.map((id, i) => job(stream, "late", id, [long(i) ? 3000 : 3])));
    const args = qwArgs(stream, server.url, ["--concurrency", "4", "--grace", "1", "--log-level", "warning"]);
    const env = { QW_CHAOS_LOG: ctx.log };
    const t0 = Date.now();
    const procs = [0, 1].map((i) => QwProcess.start(args, { logFile: ctx.qwLog(i), env }));
    try {
      await waitProgress(ctx.log, N, 0.3);
      const victim = procs[0];
      const ts = Date.now();
      victim.signal("SIGTERM");
      const exit = await Promise.race([victim.exited, sleep(30_000).then(() => null)]);
      const exitSeconds = (Date.now() - ts) / 1000;
      const handedBack = victim.logLines(/handed back/).length;
      progress(`SIGTERM: qw ${victim.pid} exited ${JSON.stringify(exit)} after ${fmt(exitSeconds, 2)} s`);
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
      const seconds = (Date.now() - t0) / 1000;
      const execs = readExecutions(ctx.log);
      const dead = await readDeadLetters(c, stream);
      const a = account(jobIds, execs, dead);
      // Handed back jobs run again at once; one that was not comes back only after the ack wait (30 s).
      const afterAckWait = execs.filter((e) => e.kind === "S" && e.delivery > 1 && e.at - ts > 20_000).length;
      const problems: string[] = [];
      if (exit === null) problems.push("qw did not exit within 30 s of SIGTERM");
      else if (exit.code !== 0) problems.push(`qw exited with ${JSON.stringify(exit)}, not 0`);
      if (a.lost > 0) problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      if (a.deadLettered > 0) problems.push(`${a.deadLettered} jobs dead-lettered`);
      return {
        jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
        extra: [["redelivered runs", redeliveredRuns(execs)], ["exit code", exit?.code ?? "none"], ["exit after SIGTERM", `${fmt(exitSeconds, 2)} s`], ["handed back", handedBack],
          ["came back only after the ack wait", afterAckWait]],
      };
    } finally {
      await stopAll(procs);
    }
  });
}

// ---------------------------------------------------------------------------
// 8: soak, 200k no-op jobs, RSS every second.

async function soak(ctx: Ctx): Promise<Report> {
  const stream = "C8";
  const N = n(200_000);
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const args = qwArgs(stream, server.url, ["--concurrency", "2", "--no-results"]);
    const qw = QwProcess.start(args, { logFile: ctx.qwLog(0), env: { QW_CHAOS_LOG: ctx.log } });
    try {
      // Let it come up and settle before the first sample.
      await until(async () => (await c.jsm.consumers.info(stream, CONSUMER(stream))).num_waiting > 0, 30_000, 100);
      await sleep(1000);
      const rss = new RssSampler(() => (qw.alive ? qw.pid : null), 1000);
      const t0 = Date.now();
      const jobIds = ids("j", N);
      // Published while qw consumes, in chunks, so the stream never holds everything at once.
      for (let i = 0; i < N; i += 20_000) {
        await publishAll(c.js, jobIds.slice(i, i + 20_000).map((id) => job(stream, "late", id, [0])));
        progress(`soak: published ${Math.min(N, i + 20_000)}, runs ${countLines(ctx.log) >> 1}`);
      }
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS * 2 });
      const seconds = (Date.now() - t0) / 1000;
      await sleep(5000); // idle again: the end sample shows what is kept
      const r = rss.stop();
      const execs = readExecutions(ctx.log);
      const dead = await readDeadLetters(c, stream);
      const a = account(jobIds, execs, dead);
      const problems: string[] = [];
      if (!qw.alive) problems.push(describeExit(qw));
      if (a.lost > 0) problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      return {
        jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
        extra: [
          ["jobs/s", Math.round(N / seconds)],
          ["RSS MB start", fmt(r.start)],
          ["peak", fmt(r.peak)],
          ["end", fmt(r.end)],
          ["samples", r.n],
        ],
      };
    } finally {
      await qw.stop();
    }
  });
}

// ---------------------------------------------------------------------------
// 9: mixed faults on a stream the user already has (limits retention): the
// mix that once left qw holding jobs forever. Fresh stream and qw per round.

const MIXED_TASKS = join(ROOT, "tests", "fixtures", "tasks", "mixed_faults.ts");
/** Runs each job of tests/fixtures/tasks/mixed_faults.ts must have, no more, no fewer. */
const MIXED_RUNS: Record<string, number> = { flaky: 3, notRetried: 1, dies: 2, diesPlain: 1, rejecter: 1, spinner: 1, add: 1 };
const MIXED_FAULTS = ["flaky", "notRetried", "dies", "diesPlain", "rejecter", "spinner"];
const MIXED_ROUND_MS = 30_000;

/** A TCP port free on loopback a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs per task id in a record file written by tests/fixtures/tasks/_record.ts; a torn line is skipped. */
function runsById(file: string): Map<string, number> {
  const runs = new Map<string, number>();
  if (!existsSync(file)) return runs;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    try {
      const id = (JSON.parse(line) as { id?: unknown }).id;
      if (typeof id === "string") runs.set(id, (runs.get(id) ?? 0) + 1);
    } catch { /* empty or torn */ }
  }
  return runs;
}

/** The last `n` lines of a file. */
function tail(file: string, n: number): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").slice(-n);
}

/** What one round of scenario 9 saw. */
interface MixedRound {
  drained: boolean;
  jobs: number;
  /** Jobs that ran at least their expected runs. */
  done: number;
  /** Runs beyond the expected ones. */
  extraRuns: number;
  /** Jobs short of runs though the consumer had nothing pending or unacked: gone. */
  lost: number;
  /** Jobs short of runs still pending or unacked when the round gave up: held. */
  held: number;
  exit: { code: number | null; signal: string | null };
}

async function mixedRound(ctx: Ctx, server: NatsServer, c: Client, concurrency: number, round: number): Promise<MixedRound> {
  const stream = `jobs9c${concurrency}r${round}`;
  // As a team's existing stream: the defaults, so limits retention (acked jobs stay in the stream).
  await c.jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  const file = join(ctx.dir, `${stream}.runs`);
  const logFile = join(ctx.dir, `${stream}.qw.log`);
  const expected = new Map<string, number>();
  const batch = (tasks: string[], count: number, args: unknown[]): Outgoing[] => {
    const msgs: Outgoing[] = [];
    for (let i = 0; i < count; i++) {
      for (const t of tasks) {
        const id = `${stream}-${t}-${i}`;
        expected.set(id, MIXED_RUNS[t]);
        msgs.push(job(stream, t, id, args));
      }
    }
    return msgs;
  };
  await publishAll(c.js, batch(MIXED_FAULTS, 3, [file]));
  const port = await freePort();
  const args = [
    "--stream", stream, "--tasks", MIXED_TASKS, "--server", server.url,
    "--concurrency", String(concurrency), "--http", `127.0.0.1:${port}`, "--log-level", "warning",
  ];
  const qw = QwProcess.start(args, { logFile });
  const t0 = Date.now();
  const allRan = () => {
    const runs = runsById(file);
    return [...expected].every(([id, k]) => (runs.get(id) ?? 0) >= k);
  };
  let info: ConsumerInfo | null = null;
  let drained = false;
  try {
    // The fast jobs arrive while the faulty ones run.
    await until(() => countLines(file) > 0, 10_000, 20);
    await publishAll(c.js, batch(["add"], 20, [file, 1, 2]));
    drained = await until(async () => {
      info = await c.jsm.consumers.info(stream, CONSUMER(stream));
      return info.num_pending === 0 && info.num_ack_pending === 0 && allRan();
    }, Math.max(0, MIXED_ROUND_MS - (Date.now() - t0)), 100);
    if (!drained) {
      const runs = runsById(file);
      const behind = [...expected].filter(([id, k]) => (runs.get(id) ?? 0) < k).map(([id, k]) => `${id} ${runs.get(id) ?? 0}/${k}`);
      const ci = info as ConsumerInfo | null;
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.text())
        .then((t) => t.split("\n").filter((l) => /^qw_(jobs_in_flight|pool_size|time_limits_total|worker_lost_total)/.test(l)).join("; "))
        .catch((e) => `unavailable (${(e as Error).message})`);
      progress(`${stream} stuck after ${MIXED_ROUND_MS / 1000} s, qw ${qw.alive ? "running" : describeExit(qw)}`);
      progress(`  short of runs: ${behind.join(", ") || "none"}`);
      progress(`  consumer ${CONSUMER(stream)}: ${ci
        ? JSON.stringify({
          num_pending: ci.num_pending, num_ack_pending: ci.num_ack_pending, num_redelivered: ci.num_redelivered,
          num_waiting: ci.num_waiting, delivered: ci.delivered, ack_floor: ci.ack_floor,
        })
        : "none"}`);
      progress(`  metrics: ${metrics}`);
      for (const l of tail(logFile, 12)) progress(`  | ${l.slice(0, 300)}`);
    }
  } finally {
    const ts = Date.now();
    const exit = await qw.stop(10_000);
    if (!drained) progress(`  SIGTERM: qw exited ${JSON.stringify(exit)} after ${fmt((Date.now() - ts) / 1000)} s`);
  }
  const runs = runsById(file);
  let done = 0, short = 0, extraRuns = 0;
  for (const [id, k] of expected) {
    const got = runs.get(id) ?? 0;
    if (got >= k) done++;
    else short++;
    extraRuns += Math.max(0, got - k);
  }
  const last = info as ConsumerInfo | null;
  const gone = last !== null && last.num_pending === 0 && last.num_ack_pending === 0;
  if (!KEEP) {
    for (const s of [stream, `${stream}_dlq`, `KV_qw_${stream}_results`]) await c.jsm.streams.delete(s).catch(() => {});
  }
  return { drained, jobs: expected.size, done, extraRuns, lost: gone ? short : 0, held: gone ? 0 : short, exit: qw.exit! };
}

async function mixedFaults(ctx: Ctx): Promise<Report> {
  const R = SHORT ? 3 : 20;
  return await withServer(async (server, c) => {
    const t0 = Date.now();
    let rounds = 0, drained = 0, stuck = 0, wrong = 0, jobs = 0, done = 0, lost = 0, held = 0, extraRuns = 0, badExits = 0;
    const stuckAt: string[] = [];
    const exits: string[] = [];
    for (const concurrency of [1, 2, 4]) {
      for (let r = 0; r < R; r++) {
        const x = await mixedRound(ctx, server, c, concurrency, r);
        rounds++;
        jobs += x.jobs;
        done += x.done;
        lost += x.lost;
        held += x.held;
        extraRuns += x.extraRuns;
        if (!x.drained) {
          stuck++;
          stuckAt.push(`c${concurrency}r${r}`);
        } else if (x.extraRuns > 0) wrong++;
        else drained++;
        if (x.exit.code !== 0) {
          badExits++;
          if (exits.length < 3) exits.push(`c${concurrency}r${r} ${JSON.stringify(x.exit)}`);
        }
      }
      progress(`mixed faults: concurrency ${concurrency} done, ${stuck} stuck so far`);
    }
    const problems: string[] = [];
    if (stuck > 0) problems.push(`${stuck} rounds stuck (${stuckAt.join(", ")}), ${held} jobs held by qw, ${lost} gone`);
    if (wrong > 0) problems.push(`${wrong} rounds ran a job more than expected (${extraRuns} runs too many)`);
    if (badExits > 0) problems.push(`${badExits} qw exits after SIGTERM not 0, e.g. ${exits.join("; ")}`);
    return {
      lead: [["rounds", rounds], ["drained", drained], ["stuck", stuck], ["wrong", wrong]],
      jobs, done, lost, duplicates: extraRuns, seconds: (Date.now() - t0) / 1000, acksLate: false, problems,
      afterLost: [["held", held]],
      extra: [["exit not 0", badExits]],
    };
  });
}

// ---------------------------------------------------------------------------
// 11: the fault soup, many seeds of mixed faults (tests/helpers/fault_soup.ts), with the rolling restarts, results
// outages and revokes each seed draws.

async function faultSoup(ctx: Ctx): Promise<Report> {
  const seeds = SEED !== null ? [SEED] : Array.from({ length: SEEDS ?? n(200) }, (_, i) => i + 1);
  return await withServer(async (server) => {
    const t0 = Date.now();
    let jobs = 0, stuck = 0, wrong = 0, doneSeeds = 0, restarts = 0, outages = 0, revokedDone = 0, revokedWaiting = 0;
    let pauses = 0, streamPauses = 0, prioritySeeds = 0, keySeeds = 0, keyedJobs = 0;
    const details: string[] = [];
    const one = async (seed: number) => {
      const c = soupCase(seed);
      jobs += c.jobs.length;
      restarts += c.restarts.length;
      outages += c.outage ? 1 : 0;
      revokedDone += c.revokeDone.length;
      revokedWaiting += c.revokeWaiting.length;
      pauses += c.pauses.length;
      streamPauses += c.pauses.filter((p) => p.task === null).length;
      prioritySeeds += c.jobs.some((j) => j.priority !== 5) ? 1 : 0;
      keySeeds += c.jobs.some((j) => j.key !== undefined) ? 1 : 0;
      keyedJobs += c.jobs.filter((j) => j.key !== undefined).length;
      try {
        const r = await runSoup(c, { server: server.url, dir: ctx.dir });
        stuck += r.stuck;
        wrong += r.wrong + (r.problems.length > 0 ? 1 : 0);
        if (!passed(r)) details.push(failureLine(r));
      } catch (e) {
        wrong++;
        details.push(`seed ${seed}: ${(e as Error).message.split("\n")[0]}`);
      }
      if (++doneSeeds % 20 === 0) progress(`fault soup: ${doneSeeds}/${seeds.length} seeds, stuck ${stuck}, wrong ${wrong}`);
    };
    // Two cases at a time (each on its own stream): this machine has 2 cores.
    let next = 0;
    const lane = async () => {
      while (next < seeds.length) await one(seeds[next++]);
    };
    await Promise.all([lane(), lane()]);
    const seconds = (Date.now() - t0) / 1000;
    const bySeed = (l: string) => Number(/^seed (-?\d+)/.exec(l)?.[1]);
    details.sort((a, b) => bySeed(a) - bySeed(b));
    return {
      jobs, done: jobs - stuck - wrong, lost: 0, duplicates: 0, seconds, extra: [], acksLate: false,
      problems: stuck + wrong > 0 ? [`${details.length} of ${seeds.length} seeds failed`] : [],
      line: `seeds ${seeds.length}, jobs ${jobs}, rolling restarts ${restarts}, results outages ${outages}, ` +
        `revoked finished ${revokedDone}, revoked waiting ${revokedWaiting}, pauses ${pauses} (of the stream ${streamPauses}), ` +
        `seeds with priorities ${prioritySeeds}, seeds with keys ${keySeeds} (keyed jobs ${keyedJobs}), stuck ${stuck}, wrong ${wrong}, seconds ${fmt(seconds)}`,
      details: details.map((d) => `${d} (replay: bun scripts/chaos.ts --seed ${bySeed(d)})`),
    };
  });
}

// ---------------------------------------------------------------------------
// 10: kill -9 under acksLate with results on: every job that was acked must
// have its final result stored.

/** The stored result of every id (null when none), read one get per key. */
async function readResults(c: Client, bucket: string, jobIds: string[], timeoutMs = 60_000): Promise<Map<string, ResultRecord | null>> {
  const kv = await new Kvm(c.nc).open(bucket);
  const found = new Map<string, ResultRecord | null>();
  const deadline = Date.now() + timeoutMs;
  let next = 0;
  const lane = async () => {
    while (next < jobIds.length) {
      if (Date.now() > deadline) throw new Error(`Cannot read ${bucket} within ${timeoutMs} ms (${found.size} of ${jobIds.length} read)`);
      const id = jobIds[next++];
      const e = await kv.get(keyFor(id));
      found.set(id, e && e.operation === "PUT" ? e.json<ResultRecord>() : null);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return found;
}

async function kill9Results(ctx: Ctx): Promise<Report> {
  const stream = "C10";
  const N = n(5_000);
  const KILLS = 4;
  const EVERY_MS = 1_500;
  return await withServer(async (server, c) => {
    await createStreams(c.jsm, stream);
    const jobIds = ids("j", N);
    // As short as the timed kills allow (the more jobs end per second, the more acks and result writes are in
    // flight at a kill) while the queue is still draining at the last kill: 10 ms at full size.
    const ms = Math.round(10 * 5_000 / N);
    await publishAll(c.js, jobIds.map((id) => job(stream, "late", id, [ms])));
    const args = qwArgs(stream, server.url, ["--concurrency", "4", "--ack-wait", "5"]);
    const env = { QW_CHAOS_LOG: ctx.log };
    const t0 = Date.now();
    const procs = [0, 1].map((i) => QwProcess.start(args, { logFile: ctx.qwLog(i), env }));
    const live = [...procs];
    const victims: number[] = [];
    let killsMidRun = 0;
    try {
      await waitProgress(ctx.log, N, 0.05);
      for (let k = 0; k < KILLS; k++) {
        await sleep(EVERY_MS);
        // The older of the two: a replacement gets its turn after it has been running a while.
        const victim = live.shift()!;
        await victim.kill9();
        victims.push(victim.pid);
        const s = await queueState(c.jsm, stream, CONSUMER(stream)).catch(() => null);
        if (s && s.messages > 0) killsMidRun++;
        progress(`kill ${k + 1}: qw ${victim.pid} at ${countLines(ctx.log) >> 1} runs, ${s?.messages ?? "?"} jobs left`);
        const p = QwProcess.start(args, { logFile: ctx.qwLog(procs.length), env });
        procs.push(p);
        live.push(p);
      }
      await waitDrained(c.jsm, stream, CONSUMER(stream), { timeoutMs: DRAIN_TIMEOUT_MS });
      const seconds = (Date.now() - t0) / 1000;
      const execs = readExecutions(ctx.log);
      const dead = await readDeadLetters(c, stream);
      const a = account(jobIds, execs, dead);
      const running = victims.reduce((sum, pid) => sum + interrupted(execs, pid).size, 0);
      const results = await readResults(c, `qw_${stream}_results`, jobIds);
      const final = (r: ResultRecord | null | undefined) => r?.state === "SUCCESS" || r?.state === "FAILURE";
      const without = jobIds.filter((id) => !final(results.get(id)));
      const withoutDone = without.filter((id) => a.ends.has(id)).length;
      const succeeded = jobIds.filter((id) => results.get(id)?.state === "SUCCESS").length;
      const problems: string[] = [];
      if (a.lost > 0) problems.push(`lost ${a.lost} acksLate jobs, e.g. ${a.lostIds.join(", ")}`);
      if (without.length > 0) {
        problems.push(`${without.length} jobs without a stored final result (${withoutDone} of them ran to the end), e.g. ${without.slice(0, 5).join(", ")}`);
      }
      if (a.deadLettered > 0) problems.push(`${a.deadLettered} jobs dead-lettered`);
      if (killsMidRun < KILLS) problems.push(`only ${killsMidRun} of ${KILLS} kills came while jobs were left`);
      const exited = live.filter((p) => !p.alive);
      if (exited.length > 0) problems.push(exited.map(describeExit).join("; "));
      return {
        jobs: N, done: a.done, lost: a.lost, duplicates: a.duplicates, seconds, acksLate: true, problems,
        afterLost: [["without result", without.length]],
        extra: [
          ["job ms", ms],
          ["kills", `${killsMidRun}/${KILLS} mid-run`],
          ["running at kills", running],
          ["redelivered runs", redeliveredRuns(execs)],
          ["results SUCCESS", succeeded],
        ],
      };
    } finally {
      await stopAll(procs);
    }
  });
}

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// 12: flows under kill -9: chords and chains on two processes, one killed
// again and again; every flow must end, and no chord body may run twice.

async function flowsUnderKill(ctx: Ctx): Promise<Report> {
  const stream = "C12";
  const FLOWS = n(200);
  const MEMBERS = 20;
  const KILLS = 3;
  return await withServer(async (server, c) => {
    const runs = join(ctx.dir, "flow-runs.txt");
    const args = ["--stream", stream, "--tasks", join(ROOT, "tests/fixtures/tasks/flows.ts"), "--server", server.url, "--log-level", "warning",
      "--concurrency", "2", "--ack-wait", "3"];
    const env = { QW_FLOW_RUNS: runs };
    const t0 = Date.now();
    const procs = [0, 1].map((i) => QwProcess.start(args, { logFile: ctx.qwLog(i), env }));
    const live = [...procs];
    const qwc = await connectClient({ servers: server.url, stream });
    try {
      // qw creates the stream; flows go in once it exists.
      await until(async () => (await c.jsm.streams.info(stream).catch(() => null)) !== null, 15_000, 50);
      const ids: string[] = [];
      for (let i = 0; i < FLOWS; i++) {
        const flow = i % 2 === 0
          ? chord(group(...Array.from({ length: MEMBERS }, (_, k) => sig("sq", [k + i]))), sig("total"))
          : chain(sig("sq", [2]), sig("sq"), sig("sq"));
        ids.push(await qwc.enqueueFlow(flow, { id: `flow-${i}` }));
      }
      for (let k = 0; k < KILLS; k++) {
        await sleep(700);
        const victim = live.shift()!;
        await victim.kill9();
        progress(`kill ${k + 1}: qw ${victim.pid}`);
        const p = QwProcess.start(args, { logFile: ctx.qwLog(procs.length), env });
        procs.push(p);
        live.push(p);
      }
      const finalOf = async (id: string) => (await qwc.get(id)).state;
      await until(async () => (await Promise.all(ids.map(finalOf))).every((s) => s === "SUCCESS" || s === "FAILURE"), DRAIN_TIMEOUT_MS, 200);
      const states = await Promise.all(ids.map(finalOf));
      const seconds = (Date.now() - t0) / 1000;
      const done = states.filter((s) => s === "SUCCESS").length;
      const stalled = states.filter((s) => s !== "SUCCESS" && s !== "FAILURE").length;
      const lines = existsSync(runs) ? readFileSync(runs, "utf8").split("\n").filter(Boolean) : [];
      const bodies = new Map<string, number>();
      for (const l of lines) if (l.endsWith(".body")) bodies.set(l, (bodies.get(l) ?? 0) + 1);
      const twice = [...bodies.values()].filter((k) => k > 1).length;
      const wrong: string[] = [];
      for (const [i, id] of ids.entries()) {
        const r = await qwc.get(id);
        if (r.state !== "SUCCESS" || !("result" in r)) continue;
        const want = i % 2 === 0
          ? { n: MEMBERS, sum: Array.from({ length: MEMBERS }, (_, k) => (k + i) ** 2).reduce((a, b) => a + b, 0) }
          : 256;
        if (JSON.stringify(r.result) !== JSON.stringify(want)) wrong.push(id);
      }
      const problems: string[] = [];
      if (stalled > 0) problems.push(`${stalled} flows never ended`);
      if (done < FLOWS) problems.push(`${FLOWS - done} flows did not succeed`);
      if (twice > 0) problems.push(`${twice} chord bodies ran twice`);
      if (wrong.length > 0) problems.push(`${wrong.length} flows with a wrong result, e.g. ${wrong.slice(0, 3).join(", ")}`);
      return {
        jobs: FLOWS, done, lost: stalled, duplicates: twice, seconds, acksLate: true, problems, extra: [],
        line: `flows ${FLOWS}, done ${done}, stalled ${stalled}, bodies run twice ${twice}, seconds ${fmt(seconds)}`,
        details: [],
      };
    } finally {
      await qwc.close();
      await stopAll(procs);
    }
  });
}

const SCENARIOS: Scenario[] = [
  { no: 1, name: "1 kill -9 qw (acksLate)", inShort: true, run: (c) => kill9(c, "late") },
  { no: 2, name: "2 kill -9 qw (early ack)", inShort: false, run: (c) => kill9(c, "early") },
  { no: 3, name: "3 nats-server restart", inShort: true, run: serverRestart },
  { no: 4, name: "4 cluster leader killed", inShort: false, run: clusterLeaderKill },
  { no: 5, name: "5 Web Worker deaths", inShort: true, run: workerDeaths },
  { no: 6, name: "6 malformed messages", inShort: true, run: malformedMix },
  { no: 7, name: "7 SIGTERM under load", inShort: false, run: sigterm },
  { no: 8, name: "8 soak", inShort: false, run: soak },
  { no: 9, name: "9 mixed faults", inShort: true, run: mixedFaults },
  { no: 10, name: "10 kill -9 acksLate with results", inShort: true, run: kill9Results },
  { no: 11, name: "11 fault soup", inShort: true, run: faultSoup },
  { no: 12, name: "12 flows under kill -9", inShort: true, run: flowsUnderKill },
];

const selected = SCENARIOS.filter((s) => (ONLY ? ONLY.has(s.no) : !SHORT || s.inShort));
const started = Date.now();
out(`chaos${SHORT ? " --short" : ""}: ${selected.length} scenario(s), scale ${SCALE}, qw ${QW_BIN}, temp ${tmp.path}`);
for (const s of selected) {
  const dir = join(tmp.path, `s${s.no}`);
  mkdirSync(dir, { recursive: true });
  const ctx: Ctx = { dir, log: join(dir, "runs.log"), qwLog: (i) => join(dir, `qw${i}.log`) };
  const t = Date.now();
  try {
    const r = await s.run(ctx);
    const show = (fs: Figure[] = []) => fs.map(([k, v]) => `${k} ${v}`);
    const figures = [
      ...show(r.lead), `jobs ${r.jobs}`, `done ${r.done}`, `lost ${r.lost}`, ...show(r.afterLost),
      `duplicates ${r.duplicates}`, `seconds ${fmt(r.seconds)}`, ...show(r.extra),
    ];
    const ok = r.problems.length === 0 && !(r.acksLate && r.lost > 0);
    if (r.line !== undefined) {
      out(`${s.name}: ${r.line}`);
      for (const d of r.details ?? []) out(`  ${d}`);
    } else {
      out(`${s.name}: ${figures.join(", ")}${ok ? "" : ` -- FAIL: ${r.problems.join("; ")}`}`);
    }
    if (!ok) failed = true;
  } catch (e) {
    failed = true;
    out(`${s.name}: FAIL after ${fmt((Date.now() - t) / 1000)} s: ${(e as Error).message}`);
  }
}
out(`chaos: ${failed ? "FAIL" : "PASS"} in ${fmt((Date.now() - started) / 1000)} s${failed || KEEP ? ` (logs kept in ${tmp.path})` : ""}`);
if (!failed && !KEEP) tmp.cleanup();
process.exit(failed ? 1 : 0);
