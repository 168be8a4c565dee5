/**
 * Workers that can be seen: every qw process keeps a record in the KV bucket
 * `qw_<stream>_workers`, refreshed every 5 s; the bucket's TTL (15 s) removes
 * the record of a process that was killed, and a clean stop deletes its own.
 * `qw inspect` and the dashboard read them.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import type { QwEvent } from "../core/events.ts";
import { keyFor } from "../client/result_store.ts";

/** Seconds between refreshes of a worker record. */
export const PRESENCE_EVERY_S = 5;
/** Seconds a worker record lives without a refresh. */
export const PRESENCE_TTL_S = 15;

/** What a running qw process says about itself. */
export interface WorkerRecord {
  name: string;
  host: string;
  pid: number;
  version: string;
  concurrency: number;
  /** Web Workers ready to run jobs. */
  ready: number;
  /** ISO 8601. */
  startedAt: string;
  /** Jobs since start, by how they ended. */
  done: number;
  failed: number;
  retried: number;
  /** Ids of the jobs running now. */
  running: string[];
  /** Shutting down: takes no new jobs. */
  draining: boolean;
  /** When this record was written (ISO 8601). */
  at: string;
  /** The same counts per task name; absent in records of older versions. */
  tasks?: Record<string, TaskCounts>;
}

/** What one worker process did and does for one task. */
export interface TaskCounts {
  done: number;
  failed: number;
  retried: number;
  /** Jobs of this task running now. */
  running: number;
  /** Of those, the ones not acked yet (acksLate): still stored in the work stream. */
  unacked: number;
}

/** Counts of settled jobs from events, in total and per task. Pure. */
export class JobCounts {
  done = 0;
  failed = 0;
  retried = 0;
  #byTask = new Map<string, { done: number; failed: number; retried: number }>();
  /** Pass to `Emitter.on`. */
  readonly listener = (e: QwEvent): void => {
    const key = e.type === "job.succeeded"
      ? "done"
      : e.type === "job.failed" || e.type === "job.rejected"
      ? "failed"
      : e.type === "job.retry_scheduled"
      ? "retried"
      : null;
    if (key === null || !("task" in e)) return;
    this[key]++;
    const row = this.#byTask.get(e.task) ?? { done: 0, failed: 0, retried: 0 };
    row[key]++;
    this.#byTask.set(e.task, row);
  };

  /** The per-task counts with the jobs running now (`acked` false while still stored in the stream). */
  perTask(running: Iterable<{ task: string; acked: boolean }>): Record<string, TaskCounts> {
    const out: Record<string, TaskCounts> = {};
    const row = (task: string) => (out[task] ??= { done: 0, failed: 0, retried: 0, running: 0, unacked: 0 });
    for (const [task, c] of this.#byTask) Object.assign(row(task), c);
    for (const j of running) {
      row(j.task).running++;
      if (!j.acked) row(j.task).unacked++;
    }
    return out;
  }
}

/** Open (or create) the workers bucket. */
export async function openWorkers(nc: NatsConnection, bucket: string): Promise<KV> {
  return await new Kvm(nc).create(bucket, { ttl: PRESENCE_TTL_S * 1000, history: 1 });
}

/** Every live worker record, sorted by name. */
export async function listWorkers(kv: KV): Promise<WorkerRecord[]> {
  const out: WorkerRecord[] = [];
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (e?.operation === "PUT") out.push(e.json<WorkerRecord>());
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Keeps this process's record fresh until stopped. */
export class Presence {
  #kv: KV;
  #key: string;
  #record: () => WorkerRecord;
  #timer: ReturnType<typeof setInterval> | undefined;
  #onError: (e: unknown) => void;

  constructor(kv: KV, o: { record: () => WorkerRecord; onError: (e: unknown) => void }) {
    this.#kv = kv;
    this.#record = o.record;
    this.#key = keyFor(o.record().name);
    this.#onError = o.onError;
  }

  /** Write the record now, then every 5 s. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), PRESENCE_EVERY_S * 1000);
  }

  /** Write the record now. Never throws. */
  async refresh(): Promise<void> {
    try {
      await this.#kv.put(this.#key, JSON.stringify(this.#record()));
    } catch (e) {
      this.#onError(e);
    }
  }

  /** Stop refreshing and delete the record. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#kv.delete(this.#key).catch(this.#onError);
  }
}
