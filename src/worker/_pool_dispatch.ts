/**
 * Windowed dispatch: how many jobs each Web Worker gets queued, and handing
 * them out in one batch per Web Worker. Private to pool.ts.
 *
 * @module
 */

import { type HostMessage, packBatch, RING_SIZE, slotOf, Status, tag } from "./protocol.ts";
import type { PoolJob, Slot } from "./_pool_slot.ts";

// Keep about this much work queued in each Web Worker; deep windows for fast
// jobs, one job for slow ones.
const TARGET_QUEUE_MS = 4;
const MAX_WINDOW = 256;

/** Jobs to queue in one Web Worker, from the average run time (-1: none measured yet). Pure. */
export function windowFor(avgMs: number): number {
  if (avgMs < 0) return 1;
  return Math.max(1, Math.min(MAX_WINDOW, Math.ceil(TARGET_QUEUE_MS / Math.max(avgMs, 0.001))));
}

/**
 * Move jobs from the front of `unassigned` into the open slots, spread evenly
 * so a burst does not fill one Web Worker while another idles, up to each
 * slot's window (and maxTasksPerChild), then post one batch per slot: a
 * message to a Web Worker costs about as much as 50 jobs in it.
 */
export function dispatchTo<T>(open: Slot<T>[], unassigned: PoolJob<T>[], o: { window: number; max: number }): void {
  const batches = new Map<Slot<T>, { k0: number; jobs: PoolJob<T>[] }>();
  let i = 0;
  while (unassigned.length > 0 && open.length > 0) {
    const s = open[i % open.length];
    const job = unassigned.shift()!;
    const k = s.nextK++;
    Atomics.store(s.ring, slotOf(k), tag(k, Status.QUEUED));
    s.fifo.push({ k, job, started: false, startedAt: 0 });
    s.assigned++;
    let b = batches.get(s);
    if (!b) batches.set(s, b = { k0: k, jobs: [] });
    b.jobs.push(job);
    if (s.fifo.length >= o.window || s.fifo[0].k + RING_SIZE <= s.nextK || s.assigned >= o.max) open.splice(open.indexOf(s), 1);
    else i++;
  }
  for (const [s, { k0, jobs }] of batches) {
    const batch = packBatch(k0, jobs);
    s.worker.postMessage({ type: "run", batch } satisfies HostMessage, [batch.body]);
  }
}
