/**
 * The references of scripts/bench.ts, with the same NATS client as qw: a
 * plain pull consumer that acks each message (the raw limit), and the same
 * consumer writing one result per message to a KV bucket shaped like qw's
 * results bucket (the limit of a worker that stores results). Plus the stream
 * plumbing both the references and the qw runs use.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { type JobShape, shapedJob } from "./_bench_shapes.ts";
import { once } from "node:events";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { createInbox, headers } from "@nats-io/nats-core";
import { type Client, createRawConsumer, createStreams, job, publishAll, ROOT, sleep } from "./_harness.ts";
import { processCpu, type RunCpu, runCpu, threadCpu } from "./_bench_cpu.ts";

export const RUN_TIMEOUT_MS = 600_000;
/** Result writes the raw-with-results reference keeps in flight. */
export const RESULT_WINDOW = 1000;
/** qw's default `--result-ttl`, in seconds. */
const RESULT_TTL_S = 86_400;

/** Remove a run's streams and bucket so the next run starts from the same state. */
export async function dropStream(c: Client, stream: string): Promise<void> {
  for (const name of [stream, `${stream}_dlq`, `KV_qw_${stream}_results`]) {
    await c.jsm.streams.delete(name).catch(() => {});
  }
}

/** Create the work and dead-letter streams and publish `count` jobs of `task`. */
export async function prepare(c: Client, stream: string, count: number, task = "noop", shape: JobShape = "plain"): Promise<void> {
  await createStreams(c.jsm, stream);
  await publishAll(c.js, Array.from({ length: count }, (_, i) => shapedJob(stream, task, i, shape)), {
    window: 1024,
  });
}

/** Poll until the stream holds no message; the time it became empty (ms epoch). */
export async function emptyAt(c: Client, stream: string, timeoutMs = RUN_TIMEOUT_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const t = Date.now();
    if ((await c.jsm.streams.info(stream)).state.messages === 0) return t;
    await sleep(10);
  }
  throw new Error(`stream ${stream} not empty within ${timeoutMs / 1000} s`);
}

/**
 * What a reference consumer does per message: ack only, or ack and write a
 * result (on the wire, or via `kv.create()`); `lean` acks only, taking its
 * messages on one subscription with its own pull requests instead of the
 * client's `consume()` (as qw's puller does).
 */
export type RawMode = "ack" | "lean" | ResultWrites;

/** How the raw-with-results reference writes: KV creates on the wire, or the client's `kv.create()`. */
export type ResultWrites = "wire" | "kv";

/**
 * The reference consumer: the existing durable `raw` of `stream`, consumed
 * with the client's `consume()` and each message acked as it arrives. With
 * `wire` or `kv`, also one KV create per message of a result record of qw's
 * size into the existing bucket `qw_<stream>_results`, pipelined with up to
 * RESULT_WINDOW writes in flight. `wire` sends each create as the KV client
 * does (a publish to `$KV.<bucket>.<key>` expecting last subject sequence 0)
 * with one reply subscription for all of them, so the client costs no timer
 * and no request per write: the physical limit. `kv` calls `kv.create()`,
 * which pays a request with its own timeout per write. Returns when `n`
 * messages were acked and every write confirmed: when the first message
 * came and the last write was confirmed (ms epoch; 0 without writes).
 */
export async function consumeRaw(
  c: Pick<Client, "nc" | "js">,
  stream: string,
  n: number,
  mode: RawMode,
): Promise<{ first: number; lastWrite: number }> {
  if (mode === "lean") return { first: await consumeLean(c, stream, n), lastWrite: 0 };
  const bucket = `qw_${stream}_results`;
  const inbox = createInbox();
  const waiting = new Map<string, (error: string | null) => void>();
  const sub = mode === "wire"
    ? c.nc.subscribe(`${inbox}.*`, {
      callback: (_e, msg) => {
        const done = waiting.get(msg.subject);
        waiting.delete(msg.subject);
        const text = msg.string();
        done?.(text.includes('"error"') ? text : null);
      },
    })
    : null;
  try {
    const kv = mode === "kv" ? await new Kvm(c.nc).open(bucket) : null;
    const expectNew = headers();
    expectNew.set("Nats-Expected-Last-Subject-Sequence", "0");
    let sent = 0;
    const onWire = (key: string, data: string): Promise<void> => {
      const reply = `${inbox}.${++sent}`;
      const p = new Promise<void>((resolve, reject) =>
        waiting.set(reply, (e) => e === null ? resolve() : reject(new Error(e)))
      );
      c.nc.publish(`$KV.${bucket}.${key}`, data, { reply, headers: expectNew });
      return p;
    };
    const it = await (await c.js.consumers.get(stream, "raw")).consume({ max_messages: 1000 });
    let first = 0;
    let done = 0;
    let inFlight = 0;
    let lastWrite = 0;
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    const settled = () => {
      inFlight--;
      lastWrite = Date.now();
      wake?.();
    };
    for await (const m of it) {
      if (done === 0) first = Date.now();
      m.ack();
      if (mode !== "ack") {
        while (inFlight >= RESULT_WINDOW) await new Promise<void>((r) => (wake = r));
        const id = m.headers?.get("Qw-Id") ?? `${stream}-${m.seq}`;
        const record = {
          id,
          task: "noop",
          state: "SUCCESS",
          result: null,
          retries: 0,
          deliveryCount: 1,
          worker: "raw",
          finishedAt: Date.now(),
        };
        inFlight++;
        const data = JSON.stringify(record);
        (mode === "wire" ? onWire(id, data) : kv!.create(id, data)).then(settled, (e) => {
          failure ??= e;
          settled();
        });
      }
      if (++done === n) break;
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    await c.nc.flush();
    return { first, lastWrite };
  } finally {
    sub?.unsubscribe();
  }
}

/**
 * The plain consumer without the client's consume(): one subscription, pull
 * requests of up to 1,000 published on it (a new one when half came), each
 * message acked as it arrives. When the first message came (ms epoch).
 */
async function consumeLean(c: Pick<Client, "nc">, stream: string, n: number): Promise<number> {
  const inbox = createInbox();
  const ACK = new TextEncoder().encode("+ACK");
  let first = 0;
  let done = 0;
  let outstanding = 0;
  const pull = (batch: number) => {
    outstanding += batch;
    c.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.raw`, JSON.stringify({ batch, expires: 30_000_000_000 }), {
      reply: inbox,
    });
  };
  await new Promise<void>((resolve) => {
    const sub = c.nc.subscribe(inbox, {
      callback: (_e, m) => {
        if (!m.reply) return; // a status: none is expected while messages are left
        if (done === 0) first = Date.now();
        m.respond(ACK);
        outstanding--;
        if (++done === n) {
          sub.unsubscribe();
          return resolve();
        }
        if (outstanding <= 500) pull(1000 - outstanding);
      },
    });
    pull(1000);
  });
  await c.nc.flush();
  return first;
}

/** The stream, its `raw` consumer and, to write results, the bucket shaped like qw's. */
async function prepareRaw(c: Client, stream: string, n: number, mode: RawMode): Promise<void> {
  await prepare(c, stream, n);
  await createRawConsumer(c.jsm, stream, "raw");
  if (mode === "wire" || mode === "kv") {
    await new Kvm(c.nc).create(`qw_${stream}_results`, { ttl: RESULT_TTL_S * 1000, history: 1 });
  }
}

/**
 * A reference run inside the bench's own process, whose client code is
 * compiled and warm from the runs before: jobs per second from the first
 * message to the stream empty and every write confirmed.
 */
export async function rawWarm(c: Client, stream: string, n: number, mode: RawMode): Promise<number> {
  await prepareRaw(c, stream, n, mode);
  try {
    const { first, lastWrite } = await consumeRaw(c, stream, n, mode);
    const end = Math.max(await emptyAt(c, stream), lastWrite);
    return n / ((end - first) / 1000);
  } finally {
    await dropStream(c, stream);
  }
}

/**
 * A reference run in a fresh process of its own (scripts/_raw_process.ts),
 * started cold as every qw run is: jobs per second from its first message to
 * the stream empty and every write confirmed, and the CPU of its threads from
 * its start and of nats-server meanwhile (null without /proc).
 */
export async function rawFresh(
  c: Client,
  url: string,
  natsPid: number | undefined,
  stream: string,
  n: number,
  mode: RawMode,
): Promise<{ jobsPerS: number; cpu: RunCpu | null }> {
  await prepareRaw(c, stream, n, mode);
  const nats0 = processCpu(natsPid);
  const child = spawn(process.execPath, [join(ROOT, "scripts", "_raw_process.ts"), url, stream, String(n), mode], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    let text = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => (text += d));
    const exited = once(child, "exit");
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    while (!text.includes("\n")) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error("the raw consumer process ended early");
      await sleep(5);
    }
    const { first, lastWrite } = JSON.parse(text) as { first: number; lastWrite: number };
    const end = Math.max(await emptyAt(c, stream), lastWrite);
    const proc = threadCpu(child.pid);
    const nats1 = processCpu(natsPid);
    child.stdin!.end();
    await exited;
    const cpu = runCpu(proc, nats0, nats1);
    return { jobsPerS: n / ((end - first) / 1000), cpu };
  } finally {
    if (child.exitCode === null) child.kill();
    await dropStream(c, stream);
  }
}
