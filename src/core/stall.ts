/**
 * Telling a stalled pool from a busy one. A pool is stalled when it holds
 * jobs that wait while no Web Worker runs a job and none has reported for
 * the stall timeout: a long task running in a live Web Worker is progress,
 * not a stall, and so is a pool whose every task is paused (its waiting jobs
 * are on their way back to the server). Stalled for twice the timeout, it is beyond recovery: qw
 * hands back its jobs and exits non-zero so a supervisor restarts it. Pure.
 *
 * @module
 */

/** What the stall decision reads from the pool. */
export interface PoolProgress {
  /** Web Workers running a job now. */
  running: number;
  /** Jobs held and not running. */
  waiting: number;
  /** Milliseconds since a job started or finished or a Web Worker came up. */
  sinceProgressMs: number;
  /** Every task this process runs is paused (core/pause.ts): waiting for a resume is not a stall. */
  paused?: boolean;
}

/** The pool's health: making progress (or idle), stalled, or stalled beyond recovery. */
export type StallState = "ok" | "stalled" | "fatal";

/** Decide the stall state. Pure. */
export function stallState(p: PoolProgress, stallTimeoutMs: number): StallState {
  if (p.paused || p.waiting === 0 || p.running > 0 || p.sinceProgressMs < stallTimeoutMs) return "ok";
  return p.sinceProgressMs >= 2 * stallTimeoutMs ? "fatal" : "stalled";
}
