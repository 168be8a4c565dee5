/**
 * Rate limits at the door of the pool: each task's token bucket (the pure
 * reservation is core/rate_limit.ts), and what a job does when its token is
 * not due yet: wait briefly here, or go back to the server as a delayed copy
 * with its token reserved (the `Qw-Rate-Slot` header), so no lease is held
 * through a long wait.
 *
 * @module
 */

import { parseRateLimit } from "../../core/config/config.ts";
import { reserveToken, waitPlan } from "../../core/rate_limit.ts";

/** The header a deferred job carries: the epoch ms of the token reserved for it. */
export const RATE_SLOT_HEADER = "Qw-Rate-Slot";

/** A job at the gate: its task and rate limit. */
export interface Gated {
  task: string;
  policy: { rateLimit: string | null };
}

/** What the gate does with a job that must wait. */
export interface RateGateOptions<H extends Gated> {
  ackWaitMs: number;
  now: () => number;
  /** The token is due: run the job. */
  release(h: H): void;
  /** Publish a copy that waits on the server until `at` (epoch ms) with its token reserved. */
  defer(h: H, at: number, waitMs: number): void;
}

/** Token buckets per task, and the jobs waiting here for their token. */
export class RateGate<H extends Gated> {
  #o: RateGateOptions<H>;
  #buckets = new Map<string, { perSecond: number; nextAt: number }>();
  #waiting = new Map<H, ReturnType<typeof setTimeout>>();

  constructor(options: RateGateOptions<H>) {
    this.#o = options;
  }

  /**
   * True when the job may run now; otherwise it waits here (and is released
   * later) or was deferred to the server. `slot` is its `Qw-Rate-Slot`.
   */
  admit(h: H, slot: string | null): boolean {
    if (h.policy.rateLimit === null) return true;
    const now = this.#o.now();
    // A deferred job already holds the token reserved for it.
    if (slot && Number(slot) <= now + 50) return true;
    let bucket = this.#buckets.get(h.task);
    if (!bucket) this.#buckets.set(h.task, bucket = { perSecond: parseRateLimit(h.policy.rateLimit).perSecond, nextAt: 0 });
    const r = reserveToken(bucket.nextAt, now, bucket.perSecond);
    bucket.nextAt = r.nextAt;
    const wait = r.at - now;
    switch (waitPlan(wait, Math.min(2_000, this.#o.ackWaitMs / 3))) {
      case "run":
        return true;
      case "hold":
        this.#waiting.set(h, setTimeout(() => {
          this.#waiting.delete(h);
          this.#o.release(h);
        }, wait));
        return false;
      case "defer":
        this.#o.defer(h, r.at, wait);
        return false;
    }
  }

  /** Stop waiting for a job's token; false when it does not wait here. */
  cancel(h: H): boolean {
    const timer = this.#waiting.get(h);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.#waiting.delete(h);
    return true;
  }

  /** Shutdown: every job waiting here, no longer waiting. */
  drain(): H[] {
    const all = [...this.#waiting.keys()];
    for (const h of all) this.cancel(h);
    return all;
  }
}
