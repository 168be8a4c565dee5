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
import type { SerializedError, TaskState } from "./types.ts";

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

/** KV keys allow `[-/_=.a-zA-Z0-9]`; anything else is escaped as `=XX`. */
export function keyFor(id: string): string {
  return id.replace(/[^-/_.a-zA-Z0-9]/g, (c) =>
    [...new TextEncoder().encode(c)].map((b) => "=" + b.toString(16).padStart(2, "0")).join(""));
}

/** Results in memory, fenced like the KV store. */
export class MemoryResultStore implements ResultStore {
  readonly records = new Map<string, ResultRecord>();
  write(record: ResultRecord): Promise<void> {
    const old = this.records.get(record.id);
    if (!old || !isNewerAttempt(old, record)) this.records.set(record.id, record);
    return Promise.resolve();
  }
  get(id: string): Promise<ResultRecord | null> {
    return Promise.resolve(this.records.get(id) ?? null);
  }
}

/** Results in a NATS KV bucket; compare-and-set on the revision fences stale attempts. */
export class KvResultStore implements ResultStore {
  readonly kv: KV;
  private constructor(kv: KV) {
    this.kv = kv;
  }

  /** Open (or create) the bucket with a TTL in seconds. */
  static async open(nc: NatsConnection, bucket: string, options: { ttl: number }): Promise<KvResultStore> {
    const kv = await new Kvm(nc).create(bucket, { ttl: options.ttl * 1000, history: 1 });
    return new KvResultStore(kv);
  }

  async write(record: ResultRecord): Promise<void> {
    const key = keyFor(record.id);
    const data = encode(record);
    for (let attempt = 0; attempt < 8; attempt++) {
      const cur = attempt === 0 ? null : await this.kv.get(key);
      try {
        if (cur === null || cur.operation !== "PUT") {
          await this.kv.create(key, data);
          return;
        }
        if (isNewerAttempt(cur.json<ResultRecord>(), record)) return;
        await this.kv.update(key, data, cur.revision);
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

function encode(r: ResultRecord): string {
  try {
    return JSON.stringify(r);
  } catch {
    return JSON.stringify({ ...r, result: String(r.result) });
  }
}
