/**
 * Shared helpers of scripts/chaos.ts and scripts/bench.ts: real `dist/qw`
 * processes, real nats-server processes on loopback (via the test helper),
 * publishing jobs in the wire format, waiting for a work queue to drain,
 * reading dead letters, and RSS from /proc. Runs under Bun and Deno (node:
 * built-ins and the NATS client only). Every wait is bounded in time.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { headers as makeHeaders, type NatsConnection } from "@nats-io/nats-core";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";

export { NatsCluster, NatsServer, startCluster } from "../tests/helpers/nats_server.ts";

/** The repository root. */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The compiled product. */
export const QW_BIN: string = process.env.QW_BIN || join(ROOT, "dist", "qw");
/** Fixture tasks files. */
export const FIXTURES: string = join(ROOT, "scripts", "fixtures");

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Epoch milliseconds with a fractional part; comparable across processes on one host. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Write a line to stdout (the lint rules forbid console). */
export function out(line = ""): void {
  process.stdout.write(line + "\n");
}

/** A fresh temp dir for one script run; `cleanup()` removes it. */
export function tempDir(prefix: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

// Every qw process started here is killed when this script exits, however it exits.
const liveQw = new Set<ChildProcess>();
function killLiveQw(): void {
  for (const c of liveQw) {
    try {
      c.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  liveQw.clear();
}
process.on("exit", killLiveQw);
// Ctrl-C or a CI timeout: exit through the exit handlers, which kill qw and nats-server children.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));
(globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.("unload", killLiveQw);

/** One running `dist/qw` process. */
export class QwProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Wall-clock epoch ms just before spawn. */
  readonly spawnedAt: number;
  /** Resolves with how it ended. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  #exit: { code: number | null; signal: string | null } | null = null;

  private constructor(child: ChildProcess, logFile: string, spawnedAt: number) {
    this.child = child;
    this.pid = child.pid!;
    this.logFile = logFile;
    this.spawnedAt = spawnedAt;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        liveQw.delete(child);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /**
   * Spawn `dist/qw ARGS`, stdout and stderr appended to `logFile`; with `netns`, inside that network
   * namespace (`ip netns exec` execs qw, so the pid is qw's).
   */
  static start(args: string[], o: { logFile: string; env?: Record<string, string>; netns?: string }): QwProcess {
    const fd = openSync(o.logFile, "a");
    const spawnedAt = Date.now();
    const [cmd, argv] = o.netns ? ["ip", ["netns", "exec", o.netns, QW_BIN, ...args]] : [QW_BIN, args];
    const child = spawn(cmd, argv, { stdio: ["ignore", fd, fd], env: { ...process.env, ...o.env } });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`Cannot start ${QW_BIN}`);
    liveQw.add(child);
    return new QwProcess(child, o.logFile, spawnedAt);
  }

  get alive(): boolean {
    return this.#exit === null;
  }

  get exit(): { code: number | null; signal: string | null } | null {
    return this.#exit;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: string | null }> {
    if (!this.alive) return this.#exit!;
    this.signal("SIGTERM");
    const t = setTimeout(() => this.signal("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  async kill9(): Promise<void> {
    this.signal("SIGKILL");
    await this.exited;
  }

  /** VmRSS in MB, or null once gone. */
  rssMb(): number | null {
    return rssMb(this.pid);
  }

  /** Lines of its log matching a pattern. */
  logLines(pattern: RegExp): string[] {
    if (!existsSync(this.logFile)) return [];
    return readFileSync(this.logFile, "utf8").split("\n").filter((l) => pattern.test(l));
  }
}

/** VmRSS of a process in MB from /proc, or null. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped. */
export class RssSampler {
  samples: number[] = [];
  #timer: ReturnType<typeof setInterval>;
  constructor(pid: () => number | null, everyMs = 1000) {
    const take = () => {
      const p = pid();
      const r = p === null ? null : rssMb(p);
      if (r !== null) this.samples.push(r);
    };
    take();
    this.#timer = setInterval(take, everyMs);
  }
  stop(): { start: number; peak: number; end: number; n: number } {
    clearInterval(this.#timer);
    const s = this.samples;
    return { start: s[0] ?? NaN, peak: s.length ? Math.max(...s) : NaN, end: s[s.length - 1] ?? NaN, n: s.length };
  }
}

/** A client connection with JetStream handles. */
export interface Client {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

export async function client(servers: string | string[]): Promise<Client> {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5_000 });
  const js = jetstream(nc, { timeout: 10_000 });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  return { nc, js, jsm, close: () => nc.close().catch(() => {}) };
}

/** Create the work stream (and its dead-letter stream) as qw would, optionally replicated. */
export async function createStreams(jsm: JetStreamManager, stream: string, o: { replicas?: number } = {}): Promise<void> {
  const nanos = (ms: number) => ms * 1_000_000;
  for (const [name, retention] of [[stream, RetentionPolicy.Workqueue], [`${stream}_dlq`, RetentionPolicy.Limits]] as const) {
    await jsm.streams.add({
      name,
      subjects: [`${name}.>`],
      retention,
      storage: StorageType.File,
      num_replicas: o.replicas ?? 1,
      duplicate_window: nanos(120_000),
    });
  }
}

/** A plain durable pull consumer on `<stream>.*`, as the raw baseline of the benchmark. */
export async function createRawConsumer(jsm: JetStreamManager, stream: string, name: string): Promise<void> {
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: `${stream}.*`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000,
    max_ack_pending: 20_000,
  });
}

/** One message to publish. */
export interface Outgoing {
  subject: string;
  data: Uint8Array | string;
  headers?: Record<string, string>;
  /** Nats-Msg-Id: makes a retried publish safe. */
  msgId?: string;
}

const enc = new TextEncoder();

/** A job for task `task` on `stream` in the wire format. */
export function job(stream: string, task: string, id: string, args: unknown[], extra: Record<string, string> = {}): Outgoing {
  return { subject: `${stream}.${task}`, data: enc.encode(JSON.stringify({ args })), headers: { "Qw-Id": id, ...extra }, msgId: id };
}

/**
 * Publish messages with up to `window` in flight; a failed publish is retried
 * (with its dedup id) until `timeoutMs`. Returns the stream sequence of each.
 */
export async function publishAll(
  js: JetStreamClient,
  msgs: Outgoing[],
  o: { window?: number; timeoutMs?: number; onProgress?: (n: number) => void; onError?: (e: Error) => void; onDuplicate?: (m: Outgoing) => void } = {},
): Promise<number[]> {
  const window = o.window ?? 512;
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  const seqs: number[] = new Array(msgs.length);
  let next = 0;
  let done = 0;
  const one = async (m: Outgoing): Promise<number> => {
    const h = makeHeaders();
    for (const [k, v] of Object.entries(m.headers ?? {})) h.set(k, v);
    for (let attempt = 0;; attempt++) {
      try {
        const ack = await js.publish(m.subject, m.data, { headers: m.headers ? h : undefined, msgID: m.msgId });
        if (ack.duplicate) o.onDuplicate?.(m);
        return ack.seq;
      } catch (e) {
        o.onError?.(e as Error);
        if (Date.now() > deadline) throw new Error(`Cannot publish to '${m.subject}': ${(e as Error).message}`);
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  };
  const lane = async () => {
    while (next < msgs.length) {
      const i = next++;
      seqs[i] = await one(msgs[i]);
      done++;
      if (o.onProgress && done % 1000 === 0) o.onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, msgs.length) }, lane));
  return seqs;
}

/** Messages left in a stream and the consumer's pending and unacked counts. */
export async function queueState(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
): Promise<{ messages: number; pending: number; ackPending: number; redelivered: number }> {
  const si = await jsm.streams.info(stream);
  const ci = await jsm.consumers.info(stream, consumer);
  return { messages: si.state.messages, pending: ci.num_pending, ackPending: ci.num_ack_pending, redelivered: ci.num_redelivered };
}

/**
 * Wait until the work queue is empty: no message left in the stream (it is a
 * WorkQueue: acked and termed messages are removed) and nothing pending or
 * unacked on the consumer. Returns the time it took, or throws after `timeoutMs`.
 */
export async function waitDrained(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  o: { timeoutMs: number; intervalMs?: number; onPoll?: (s: Awaited<ReturnType<typeof queueState>>) => void },
): Promise<number> {
  const t0 = Date.now();
  let last: unknown = null;
  while (Date.now() - t0 < o.timeoutMs) {
    try {
      const s = await queueState(jsm, stream, consumer);
      last = s;
      o.onPoll?.(s);
      if (s.messages === 0 && s.pending === 0 && s.ackPending === 0) return Date.now() - t0;
    } catch (e) {
      last = (e as Error).message; // e.g. during a failover: try again
    }
    await sleep(o.intervalMs ?? 200);
  }
  throw new Error(`Queue '${stream}' not drained within ${o.timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/** Wait until a condition holds, polling; false on timeout. */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return true;
    } catch { /* not yet */ }
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** One dead letter, as qw wrote it. */
export interface DeadLetter {
  id: string | null;
  reason: string;
  subject: string;
  seq: number;
  deliveries: number;
  size: number;
}

/**
 * Read every dead letter of `<stream>_dlq`, one stream get per sequence
 * (deterministic, unlike a consumer). Throws if they cannot all be read in time.
 */
export async function readDeadLetters(c: Client, stream: string, timeoutMs = 60_000): Promise<DeadLetter[]> {
  const name = `${stream}_dlq`;
  const { state } = await c.jsm.streams.info(name);
  const result: DeadLetter[] = [];
  if (state.messages === 0) return result;
  const deadline = Date.now() + timeoutMs;
  const seqs: number[] = [];
  for (let s = state.first_seq; s <= state.last_seq; s++) seqs.push(s);
  let next = 0;
  const lane = async () => {
    while (next < seqs.length) {
      if (Date.now() > deadline) throw new Error(`Cannot read ${name} within ${timeoutMs} ms (${result.length} of ${state.messages} read)`);
      const m = await c.jsm.streams.getMessage(name, { seq: seqs[next++] }).catch(() => null);
      if (!m) continue; // deleted
      const h = m.header;
      result.push({
        id: h?.get("Qw-Id") || null,
        reason: h?.get("Qw-Dlq-Reason") ?? "",
        subject: h?.get("Qw-Dlq-Subject") ?? "",
        seq: Number(h?.get("Qw-Dlq-Seq") ?? NaN),
        deliveries: Number(h?.get("Qw-Dlq-Deliveries") ?? NaN),
        size: m.data.length,
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  if (result.length !== state.messages) throw new Error(`Read ${result.length} of ${state.messages} dead letters in ${name}`);
  return result;
}

/** Lines appended by fixture tasks: `<kind> <id> <deliveryCount> <pid> <workerId> <epochMs>`. */
export interface Execution {
  kind: string;
  id: string;
  delivery: number;
  pid: number;
  worker: string;
  at: number;
}

/** Parse a record file; tolerant of a torn last line after a kill -9. */
export function readExecutions(file: string): Execution[] {
  if (!existsSync(file)) return [];
  const outList: Execution[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const p = line.split(" ");
    if (p.length < 6) continue;
    const at = Number(p[5]);
    if (!Number.isFinite(at)) continue;
    outList.push({ kind: p[0], id: p[1], delivery: Number(p[2]), pid: Number(p[3]), worker: p[4], at });
  }
  return outList;
}

/** Lines in a file, cheaply (for progress while a scenario runs). */
export function countLines(file: string): number {
  if (!existsSync(file) || statSync(file).size === 0) return 0;
  const buf = readFileSync(file);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return n;
}

/** The p-th percentile (0..100) of numbers, by nearest rank. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const fmt = (n: number, digits = 1): string => Number.isFinite(n) ? n.toFixed(digits) : "n/a";
