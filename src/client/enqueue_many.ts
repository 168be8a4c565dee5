/**
 * Many jobs at once: `client.enqueueMany()` checks them all first (a bad one
 * publishes nothing), then publishes them in atomic batches of up to 1,000
 * where the server and the stream allow it (ADR-50, nats-server 2.12+, stream
 * `allow_atomic`), else one by one, pipelined. The worker publishes a group's
 * members with the same {@linkcode publishMany}. A batch keeps each member's
 * `Nats-Msg-Id`, so the dedup of producer.ts holds: a member stored already
 * fails the whole batch (nothing of it stored), and that batch is then sent
 * one by one, which stores only what is missing and reports the rest as
 * duplicates, as a single enqueue does. The decisions are core/job/atomic_batch.ts.
 *
 * @module
 */

import { type ApiError, type JetStreamClient, JetStreamApiError } from "@nats-io/jetstream";
import { headers as makeHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { BatchCode, batchHeaders, batchSequences, type FanoutMode, fanoutMode, splitBatches } from "../core/job/atomic_batch.ts";
import { serverFeatures } from "../core/server_features.ts";
import type { EnqueueReceipt, TaskArgs, TaskName } from "./client_types.ts";
import { type EnqueueOptions, prepareJob } from "./prepare_job.ts";
import { endSend, startSendMany } from "./trace_context.ts";
import { encodeJob, type EncodedJob, Header, type OutgoingJob, publishJob } from "./producer.ts";
import { apiCode } from "./server_errors.ts";
import type { StreamCapsProbe } from "./stream_caps.ts";
import type { DelayHolder } from "../core/job/delay_hold.ts";
import { messageTtlSeconds } from "../core/job/expiry.ts";

/** One job of `enqueueMany()`: its task, args and options, as `enqueue(task, args, options)` takes them. */
// deno-lint-ignore no-explicit-any
export type ManyJob<T = any> = {
  [K in TaskName<T>]: { task: K; args: TaskArgs<T, K>; options?: EnqueueOptions };
}[TaskName<T>];

/** Options of `enqueueMany()`. */
export interface EnqueueManyOptions {
  /** Called as jobs are stored, with how many are stored so far and how many there are. */
  onProgress?: (done: number, total: number) => void;
}

/** Publishes many jobs of one client, as its stream takes them (atomic batches, TTLs, delays: client/stream_caps.ts). */
export class ManyPublisher {
  constructor(
    private readonly c: { nc: NatsConnection; js: JetStreamClient; stream: string; caps: StreamCapsProbe },
  ) {}

  /** Check every job, then publish them all; resolves to a receipt per job, in order. */
  async send(jobs: readonly ManyJob[], options: EnqueueManyOptions = {}): Promise<EnqueueReceipt[]> {
    if (!Array.isArray(jobs)) throw new TypeError(`Cannot enqueue jobs as 'jobs' must be an array: current value is ${JSON.stringify(String(jobs))}`);
    const now = Date.now();
    const prepared = jobs.map((j, i) => {
      try {
        if (j === null || typeof j !== "object") throw new TypeError("Cannot enqueue job as it must be an object with 'task' and 'args'");
        if (j.options?.unique !== undefined) throw new TypeError("Cannot enqueue job with 'unique' among many: use enqueue()");
        return prepareJob(j.task, j.args, j.options, now);
      } catch (e) {
        const Kind = e instanceof RangeError ? RangeError : TypeError;
        throw new Kind(`${(e as Error).message} (job ${i + 1} of ${jobs.length})`);
      }
    });
    if (prepared.length === 0) return [];
    // One send span for them all, its context in every job (README "Traces"): before the first await.
    const span = startSendMany(this.c.stream, prepared);
    try {
      return await this.#publish(prepared, options, now).then((r) => (endSend(span), r));
    } catch (e) {
      endSend(span, e);
      throw e;
    }
  }

  async #publish(prepared: OutgoingJob[], options: EnqueueManyOptions, now: number): Promise<EnqueueReceipt[]> {
    const caps = await this.c.caps();
    for (const job of prepared) if (caps.messageTtl && job.expiresAt != null) job.ttl = messageTtlSeconds(job.expiresAt, now);
    const atomicBatch = serverFeatures(this.c.nc.info?.version).atomicBatch && prepared.length > 1;
    const mode = fanoutMode({ atomicBatch, allowAtomic: caps.atomic, count: prepared.length });
    const onProgress = options.onProgress;
    const acks = await publishMany(this.c, prepared, {
      mode,
      now,
      delays: caps.delays,
      onProgress: onProgress && ((done) => onProgress(done, prepared.length)),
    });
    return prepared.map((job, i) => ({
      id: job.id,
      seq: acks[i].seq,
      duplicate: acks[i].duplicate,
      delayed: job.etaMs !== null && job.etaMs > now,
    }));
  }
}

/** What the server said about one job of many. */
export interface PublishedJob {
  seq: number;
  duplicate: boolean;
}

/** Where jobs go: the connection (for the members of a batch, which get no reply), its JetStream client and the work stream. */
export interface PublishTarget {
  nc: NatsConnection;
  js: JetStreamClient;
  stream: string;
}

/** Options of {@linkcode publishMany}. */
export interface PublishManyOptions {
  /** Atomic batches, or one by one (see core/job/atomic_batch.ts `fanoutMode`). */
  mode: FanoutMode;
  /** Publishes in flight at once when one by one. @default 1000 */
  window?: number;
  /** Called with the number of jobs stored so far. */
  onProgress?: (done: number) => void;
  /** The time the etas are read against. @default Date.now() */
  now?: number;
  /** Who holds delayed jobs (see core/job/delay_hold.ts). @default "qw" */
  delays?: DelayHolder;
}

/** How long the commit of a batch may take to be acked. */
const COMMIT_TIMEOUT_MS = 30_000;

/**
 * Publish `jobs` in order; resolves to what the server said of each, in the
 * same order. Throws the first error; with one-by-one publishes, jobs before
 * it may be stored, while an atomic batch that fails stores none of its members.
 */
export async function publishMany(
  to: PublishTarget,
  jobs: readonly OutgoingJob[],
  o: PublishManyOptions,
): Promise<PublishedJob[]> {
  const { js, stream } = to;
  const now = o.now ?? Date.now();
  const out: PublishedJob[] = new Array(jobs.length);
  let done = 0;
  const stored = (n: number) => o.onProgress?.(done += n);
  let atomic = o.mode === "atomic";
  for (const [start, end] of atomic ? splitBatches(jobs.length) : [[0, jobs.length]]) {
    const part = jobs.slice(start, end);
    if (atomic && part.length > 1) {
      try {
        const acks = await publishBatchRetrying(to, part.map((j) => encodeJob(stream, j, now, { delays: o.delays })));
        acks.forEach((a, i) => (out[start + i] = a));
        stored(part.length);
        continue;
      } catch (e) {
        const code = apiCode(e);
        // The stream lost `allow_atomic`: one by one from here on.
        if (code === BatchCode.Disabled) atomic = false;
        else if (code !== BatchCode.ContainsDuplicate) throw batchFailed(e, start, end, jobs.length);
      }
    }
    const acks = await publishPipelined(js, stream, part, { window: o.window ?? 1000, now, stored, delays: o.delays });
    acks.forEach((a, i) => (out[start + i] = a));
  }
  return out;
}

/** How often a batch is sent again when the server has too many batches open, and the first pause (doubled each time). */
const INFLIGHT_RETRIES = 5;
const INFLIGHT_PAUSE_MS = 50;

/** {@linkcode publishBatch}, sent again after a pause while the server has too many batches open (nothing was stored). */
async function publishBatchRetrying(to: PublishTarget, batch: readonly EncodedJob[]): Promise<PublishedJob[]> {
  for (let attempt = 0;; attempt++) {
    try {
      return await publishBatch(to, batch);
    } catch (e) {
      if (apiCode(e) !== BatchCode.TooManyInflight || attempt >= INFLIGHT_RETRIES) throw e;
      await new Promise((r) => setTimeout(r, INFLIGHT_PAUSE_MS * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

/**
 * One atomic batch: the first member as a request, as only its reply says
 * whether the server opened the batch (too many open, no `allow_atomic`);
 * the middle ones without a reply (the server answers only the commit); the
 * last with `Nats-Batch-Commit`. The connection keeps them in order. Resolves
 * to each member's sequence once the commit is acked.
 */
export async function publishBatch(to: PublishTarget, batch: readonly EncodedJob[]): Promise<PublishedJob[]> {
  const { nc, js } = to;
  const id = crypto.randomUUID();
  const last = batch.length - 1;
  const opened = await nc.request(batch[0].subject, batch[0].data, { headers: headersOf(batch[0], id, 0, batch.length), timeout: COMMIT_TIMEOUT_MS });
  // A stored member is answered with an empty message; a refusal with the API error.
  if (opened.data.length > 0) {
    const r = opened.json<{ error?: ApiError }>();
    if (r.error) throw new JetStreamApiError(r.error);
  }
  for (let i = 1; i < last; i++) nc.publish(batch[i].subject, batch[i].data, { headers: headersOf(batch[i], id, i, batch.length) });
  const m = batch[last];
  const ack = await js.publish(m.subject, m.data, { headers: headersOf(m, id, last, batch.length), timeout: COMMIT_TIMEOUT_MS });
  return batchSequences(ack.seq, batch.length).map((seq) => ({ seq, duplicate: false }));
}

/** A batch the server refused: which jobs, and that none of them is stored (the batches before it are). */
function batchFailed(e: unknown, start: number, end: number, total: number): Error {
  const why = e instanceof Error ? e.message : String(e);
  const before = start === 0 ? "" : `; jobs 1 to ${start} were stored`;
  return new Error(`Cannot enqueue jobs ${start + 1} to ${end} of ${total} as an atomic batch: ${why} (none of them was stored${before})`, { cause: e });
}

function headersOf(m: EncodedJob, batchId: string, index: number, size: number): MsgHdrs {
  const h = makeHeaders();
  for (const [k, v] of m.headers) h.set(k, v);
  h.set(Header.msgId, m.msgId);
  for (const [k, v] of batchHeaders(batchId, index, size)) h.set(k, v);
  return h;
}

/** One publish per job, `window` in flight at once; stops at the first error. */
async function publishPipelined(
  js: JetStreamClient,
  stream: string,
  jobs: readonly OutgoingJob[],
  o: { window: number; now: number; stored: (n: number) => void; delays?: DelayHolder },
): Promise<PublishedJob[]> {
  const out: PublishedJob[] = new Array(jobs.length);
  let failure: { e: unknown } | null = null;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < jobs.length && failure === null; i++) {
    if (inFlight.size >= o.window) await Promise.race(inFlight);
    if (failure !== null) break;
    const p: Promise<void> = publishJob(js, stream, jobs[i], o.now, { delays: o.delays }).then(
      (a) => {
        out[i] = a;
        o.stored(1);
      },
      (e) => void (failure ??= { e }),
    ).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  if (failure !== null) throw (failure as { e: unknown }).e;
  return out;
}
