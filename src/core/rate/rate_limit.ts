/**
 * Rate limits per task, per worker process, as Celery's token bucket with a
 * capacity of one: the first job runs at once, then one every `1 / rate`
 * seconds. Pure: the caller passes the clock.
 *
 * @module
 */

/** The reservation of one token: when the job may start, and the bucket's next free time. */
export interface Reservation {
  /** Epoch ms when this job may start. */
  at: number;
  /** Epoch ms when the next job may start. */
  nextAt: number;
}

/** Reserve the next token of a bucket whose next free time is `nextAt`. */
export function reserveToken(nextAt: number, now: number, perSecond: number): Reservation {
  const at = Math.max(now, nextAt);
  return { at, nextAt: at + 1000 / perSecond };
}

/** How a job that must wait for its token waits. Pure. */
export function waitPlan(waitMs: number, holdMaxMs: number): "run" | "hold" | "defer" {
  if (waitMs <= 0) return "run";
  // Held only briefly and without renewing its lease; longer waits go back to the server.
  return waitMs <= holdMaxMs ? "hold" : "defer";
}
