/**
 * Where results go: the `ResultStore` interface, a NATS KV implementation
 * (one bucket per stream, with a TTL) and an in-memory one for tests and
 * embedders. Writes are fenced: an older attempt never overwrites the record
 * of a newer one. Never acks.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import { KeyExistsError, PipelinedCreate } from "../_pipelined_create.ts";
import { isFinalState, type Progress, type SerializedError, type TaskState } from "../../core/types.ts";

/** One stored result. */
export interface ResultRecord {
  id: string;
  task: string;
  state: TaskState;
  result?: unknown;
  error?: SerializedError;
  /** Retries before the attempt that wrote this. */
  retries: number;
  /** Delivery count of the attempt that wrote this. */
  deliveryCount: number;
  worker: string;
  /** Epoch milliseconds. */
  finishedAt: number;
  /** Why the job was dead-lettered, when it was (see `qw dlq ls`). */
  deadLetter?: string;
  /** With state REVOKED: why, when it was not a revoke (`expired`: not started by its expiry). */
  reason?: string;
  /** With state PROGRESS: what the task reported last. */
  progress?: Progress;
  /** When the attempt that wrote this started (epoch ms); 0 or absent when it never started. */
  startedAt?: number;
  /** The earlier attempts of the job, oldest first (at most {@linkcode MAX_ATTEMPTS}); carried by each later write. */
  attempts?: Attempt[];
  /** With state FAILURE: the job's message, so it can be enqueued again (absent when larger than 64 KiB). */
  job?: { subject: string; body: string; headers: [string, string][] };
}

/** One earlier attempt of a job, as its record said when the next attempt replaced it. */
export type Attempt = Pick<ResultRecord, "state" | "retries" | "deliveryCount" | "worker" | "finishedAt" | "startedAt" | "error" | "reason">;

/** How many earlier attempts a record keeps: the latest. */
export const MAX_ATTEMPTS = 20;

/**
 * `record` as stored over `old`: the attempts `old` carried, plus `old` itself
 * when it was another attempt (the attempts are recorded only where a record
 * is replaced, which reads the old one anyway: no round trip more). Pure.
 */
export function withAttempts(record: ResultRecord, old: ResultRecord | null): ResultRecord {
  if (old === null) return record;
  const attempts = [...(old.attempts ?? [])];
  if (old.retries !== record.retries || old.deliveryCount !== record.deliveryCount) {
    const { state, retries, deliveryCount, worker, finishedAt, startedAt, error, reason } = old;
    attempts.push(JSON.parse(JSON.stringify({ state, retries, deliveryCount, worker, finishedAt, startedAt, error, reason })));
  }
  return attempts.length === 0 ? record : { ...record, attempts: attempts.slice(-MAX_ATTEMPTS) };
}

/** Reads and fenced writes of results by task id. */
export interface ResultStore {
  write(record: ResultRecord): Promise<void>;
  get(id: string): Promise<ResultRecord | null>;
}

/** True when `a` comes from a later attempt than `b`: more retries, or the same and a later delivery. */
export function isNewerAttempt(a: Pick<ResultRecord, "retries" | "deliveryCount">, b: typeof a): boolean {
  return a.retries > b.retries || (a.retries === b.retries && a.deliveryCount > b.deliveryCount);
}

/**
 * True when `record` may replace `old`: it is not from an older attempt, and
 * within one attempt a STARTED or PROGRESS never replaces a final state (nor
 * STARTED a PROGRESS). Pure.
 */
export function supersedes(record: ResultRecord, old: ResultRecord): boolean {
  if (isNewerAttempt(old, record)) return false;
  const same = old.retries === record.retries && old.deliveryCount === record.deliveryCount;
  if (!same) return true;
  if (isFinalState(old.state)) return isFinalState(record.state);
  return !(record.state === "STARTED" && old.state === "PROGRESS");
}

const PLAIN_KEY = /^[-/_a-zA-Z0-9]+(\.[-/_a-zA-Z0-9]+)*$/;

/**
 * The KV key of a task id. KV keys allow `[-/_=.a-zA-Z0-9]`, but may not
 * start or end with "." nor contain "..". Every other character, "=" itself,
 * and each "." that is first, last or next to another "." is escaped as `=XX`
 * per UTF-8 byte (a lone surrogate as its 3-byte generalized UTF-8 form), so
 * the mapping is one-to-one and a non-empty id always gives a valid key. An id
 * that is already a valid key without "=" is its own key. Pure.
 */
export function keyFor(id: string): string {
  // Most ids (UUIDs, caller ids) are keys already: one test instead of a walk per character.
  if (PLAIN_KEY.test(id)) return id;
  // The UTF-8 bytes of one code point; of a surrogate too (generalized UTF-8), unlike TextEncoder.
  const utf8 = (cp: number): number[] =>
    cp < 0x80 ? [cp]
    : cp < 0x800 ? [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)]
    : cp < 0x10000 ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
    : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  const chars = [...id]; // code points; a lone surrogate stays one
  return chars.map((c, i) => {
    if (c === ".") {
      const edge = i === 0 || i === chars.length - 1 || chars[i - 1] === "." || chars[i + 1] === ".";
      return edge ? "=2e" : c;
    }
    if (/^[-/_a-zA-Z0-9]$/.test(c)) return c;
    return utf8(c.codePointAt(0)!).map((b) => "=" + b.toString(16).padStart(2, "0")).join("");
  }).join("");
}

/** Results in memory, fenced like the KV store. */
export class MemoryResultStore implements ResultStore {
  readonly records = new Map<string, ResultRecord>();
  write(record: ResultRecord): Promise<void> {
    const old = this.records.get(record.id);
    if (!old || supersedes(record, old)) this.records.set(record.id, withAttempts(record, old ?? null));
    return Promise.resolve();
  }
  get(id: string): Promise<ResultRecord | null> {
    return Promise.resolve(this.records.get(id) ?? null);
  }
}

/** Results in a NATS KV bucket; compare-and-set on the revision fences stale attempts. */
export class KvResultStore implements ResultStore {
  readonly kv: KV;
  #creates: PipelinedCreate;
  private constructor(kv: KV, creates: PipelinedCreate) {
    this.kv = kv;
    this.#creates = creates;
  }

  /** Open (or create) the bucket with a TTL in seconds. */
  static async open(nc: NatsConnection, bucket: string, options: { ttl: number }): Promise<KvResultStore> {
    const kv = await new Kvm(nc).create(bucket, { ttl: options.ttl * 1000, history: 1 });
    return new KvResultStore(kv, new PipelinedCreate(nc, bucket));
  }

  /**
   * Store a record, fenced. The common case (no record yet for this id) is one
   * pipelined create and no read; only when the key exists is it read, and
   * replaced with compare-and-set if the fence allows.
   */
  async write(record: ResultRecord): Promise<void> {
    const key = keyFor(record.id);
    try {
      await this.#creates.create(key, encodeResult(record));
      return;
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
    }
    for (let attempt = 0; attempt < 8; attempt++) {
      const cur = await this.kv.get(key);
      try {
        if (cur === null || cur.operation !== "PUT") {
          await this.kv.create(key, encodeResult(record));
          return;
        }
        const old = cur.json<ResultRecord>();
        if (!supersedes(record, old)) return;
        await this.kv.update(key, encodeResult(withAttempts(record, old)), cur.revision);
        return;
      } catch (e) {
        // Someone wrote in between: read again and re-check the fence.
        if (!/wrong last sequence|exists/i.test(String((e as Error).message))) throw e;
      }
    }
    throw new Error(`Cannot store the result of '${record.id}': the key kept changing`);
  }

  async get(id: string): Promise<ResultRecord | null> {
    const e = await this.kv.get(keyFor(id));
    return e && e.operation === "PUT" ? e.json<ResultRecord>() : null;
  }
}

/** A record as the bucket stores it: JSON, or with `result` as a string when it is not JSON. Pure. */
export function encodeResult(r: ResultRecord): string {
  try {
    return JSON.stringify(r);
  } catch {
    return JSON.stringify({ ...r, result: String(r.result) });
  }
}
