/**
 * One pass over the held jobs' leases (the decision is core/job/lease.ts):
 * renew those that make progress, hand back those that waited too long
 * here without starting.
 *
 * @module
 */

import type { Emitter, HandBackCause } from "../../core/events.ts";
import { leaseAction } from "../../core/job/lease.ts";
import { safely } from "./broker.ts";
import type { Held } from "./held.ts";

/** What a pass over the leases needs. */
export interface LeasePass {
  now: number;
  ackWaitMs: number;
  pool: { sinceProgressMs: number };
  emitter: Emitter;
  /** Take a waiting job back from the rate gate or the pool; false when it started meanwhile. */
  takeBack(h: Held): boolean;
  handBack(h: Held, reason: string, cause: HandBackCause): void;
}

/** Renew or hand back each held job's lease; returns how many leases were renewed. */
export function touchLeases(held: Iterable<Held>, p: LeasePass): number {
  let n = 0;
  for (const h of [...held]) {
    if (h.acked) continue;
    const job = { state: h.state, heldMs: p.now - h.heldAt, sinceTouchMs: p.now - h.lastTouch };
    switch (leaseAction(job, p.pool, p.ackWaitMs)) {
      case "renew":
        h.lastTouch = p.now;
        if (safely(p.emitter, "working", () => h.msg.working())) n++;
        break;
      case "hand_back":
        if (p.takeBack(h)) {
          const s = Math.round((p.now - h.heldAt) / 100) / 10;
          p.handBack(h, `waited ${s} s in this process without starting: another process may run it`, "waited");
        }
        break;
      case "keep":
        break;
    }
  }
  return n;
}
