/**
 * The references of scripts/bench.ts, with the same NATS client as qw: a
 * plain pull consumer that acks each message (the raw limit), and the same
 * consumer writing one result per message to a KV bucket shaped like qw's
 * results bucket (the limit of a worker that stores results). Plus the stream
 * plumbing both the references and the qw runs use.
 *
 * @module
 */

import { Kvm } from "@nats-io/kv";
import { createInbox, headers } from "@nats-io/nats-core";
import { type Client, createRawConsumer, createStreams, job, publishAll, sleep } from "./_harness.ts";

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
export async function prepare(c: Client, stream: string, count: number, task = "noop"): Promise<void> {
  await createStreams(c.jsm, stream);
  await publishAll(c.js, Array.from({ length: count }, (_, i) => job(stream, task, `${stream}-${i}`, [])), {
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

/** The raw limit: a plain pull consumer acking each message as it arrives. Jobs per second. */
export async function raw(c: Client, stream: string, n: number): Promise<number> {
  await prepare(c, stream, n);
  try {
    await createRawConsumer(c.jsm, stream, "raw");
    const it = await (await c.js.consumers.get(stream, "raw")).consume({ max_messages: 1000 });
    let first = 0;
    let done = 0;
    for await (const m of it) {
      if (done === 0) first = Date.now();
      m.ack();
      if (++done === n) break;
    }
    await c.nc.flush();
    return n / ((await emptyAt(c, stream) - first) / 1000);
  } finally {
    await dropStream(c, stream);
  }
}

/** How the raw-with-results reference writes: KV creates on the wire, or the client's `kv.create()`. */
export type ResultWrites = "wire" | "kv";

/**
 * The limit with results: the raw consumer acking each message as it
 * arrives, plus one KV create per message of a result record of qw's size
 * into `qw_<stream>_results` (history 1, qw's default TTL), pipelined with up
 * to RESULT_WINDOW writes in flight. `wire` sends each create as the KV
 * client does (a publish to `$KV.<bucket>.<key>` expecting last subject
 * sequence 0) with one reply subscription for all of them, so the client
 * costs no timer and no request per write: the physical limit. `kv` calls
 * `kv.create()`, which pays a request with its own timeout per write. A run
 * ends when the stream is empty and every write is confirmed. Jobs per second.
 */
export async function rawWithResults(c: Client, stream: string, n: number, via: ResultWrites): Promise<number> {
  await prepare(c, stream, n);
  const bucket = `qw_${stream}_results`;
  const inbox = createInbox();
  const waiting = new Map<string, (error: string | null) => void>();
  const sub = c.nc.subscribe(`${inbox}.*`, {
    callback: (_e, msg) => {
      const done = waiting.get(msg.subject);
      waiting.delete(msg.subject);
      const text = msg.string();
      done?.(text.includes('"error"') ? text : null);
    },
  });
  try {
    await createRawConsumer(c.jsm, stream, "raw");
    const kv = await new Kvm(c.nc).create(bucket, { ttl: RESULT_TTL_S * 1000, history: 1 });
    let sent = 0;
    const onWire = (key: string, data: string): Promise<void> => {
      const h = headers();
      h.set("Nats-Expected-Last-Subject-Sequence", "0");
      const reply = `${inbox}.${++sent}`;
      const p = new Promise<void>((resolve, reject) =>
        waiting.set(reply, (e) => e === null ? resolve() : reject(new Error(e)))
      );
      c.nc.publish(`$KV.${bucket}.${key}`, data, { reply, headers: h });
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
      (via === "wire" ? onWire(id, data) : kv.create(id, data)).then(settled, (e) => {
        failure ??= e;
        settled();
      });
      if (++done === n) break;
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    await c.nc.flush();
    const end = Math.max(await emptyAt(c, stream), lastWrite);
    return n / ((end - first) / 1000);
  } finally {
    sub.unsubscribe();
    await dropStream(c, stream);
  }
}
