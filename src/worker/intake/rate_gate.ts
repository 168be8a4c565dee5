/**
 * Rate limits at the door of the pool: each task's token bucket (the pure
 * reservation is core/rate/rate_limit.ts), or for `rateLimitScope: "stream"` the
 * tokens shared by every process of the stream (shared_rate.ts), and what a
 * job does when its token is not due yet: wait briefly here, or go back to
 * the server as a delayed copy with its token reserved (the `Qw-Rate-Slot`
 * header), so no lease is held through a long wait.
 *
 * @module
 */

import { parseRateLimit } from "../../core/config/config.ts";
import { reserveToken, waitPlan } from "../../core/rate/rate_limit.ts";
import type { RateCounter } from "../../client/buckets/rate_counters.ts";
import { SharedRate } from "./shared_rate.ts";

/** The header a deferred job carries: the epoch ms of the token reserved for it. */
export const RATE_SLOT_HEADER = "Qw-Rate-Slot";

/** A job at the gate: its task and rate limit. */
export interface Gated {
  task: string;
  policy: { rateLimit: string | null; rateLimitScope?: "process" | "stream" };
}

/** What the gate does with a job that must wait. */
export interface RateGateOptions<H extends Gated> {
  ackWaitMs: number;
  now: () => number;
  /** The token is due: run the job. */
  release(h: H): void;
  /** Publish a copy that waits on the server until `at` (epoch ms), with its token reserved unless `reserved` is false. */
  defer(h: H, at: number, waitMs: number, reserved: boolean): void;
  /** The counters of shared rate limits; absent: every limit is per process. */
  counter?: () => Promise<RateCounter>;
  /** The counters could not be reached (`error`), or can again (`null`). */
  unreachable?: (error: unknown | null) => void;
}

/** The error line of a shared rate limit whose counters cannot be reached. */
export const rateCounterDown = (e: unknown): string =>
  `Cannot claim shared rate-limit tokens (${e instanceof Error ? e.message : String(e)}): each process counts alone until the server answers`;

/** Longest wait for a shared claim before a job takes this process's own token instead. */
const CLAIM_TIMEOUT_MS = 2_000;

/** Token buckets per task, and the jobs waiting here for their token. */
export class RateGate<H extends Gated> {
  #o: RateGateOptions<H>;
  #buckets = new Map<string, { perSecond: number; nextAt: number }>();
  #waiting = new Map<H, ReturnType<typeof setTimeout>>();
  #shared: SharedRate<H> | null = null;

  constructor(options: RateGateOptions<H>) {
    this.#o = options;
    const counter = options.counter;
    if (counter) {
      this.#shared = new SharedRate<H>({
        counter,
        now: options.now,
        claimTimeoutMs: Math.min(CLAIM_TIMEOUT_MS, this.#holdMax()),
        holdMaxMs: this.#holdMax(),
        granted: (h, at) => this.#plan(h, at) && this.#o.release(h),
        deferUntil: (h, at) => this.#o.defer(h, at, at - this.#o.now(), false),
        local: (h) => this.#reserve(h, this.#o.now()),
        unreachable: (e) => this.#o.unreachable?.(e),
      });
    }
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
    if (this.#shared && h.policy.rateLimitScope === "stream") {
      // A per-key rate is this call with the job's concurrency key instead of null.
      const at = this.#shared.take(h, h.task, null, parseRateLimit(h.policy.rateLimit).perSecond);
      return at !== null && this.#plan(h, at);
    }
    return this.#plan(h, this.#reserve(h, now));
  }

  /** The next token of the task's bucket in this process. */
  #reserve(h: H, now: number): number {
    let bucket = this.#buckets.get(h.task);
    if (!bucket) this.#buckets.set(h.task, bucket = { perSecond: parseRateLimit(h.policy.rateLimit!).perSecond, nextAt: 0 });
    const r = reserveToken(bucket.nextAt, now, bucket.perSecond);
    bucket.nextAt = r.nextAt;
    return r.at;
  }

  #holdMax(): number {
    return Math.min(2_000, this.#o.ackWaitMs / 3);
  }

  /** A job whose token is due at `at`: true when it runs now, else it waits here or is deferred. */
  #plan(h: H, at: number): boolean {
    const wait = at - this.#o.now();
    switch (waitPlan(wait, this.#holdMax())) {
      case "run":
        return true;
      case "hold":
        this.#waiting.set(h, setTimeout(() => {
          this.#waiting.delete(h);
          this.#o.release(h);
        }, wait));
        return false;
      case "defer":
        this.#o.defer(h, at, wait, true);
        return false;
    }
  }

  /** Stop waiting for a job's token; false when it does not wait here. */
  cancel(h: H): boolean {
    if (this.#shared?.cancel(h)) return true;
    const timer = this.#waiting.get(h);
    if (timer === undefined) return false;
    clearTimeout(timer);
    this.#waiting.delete(h);
    return true;
  }

  /** Shutdown: every job waiting here, no longer waiting. */
  drain(): H[] {
    const all = [...this.#waiting.keys(), ...(this.#shared?.drain() ?? [])];
    for (const h of all) this.cancel(h);
    return all;
  }
}
