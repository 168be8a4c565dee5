/**
 * A worker's side of `qw_<stream>_stats`: it counts outcomes from its own
 * events in memory (no I/O per job) and rewrites its record with the
 * cumulative counts every few seconds (with the worker record) and once more
 * when it stops. Records of processes gone are folded into one base record
 * (key {@linkcode BASE_KEY}) by the processes that run: the stale record is
 * deleted at the revision read, and only the one that deleted it adds it to
 * the base, with compare-and-set. A process whose own record was folded
 * while it was away (frozen longer than the stale age) notices on its next
 * write (the revision moved) and writes only what it counted since.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import type { QwEvent } from "../../core/events.ts";
import { keyFor } from "../../client/buckets/result_store.ts";
import { listKeys } from "../../client/buckets/buckets.ts";
import {
  BASE_KEY, count, eventOutcome, isStale, mergeStats, type StatCounts, type StatsRecord, subtractCounts,
} from "./stats_record.ts";

/** A record not rewritten for this long belongs to a process that is gone. */
export const STATS_STALE_MS = 60_000;
/** How often a process folds the stale records of others. */
export const FOLD_EVERY_MS = 60_000;

/** The name of the stats bucket of a stream. */
export const statsBucket = (stream: string): string => `qw_${stream}_stats`;

/** Open (or create) the stats bucket: no TTL, one value per key. */
export async function openStats(nc: NatsConnection, stream: string): Promise<KV> {
  return await new Kvm(nc).create(statsBucket(stream), { history: 1 });
}

/** Counts this process's outcomes and keeps its record in the stats bucket. */
export class StatsWriter {
  /** Pass to `Emitter.on`. */
  readonly listener = (e: QwEvent): void => {
    const o = eventOutcome(e, this.#stream);
    if (o !== null) count(this.#record, o.task, o.outcome, this.#now());
  };
  #kv: KV;
  #key: string;
  #stream: string;
  #now: () => number;
  #record: StatsRecord;
  /** What was folded away of this process's counts: subtracted from every write. */
  #folded: Record<string, StatCounts> = {};
  #written: { revision: number; tasks: Record<string, StatCounts> } | null = null;
  #lastFold = 0;
  #busy: Promise<void> = Promise.resolve();

  constructor(kv: KV, o: { stream: string; name: string; now?: () => number }) {
    this.#kv = kv;
    this.#stream = o.stream;
    this.#key = keyFor(o.name);
    this.#now = o.now ?? Date.now;
    this.#record = { name: o.name, at: this.#now(), tasks: {}, slots: [] };
  }

  /** Write the record (and, once a minute, fold the records of processes gone). One at a time; throws on a server error. */
  flush(): Promise<void> {
    const next = this.#busy.then(() => this.#write());
    this.#busy = next.catch(() => {});
    return next;
  }

  async #write(): Promise<void> {
    const now = this.#now();
    const tasks = subtractCounts(this.#record.tasks, this.#folded);
    const data = JSON.stringify({ ...this.#record, at: now, tasks });
    try {
      const revision = this.#written === null
        ? await this.#kv.create(this.#key, data)
        : await this.#kv.update(this.#key, data, this.#written.revision);
      this.#written = { revision, tasks };
    } catch (e) {
      if (!/wrong last sequence|exists/i.test(String((e as Error).message))) throw e;
      // Folded by another process while this one was away: what it last wrote is in the base now.
      if (this.#written !== null) this.#folded = addCounts(this.#folded, this.#written.tasks, now);
      this.#written = null;
      // A record under this name that this process did not write: its predecessor's (a restart with a fixed
      // --name). Its counts go to the base before this process's own record replaces it.
      const cur = await this.#kv.get(this.#key);
      if (cur !== null && cur.operation === "PUT") {
        await this.#kv.delete(this.#key, { previousSeq: cur.revision });
        await addToBase(this.#kv, cur.json<StatsRecord>(), now);
      }
      const rest = subtractCounts(this.#record.tasks, this.#folded);
      this.#written = { revision: await this.#kv.create(this.#key, JSON.stringify({ ...this.#record, at: now, tasks: rest })), tasks: rest };
    }
    if (now - this.#lastFold >= FOLD_EVERY_MS) {
      this.#lastFold = now;
      await foldStale(this.#kv, now);
    }
  }
}

const addCounts = (a: Record<string, StatCounts>, b: Record<string, StatCounts>, now: number) =>
  mergeStats("", now, [{ name: "", at: now, tasks: a, slots: [] }, { name: "", at: now, tasks: b, slots: [] }]).tasks;

/** Fold every stale process record into the base; resolves to how many were folded. */
export async function foldStale(kv: KV, now: number, staleMs: number = STATS_STALE_MS): Promise<number> {
  let folded = 0;
  for (const key of await listKeys(kv)) {
    if (key === BASE_KEY) continue;
    const e = await kv.get(key);
    if (e === null || e.operation !== "PUT") continue;
    const r = e.json<StatsRecord>();
    if (!isStale(r, now, staleMs)) continue;
    try {
      await kv.delete(key, { previousSeq: e.revision });
    } catch {
      continue; // rewritten or folded by another process meanwhile
    }
    await addToBase(kv, r, now);
    folded++;
  }
  return folded;
}

async function addToBase(kv: KV, r: StatsRecord, now: number): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await kv.get(BASE_KEY);
    const base = cur !== null && cur.operation === "PUT" ? cur.json<StatsRecord>() : null;
    const data = JSON.stringify(mergeStats("base", now, base === null ? [r] : [base, r]));
    try {
      if (cur === null) await kv.create(BASE_KEY, data);
      else await kv.update(BASE_KEY, data, cur.revision);
      return;
    } catch (e) {
      if (!/wrong last sequence|exists/i.test(String((e as Error).message))) throw e;
    }
  }
  throw new Error(`Cannot fold the counts of '${r.name}' into '${BASE_KEY}': the key kept changing`);
}
