/**
 * The producer's side of unique jobs and debounce (core/job/unique.ts):
 * claim a unique key before publishing, record the latest job of a debounced
 * key where qw holds the delay, and release a key when a job ends for good
 * (the worker's settlement calls {@linkcode releaseUnique}).
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { Header, type OutgoingJob } from "./producer.ts";
import { openBucket } from "./buckets/buckets.ts";
import type { EnqueueReceipt } from "./client_types.ts";
import { debounceBucket, parseUniqueRecord, uniqueBucket, type UniqueRecord, uniqueHolder, uniqueKvKey } from "../core/job/unique.ts";
import { publishAsTaken, type StreamCapsProbe } from "./stream_caps.ts";
import { DEFAULT_RESULT_TTL } from "../core/config/config.ts";

/** What a publish through {@linkcode publishUnique} resolves to: the id that holds the key. */
export interface UniqueOutcome<R> {
  /** The job that holds the key: this one, or the one that held it first. */
  id: string;
  /** The publish's answer; null when another job held the key and nothing was published. */
  ack: R | null;
}

/**
 * Opens a bucket of one value per key, creating it (kept `maxAgeS` at most) when missing. One that exists is used
 * as it is: another client (Python, Go) may have created it with other defaults.
 */
export async function openKeyBucket(jsm: JetStreamManager, bucket: string, maxAgeS: number): Promise<KV> {
  const found = await openBucket(jsm, bucket);
  if (found) return found;
  try {
    return await new Kvm(jsm.jetstream()).create(bucket, { history: 1, ttl: maxAgeS * 1000 });
  } catch (e) {
    // Another producer created it first.
    const raced = await openBucket(jsm, bucket);
    if (raced) return raced;
    throw e;
  }
}

/** The unique key of a job, from its headers; undefined when it has none. */
export const uniqueKeyOf = (job: OutgoingJob): string | undefined => job.headers?.[Header.unique];

const CLAIM_TRIES = 5;

/**
 * Publish `job` unless another job of its task holds its unique key: create
 * the key (atomic on the server: of producers racing, one creates it), publish,
 * then mark the record published. A key held by a job that is over (its
 * result is final) or by a producer that died before publishing is taken over.
 * A failed publish gives the key back.
 */
export async function publishUnique<R>(
  kv: KV,
  job: OutgoingJob,
  o: { key: string; now: () => number; resultState: (id: string) => Promise<string | null>; publish: () => Promise<R> },
): Promise<UniqueOutcome<R>> {
  const kvKey = uniqueKvKey(job.task, o.key);
  for (let i = 0; i < CLAIM_TRIES; i++) {
    const record: UniqueRecord = { id: job.id, at: o.now(), published: false };
    let revision: number;
    try {
      revision = await kv.create(kvKey, JSON.stringify(record));
    } catch {
      const e = await kv.get(kvKey);
      if (e === null || e.operation !== "PUT") continue;
      const held = parseUniqueRecord(e.string());
      // The same job enqueued again (a retried call): publish it again, the stream's dedup keeps one.
      if (held?.id === job.id) return { id: job.id, ack: await o.publish() };
      const state = held === null ? null : await o.resultState(held.id);
      if (uniqueHolder(held, state, o.now()) === "held") return { id: held!.id, ack: null };
      await kv.delete(kvKey, { previousSeq: e.revision }).catch(() => {});
      continue;
    }
    let ack: R;
    try {
      ack = await o.publish();
    } catch (err) {
      await kv.delete(kvKey, { previousSeq: revision }).catch(() => {});
      throw err;
    }
    await kv.update(kvKey, JSON.stringify({ ...record, published: true }), revision).catch(() => {});
    return { id: job.id, ack };
  }
  throw new Error(`Cannot enqueue job as unique key '${o.key}' of task '${job.task}' changed hands ${CLAIM_TRIES} times: try again`);
}

/**
 * Release the key of a job that ended for good, if it still holds it (a
 * newer job that took the key over keeps it). Resolves when done.
 */
export async function releaseUnique(kv: KV, task: string, key: string, id: string): Promise<void> {
  const kvKey = uniqueKvKey(task, key);
  const e = await kv.get(kvKey);
  if (e === null || e.operation !== "PUT") return;
  const held = parseUniqueRecord(e.string());
  if (held !== null && held.id !== id) return;
  await kv.delete(kvKey, { previousSeq: e.revision });
}

/** What {@linkcode UniqueJobs} publishes with. */
export interface UniqueJobsOptions {
  jsm: JetStreamManager;
  js: JetStreamClient;
  stream: string;
  caps: StreamCapsProbe;
  /** The state of a job's record (`PENDING` when none). */
  resultState: (id: string) => Promise<string>;
}

/**
 * How the client publishes a job that has a unique key: claimed first, or,
 * debounced, as a schedule that replaces the waiting one (held by the server)
 * or recorded as its key's latest job (held by qw). Other jobs go straight out.
 */
export class UniqueJobs {
  #o: UniqueJobsOptions;
  #unique: Promise<KV> | null = null;
  #debounce: Promise<KV> | null = null;

  constructor(o: UniqueJobsOptions) {
    this.#o = o;
  }

  /** Publish `job` as {@linkcode publish} does; resolves to its receipt (with `heldBy` when nothing was published). */
  async send(job: OutgoingJob, now: number): Promise<EnqueueReceipt> {
    const r = await this.publish(job, now);
    const receipt = { id: r.id, seq: r.ack?.seq ?? 0, duplicate: r.ack?.duplicate ?? true, delayed: job.etaMs !== null && job.etaMs > now };
    return r.ack === null ? { ...receipt, heldBy: r.id } : receipt;
  }

  /** Publish `job` as its key says; resolves to the id that holds the key and the publish's answer (null: none). */
  async publish(job: OutgoingJob, now: number): Promise<UniqueOutcome<{ seq: number; duplicate: boolean }>> {
    const { js, stream, caps, jsm } = this.#o;
    const send = () => publishAsTaken(js, stream, job, { now, caps });
    const key = uniqueKeyOf(job);
    if (key === undefined) return { id: job.id, ack: await send() };
    if (job.headers?.[Header.debounce] !== undefined) {
      if ((await caps()).delays === "qw") {
        this.#debounce ??= openKeyBucket(jsm, debounceBucket(stream), DEFAULT_RESULT_TTL).catch((e) => {
          this.#debounce = null;
          throw e;
        });
        await (await this.#debounce).put(uniqueKvKey(job.task, key), job.id);
      }
      return { id: job.id, ack: await send() };
    }
    this.#unique ??= openKeyBucket(jsm, uniqueBucket(stream), DEFAULT_RESULT_TTL).catch((e) => {
      this.#unique = null;
      throw e;
    });
    return await publishUnique(await this.#unique, job, { key, now: Date.now, resultState: this.#o.resultState, publish: send });
  }
}
