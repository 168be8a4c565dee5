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
import type { MetricsSnapshot } from "./metrics.ts";
import { keyFor } from "../client/buckets/result_store.ts";
import { listKeys } from "../client/buckets/buckets.ts";

// A worker's counts that survive restarts are written with its record (see Presence's `stats`).
export { openStats, StatsWriter } from "./history/stats_writer.ts";

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
  /** The running jobs with their task and start (epoch ms); absent in records of older versions. */
  jobs?: RunningJob[];
  /** The same counts per task name; absent in records of older versions. */
  tasks?: Record<string, TaskCounts>;
}

/** A job running in a worker process. */
export interface RunningJob {
  id: string;
  task: string;
  /** Epoch ms. */
  startedAt: number;
  deliveryCount: number;
}

/** The `running` ids and `jobs` of a worker record, from the jobs it runs. Pure. */
export function runningJobs(held: { id: string; task: string; startedAt: number; deliveryCount: number }[]): {
  running: string[];
  jobs: RunningJob[];
} {
  return {
    running: held.map((h) => h.id),
    jobs: held.map((h) => ({ id: h.id, task: h.task, startedAt: h.startedAt, deliveryCount: h.deliveryCount })),
  };
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

/**
 * The counts a worker record carries, in total and per task, read off the
 * metrics' `qw_jobs_total{task,outcome}` (which count every settled job
 * already): done = succeeded, failed = failed + rejected, retried = retried;
 * the running jobs come from the caller. Pure.
 */
export function workerCounts(
  jobs: MetricsSnapshot["jobs"],
  running: Iterable<{ task: string; acked: boolean }>,
): { done: number; failed: number; retried: number; tasks: Record<string, TaskCounts> } {
  const tasks: Record<string, TaskCounts> = {};
  const row = (task: string) => (tasks[task] ??= { done: 0, failed: 0, retried: 0, running: 0, unacked: 0 });
  const total = { done: 0, failed: 0, retried: 0 };
  for (const [task, o] of Object.entries(jobs)) {
    const c = { done: o.succeeded ?? 0, failed: (o.failed ?? 0) + (o.rejected ?? 0), retried: o.retried ?? 0 };
    if (c.done + c.failed + c.retried === 0) continue;
    Object.assign(row(task), c);
    total.done += c.done;
    total.failed += c.failed;
    total.retried += c.retried;
  }
  for (const j of running) {
    row(j.task).running++;
    if (!j.acked) row(j.task).unacked++;
  }
  return { ...total, tasks };
}

/** Open (or create) the workers bucket. */
export async function openWorkers(nc: NatsConnection, bucket: string): Promise<KV> {
  return await new Kvm(nc).create(bucket, { ttl: PRESENCE_TTL_S * 1000, history: 1 });
}

/** Every live worker record, sorted by name (records expire: the key listing never waits forever). */
export async function listWorkers(kv: KV): Promise<WorkerRecord[]> {
  const out: WorkerRecord[] = [];
  for (const key of await listKeys(kv)) {
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
  #stats: { flush(): Promise<void> } | undefined;

  /** `stats`: written with the record, and once more at stop (the counts that survive restarts). */
  constructor(kv: KV, o: { record: () => WorkerRecord; onError: (e: unknown) => void; stats?: { flush(): Promise<void> } }) {
    this.#kv = kv;
    this.#record = o.record;
    this.#stats = o.stats;
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
    await this.#stats?.flush().catch(this.#onError);
  }

  /**
   * Stop refreshing and delete the record; with `deleteRecord: false` (the
   * connection is down) leave it to expire.
   */
  async stop(o: { deleteRecord?: boolean } = {}): Promise<void> {
    clearInterval(this.#timer);
    if (o.deleteRecord === false) return;
    await this.#stats?.flush().catch(this.#onError);
    await this.#kv.delete(this.#key).catch(this.#onError);
  }
}
