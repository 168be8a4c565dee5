/**
 * Windowed dispatch: how many jobs each Web Worker gets queued, how much room
 * the pool offers, and handing jobs out in one batch per Web Worker. Private
 * to pool.ts.
 *
 * @module
 */

import { type HostMessage, packBatch, RING_SIZE, slotOf, Status, tag } from "./protocol.ts";
import { currentEntry, type PoolJob, runsNow, type Slot } from "./_pool_slot.ts";

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
    s.fifo.push({ k, job, started: false, finished: false, startedAt: 0 });
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

/** A job running this long makes its Web Worker "stuck": nothing queues behind it, and its queue may be stolen. */
export const STEAL_AFTER_MS = 20;

/** True when the Web Worker runs a job that started at least {@linkcode STEAL_AFTER_MS} ago. */
export function isStuck<T>(s: Slot<T>, now: number): boolean {
  const c = currentEntry(s);
  return c !== null && now - c.startedAt >= STEAL_AFTER_MS;
}

/**
 * How many more jobs the pool wants: each live Web Worker's window less its
 * queue, less the jobs not sent yet. A Web Worker busy with a job that takes
 * long offers no room: what would queue behind it could only wait.
 */
export function roomIn<T>(slots: Slot<T>[], window: number, unsent: number, now: number): number {
  let cap = 0;
  for (const s of slots) {
    if (s.dead || (s.ready && isStuck(s, now))) continue;
    cap += window - s.fifo.length;
  }
  return Math.max(0, cap - unsent);
}

/** Web Workers running a job now, as their rings say (not waiting for the pool's next look). */
export function runningIn<T>(slots: Slot<T>[]): number {
  let running = 0;
  for (const s of slots) if (!s.dead && s.ready && runsNow(s)) running++;
  return running;
}

/** The wait before respawn attempt `attempt` (0-based): 0.1 s doubling to 5 s. Pure. */
export const respawnDelayMs = (attempt: number): number => Math.min(5000, 100 * 2 ** attempt);
