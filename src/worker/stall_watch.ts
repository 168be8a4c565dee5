/**
 * Watches the pool once a second and says when it stalls, recovers, or is
 * beyond recovery (see core/stall.ts for what counts as a stall). Emits
 * `pool.stalled` / `pool.recovered`, which /healthz reads; calls `onFatal`
 * once, so the service hands every unacked job back and exits non-zero.
 *
 * @module
 */

import type { Emitter } from "../core/events.ts";
import { stallState } from "../core/stall.ts";
import type { PoolStatus } from "./pool/pool.ts";

const EVERY_MS = 1000;

/** Options of {@linkcode watchStalls}. */
export interface StallWatchOptions {
  /** The pool's status, and whether every task it runs is paused. */
  status(): PoolStatus & { paused?: boolean };
  stallTimeoutMs: number;
  emitter: Emitter;
  onFatal(reason: string): void;
}

/** Start watching; returns a function that stops it. */
export function watchStalls(o: StallWatchOptions): () => void {
  let stalled = false;
  let fatal = false;
  let since = 0;
  const check = () => {
    const st = o.status();
    const state = stallState(st, o.stallTimeoutMs);
    const seconds = Math.round(st.sinceProgressMs / 1000);
    if (state === "ok") {
      if (stalled) o.emitter.emit({ type: "pool.recovered", seconds: Math.round((Date.now() - since) / 1000) });
      stalled = false;
      return;
    }
    if (!stalled) {
      stalled = true;
      since = Date.now() - st.sinceProgressMs;
      o.emitter.emit({ type: "pool.stalled", waiting: st.waiting, seconds, fatal: false });
    }
    if (state === "fatal" && !fatal) {
      fatal = true;
      o.emitter.emit({ type: "pool.stalled", waiting: st.waiting, seconds, fatal: true });
      o.onFatal(
        `The pool stalled: ${st.waiting} job(s) waited ${seconds} s with no Web Worker running or reporting (${st.ready} of ${st.size} ready); every unacked job was handed back`,
      );
    }
  };
  const timer = setInterval(check, EVERY_MS);
  return () => clearInterval(timer);
}
