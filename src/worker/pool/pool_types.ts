/**
 * The pool's public types: its settings, its events and its status. Kept
 * apart so the pool's owner (service.ts, dispatch.ts) reads them without the
 * pool's machinery.
 *
 * @module
 */

import type { Outcome } from "../../core/job/ack_policy.ts";
import type { TaskDefaults } from "./protocol.ts";

/** What the pool tells its owner about its Web Workers. */
export type PoolEvent =
  | { type: "worker.lost"; worker: number; reason: string }
  | { type: "worker.time_limit"; worker: number; task: string; id: string }
  | { type: "worker.recycled"; worker: number; jobs: number }
  | { type: "worker.spawn_failed"; worker: number; error: string; attempt: number; retryInMs: number }
  | { type: "pool.size"; ready: number; size: number };

/** Pool settings. */
export interface PoolOptions<T> {
  size: number;
  tasksUrl: string;
  defaults: TaskDefaults;
  maxTasksPerChild: number | null;
  /** A Web Worker not ready this long after it was spawned is terminated (and spawned again). @default 30_000 */
  spawnTimeoutMs?: number;
  /** The early-ack moment: the Web Worker started the job. */
  onStarted(ref: T): void;
  /**
   * Its Web Worker finished the job and its outcome is on the way (a long
   * synchronous job behind it can hold the batch of results). Called at most
   * once, before onResult, only when the pool saw the job finished first.
   */
  onFinished?(ref: T): void;
  onResult(ref: T, outcome: Outcome, ms: number): void;
  /** A running job reported progress (at most every 250 ms). */
  onProgress?(ref: T, fraction: number, meta: unknown): void;
  onEvent?(e: PoolEvent): void;
  createWorker(name: string): Worker;
}

/** How the pool is doing, for leases and the stall detector. */
export interface PoolStatus {
  size: number;
  /** Web Workers that loaded the tasks file and are alive. */
  ready: number;
  /** Web Workers running a job now. */
  running: number;
  /** Jobs held and not running: queued to a Web Worker or not yet sent. */
  waiting: number;
  /** Milliseconds since a job started or finished or a Web Worker came up. */
  sinceProgressMs: number;
}
