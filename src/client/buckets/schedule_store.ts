/**
 * Where schedules live between processes: one record per schedule in the KV
 * bucket `qw_<stream>_schedules`, with its spec (so `qw schedule ls` needs no
 * tasks file) and the last tick any process fired. Every write is a
 * compare-and-set on the key's revision, and the last tick only moves
 * forward, so processes that fire the same tick at once agree on the record.
 * An in-memory store with the same rules serves tests and embedders.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import type { CatchUp, ScheduleSpec } from "../../core/types.ts";
import { keyFor } from "./result_store.ts";
import { listKeys } from "./buckets.ts";

/** One schedule as stored. */
export interface ScheduleRecord {
  task: string;
  index: number;
  every: number | null;
  cron: string | null;
  tz: string;
  args: unknown[];
  catchUp: CatchUp;
  /** The last tick fired, as an ISO time; null if the schedule never fired. */
  lastTick: string | null;
}

/** The schedules of one stream: their specs and last fired ticks. */
export interface ScheduleStore {
  /** Store the spec of a schedule, keeping its last tick; resolves with the record as stored. */
  register(task: string, index: number, spec: ScheduleSpec): Promise<ScheduleRecord>;
  /** The last tick fired (epoch ms), or null. */
  lastTick(task: string, index: number): Promise<number | null>;
  /** Record `tick` as fired, unless a later tick is recorded already. */
  markFired(task: string, index: number, tick: number): Promise<void>;
  /** Every stored schedule. */
  list(): Promise<ScheduleRecord[]>;
}

/** The KV key of a schedule: task names never contain ".", so `<task>.<index>` is unique. */
export const scheduleKey = (task: string, index: number): string => keyFor(`${task}.${index}`);

const tickOf = (r: ScheduleRecord | null): number | null => (r?.lastTick ? Date.parse(r.lastTick) : null);

/** The record with this spec; null when `old` already has it (nothing to write). Pure. */
export function withSpec(old: ScheduleRecord | null, task: string, index: number, spec: ScheduleSpec): ScheduleRecord | null {
  const rec: ScheduleRecord = {
    task,
    index,
    every: spec.every,
    cron: spec.cron,
    tz: spec.tz,
    args: spec.args,
    catchUp: spec.catchUp,
    lastTick: old?.lastTick ?? null,
  };
  return old !== null && JSON.stringify(old) === JSON.stringify(rec) ? null : rec;
}

/** The record with `tick` as its last tick; null when it has that tick or a later one. Pure. */
export function withTick(old: ScheduleRecord | null, task: string, index: number, tick: number): ScheduleRecord | null {
  const last = tickOf(old);
  if (last !== null && last >= tick) return null;
  const base: ScheduleRecord = old ?? { task, index, every: null, cron: null, tz: "UTC", args: [], catchUp: "latest", lastTick: null };
  return { ...base, lastTick: new Date(tick).toISOString() };
}

/** Schedules in memory, with the same rules as the KV store. */
export class MemoryScheduleStore implements ScheduleStore {
  readonly records = new Map<string, ScheduleRecord>();
  register(task: string, index: number, spec: ScheduleSpec): Promise<ScheduleRecord> {
    const key = scheduleKey(task, index);
    const next = withSpec(this.records.get(key) ?? null, task, index, spec);
    if (next) this.records.set(key, next);
    return Promise.resolve(this.records.get(key)!);
  }
  lastTick(task: string, index: number): Promise<number | null> {
    return Promise.resolve(tickOf(this.records.get(scheduleKey(task, index)) ?? null));
  }
  markFired(task: string, index: number, tick: number): Promise<void> {
    const key = scheduleKey(task, index);
    const next = withTick(this.records.get(key) ?? null, task, index, tick);
    if (next) this.records.set(key, next);
    return Promise.resolve();
  }
  list(): Promise<ScheduleRecord[]> {
    return Promise.resolve([...this.records.values()]);
  }
}

const conflict = (e: unknown): boolean => /wrong last sequence|exists/i.test(String((e as Error)?.message ?? e));
const live = (e: KvEntry | null): e is KvEntry => e !== null && e.operation === "PUT";

/** Schedules in a NATS KV bucket; every write is a compare-and-set on the key's revision. */
export class KvScheduleStore implements ScheduleStore {
  readonly kv: KV;
  private constructor(kv: KV) {
    this.kv = kv;
  }

  /**
   * Open the bucket, creating it when missing (history 1, no TTL). With `timeoutMs`, its reads and writes give up
   * after that long (the set-up's requests keep the connection's timeout).
   */
  static async open(nc: NatsConnection, bucket: string, o: { timeoutMs?: number } = {}): Promise<KvScheduleStore> {
    const kv = await new Kvm(nc).create(bucket, { history: 1 });
    if (o.timeoutMs === undefined) return new KvScheduleStore(kv);
    const direct = (await kv.status()).streamInfo.config.allow_direct ?? false;
    return new KvScheduleStore(await new Kvm(jetstream(nc, { timeout: o.timeoutMs })).open(bucket, { allow_direct: direct }));
  }

  /** Use an open bucket, e.g. one a reader found. */
  static of(kv: KV): KvScheduleStore {
    return new KvScheduleStore(kv);
  }

  async register(task: string, index: number, spec: ScheduleSpec): Promise<ScheduleRecord> {
    return await this.#change(task, index, (old) => withSpec(old, task, index, spec));
  }

  async lastTick(task: string, index: number): Promise<number | null> {
    const e = await this.kv.get(scheduleKey(task, index));
    return live(e) ? tickOf(e.json<ScheduleRecord>()) : null;
  }

  async markFired(task: string, index: number, tick: number): Promise<void> {
    await this.#change(task, index, (old) => withTick(old, task, index, tick));
  }

  async list(): Promise<ScheduleRecord[]> {
    const out: ScheduleRecord[] = [];
    for (const k of (await listKeys(this.kv)).sort()) {
      const e = await this.kv.get(k);
      if (live(e)) out.push(e.json<ScheduleRecord>());
    }
    return out;
  }

  /** Read, compute, write with the revision read; on a conflict read again. Resolves with the record as stored. */
  async #change(task: string, index: number, next: (old: ScheduleRecord | null) => ScheduleRecord | null): Promise<ScheduleRecord> {
    const key = scheduleKey(task, index);
    for (let attempt = 0; attempt < 8; attempt++) {
      const e = await this.kv.get(key);
      const old = live(e) ? e.json<ScheduleRecord>() : null;
      const rec = next(old);
      if (rec === null) return old!;
      try {
        if (e === null) await this.kv.create(key, JSON.stringify(rec));
        else await this.kv.update(key, JSON.stringify(rec), e.revision);
        return rec;
      } catch (err) {
        // Another process wrote in between: read again and decide again.
        if (!conflict(err)) throw err;
      }
    }
    throw new Error(`Cannot update schedule '${task}@${index}': the key kept changing`);
  }
}
