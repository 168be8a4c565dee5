/**
 * Whether a stream's duplicate window is long enough for what qw publishes
 * with a message id while it holds a job: a retry, a flow's next steps, a
 * delayed job released, a rate-limited job deferred. When the job comes back
 * (its ack was lost, or the process died before acking) the copy is
 * published again with the same id, up to an ack wait after the first try
 * and another ack wait before it settles; the server drops it only while the
 * first is within the window. Schedules need the clocks of two hosts to fit
 * in it too. Pure.
 *
 * @module
 */

import { CLOCK_SKEW_ALLOWANCE_MS } from "./schedule.ts";

/** A duplicate window too short, with what it must be and why. */
export interface DedupWindowShortfall {
  windowSeconds: number;
  neededSeconds: number;
  /** What relies on it, in a few words each. */
  reasons: string[];
}

/**
 * The duplicate window `windowMs` needs at least twice the ack wait, and the
 * clock-skew allowance when `schedules` (the ones this process fires) is not
 * empty. Null when it is long enough. Pure.
 */
export function dedupWindowShortfall(
  windowMs: number,
  o: { ackWaitMs: number; schedules: readonly string[]; allowanceMs?: number },
): DedupWindowShortfall | null {
  const allowanceMs = o.allowanceMs ?? CLOCK_SKEW_ALLOWANCE_MS;
  const reasons: string[] = [];
  let neededMs = 0;
  const forHeld = 2 * o.ackWaitMs;
  if (windowMs < forHeld) {
    reasons.push(`retries, flows, delayed and rate-limited jobs (twice the ack wait of ${o.ackWaitMs / 1000} s)`);
    neededMs = forHeld;
  }
  if (o.schedules.length > 0 && windowMs < allowanceMs) {
    reasons.push(`the ticks of ${o.schedules.join(", ")} (the ${allowanceMs / 1000} s clock-skew allowance)`);
    neededMs = Math.max(neededMs, allowanceMs);
  }
  return reasons.length === 0 ? null : { windowSeconds: windowMs / 1000, neededSeconds: neededMs / 1000, reasons };
}
