/**
 * Rate limits shared by every process of a stream (`rateLimitScope:
 * "stream"`): the tokens this process claimed from the window's counter on
 * the server (client/buckets/rate_counters.ts), the jobs waiting for a claim,
 * and what happens when the window is full or the server cannot be reached.
 * The arithmetic is core/rate/rate_window.ts; rate_gate.ts decides how a job with
 * a token waits for its slot.
 *
 * One claim at a time per task (and key): the jobs that arrive meanwhile
 * queue and share the next one, so at high rates a round trip brings several
 * tokens.
 *
 * @module
 */

import type { RateCounter } from "../../client/buckets/rate_counters.ts";
import { waitPlan } from "../../core/rate/rate_limit.ts";
import {
  claimSize,
  grantedSlots,
  rateCounterKey,
  type RateWindow,
  rateWindow,
  staleAfterMs,
  staleBehind,
  tokenStart,
  tokenUsable,
  windowStart,
} from "../../core/rate/rate_window.ts";

/** What the shared limiter needs. */
export interface SharedRateOptions<H> {
  /** Opens the counters (once; again after a failure). */
  counter: () => Promise<RateCounter>;
  now: () => number;
  /** Longest wait for a claim before the job falls back to this process's own bucket. */
  claimTimeoutMs: number;
  /** Longest a job waits here for the next window; longer, it is deferred to the server without a token. */
  holdMaxMs: number;
  /** The job got a token: it may start at `at` (epoch ms). */
  granted(h: H, at: number): void;
  /** The window is full and the next is far: publish a copy that waits until `at`, with no token reserved. */
  deferUntil(h: H, at: number): void;
  /** The counter cannot be reached: the job takes a token of this process's own bucket (returns its time). */
  local(h: H): number;
  /** Reports the first failed claim of an outage, and the first success after it (`null`). */
  unreachable(error: unknown | null): void;
}

interface Bucket<H> {
  task: string;
  key: string | null;
  w: RateWindow;
  /** Slots claimed and not used yet, of the window starting at `slotsStart`. */
  slots: number[];
  slotsStart: number;
  queue: H[];
  claiming: boolean;
  useWindow: number;
  usedThis: number;
  usedLast: number;
  lastStart: number;
  /** Stale tokens to add to the next claim of window `slotsStart` (the counter lags the clock). */
  behind: number;
  timer?: ReturnType<typeof setTimeout>;
  failing: boolean;
}

/** The shared tokens of every task (and key) of this process. */
export class SharedRate<H> {
  #o: SharedRateOptions<H>;
  #buckets = new Map<string, Bucket<H>>();
  #counter: Promise<RateCounter> | null = null;

  constructor(options: SharedRateOptions<H>) {
    this.#o = options;
  }

  /** The start time of a token in hand for `h`; otherwise null, and `h` waits for a claim (granted later). */
  take(h: H, task: string, key: string | null, perSecond: number): number | null {
    const b = this.#bucket(task, key, perSecond);
    const now = this.#o.now();
    this.#dropStale(b, now);
    if (b.queue.length === 0 && b.slots.length > 0) return this.#use(b, b.slots.shift()!, now);
    b.queue.push(h);
    this.#pump(b);
    return null;
  }

  /** Stop waiting for a claim for `h`; false when it does not wait here. */
  cancel(h: H): boolean {
    for (const b of this.#buckets.values()) {
      const i = b.queue.indexOf(h);
      if (i >= 0) {
        b.queue.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Shutdown: every job waiting for a claim, no longer waiting. */
  drain(): H[] {
    const all: H[] = [];
    for (const b of this.#buckets.values()) {
      clearTimeout(b.timer);
      all.push(...b.queue.splice(0));
    }
    return all;
  }

  #bucket(task: string, key: string | null, perSecond: number): Bucket<H> {
    const id = key === null ? task : `${task}\u0000${key}`;
    let b = this.#buckets.get(id);
    if (!b) {
      const w = rateWindow(perSecond);
      b = { task, key, w, slots: [], slotsStart: 0, queue: [], claiming: false, useWindow: 0, usedThis: 0, usedLast: 0, lastStart: 0, behind: 0, failing: false };
      this.#buckets.set(id, b);
    }
    return b;
  }

  /** Forget tokens whose time went by unused, or whose window ended: running them late would crowd the next second. */
  #dropStale(b: Bucket<H>, now: number): void {
    if (!tokenUsable(b.w, b.slotsStart, now)) b.slots = [];
    const oldest = now - staleAfterMs(b.w);
    while (b.slots.length > 0 && b.slots[0] < oldest) b.slots.shift();
  }

  #use(b: Bucket<H>, slot: number, now: number): number {
    const at = tokenStart(b.w, slot, b.lastStart, now);
    b.lastStart = at;
    const ws = windowStart(b.w, now);
    if (ws !== b.useWindow) {
      b.usedLast = ws - b.useWindow === b.w.windowMs ? b.usedThis : 0;
      b.usedThis = 0;
      b.useWindow = ws;
    }
    b.usedThis++;
    return at;
  }

  #pump(b: Bucket<H>): void {
    if (b.claiming || b.queue.length === 0 || b.timer !== undefined) return;
    b.claiming = true;
    const start = windowStart(b.w, this.#o.now());
    const count = claimSize(b.w, b.queue.length, b.usedLast) + (b.slotsStart === start ? b.behind : 0);
    this.#counter ??= this.#o.counter();
    this.#counter
      .then((c) => c.claim(rateCounterKey(b.task, b.key, start), count, this.#o.claimTimeoutMs))
      .then((total) => {
        b.claiming = false;
        if (b.failing) this.#o.unreachable(null);
        b.failing = false;
        const now = this.#o.now();
        const got = grantedSlots(b.w, start, { total, count, now });
        b.slots = b.slotsStart === start ? [...b.slots, ...got] : got;
        b.slotsStart = start;
        b.behind = staleBehind(b.w, start, total, now);
        this.#serve(b, total >= b.w.tokens);
      }, (e) => {
        b.claiming = false;
        this.#counter = null;
        if (!b.failing) this.#o.unreachable(e);
        b.failing = true;
        // Never stall: while the server cannot count, each process keeps its own bucket at the full rate.
        for (const h of b.queue.splice(0)) this.#o.granted(h, this.#o.local(h));
      });
  }

  #serve(b: Bucket<H>, full: boolean): void {
    const now = this.#o.now();
    this.#dropStale(b, now);
    while (b.queue.length > 0 && b.slots.length > 0) {
      this.#o.granted(b.queue.shift()!, this.#use(b, b.slots.shift()!, now));
    }
    if (b.queue.length === 0) return;
    if (!full) return this.#pump(b);
    const next = windowStart(b.w, now) + b.w.windowMs;
    if (waitPlan(next - now, this.#o.holdMaxMs) === "defer") {
      for (const h of b.queue.splice(0)) this.#o.deferUntil(h, next);
      return;
    }
    b.timer = setTimeout(() => {
      b.timer = undefined;
      this.#pump(b);
    }, next - now);
  }
}
