/**
 * One Web Worker of the pool and the jobs queued to it: reading which of its
 * jobs runs now from the shared ring, taking queued jobs back, and what its
 * jobs become when it dies. Spawning one is _slot_spawn.ts. Private to pool.ts.
 *
 * @module
 */

import type { Outcome } from "../../core/job/ack_policy.ts";
import { TimeLimitExceeded, WorkerLostError } from "../../core/errors.ts";
import { serializeError, slotOf, Status, statusOf, tag, type WireResult } from "./protocol.ts";

/** A job for the pool; `ref` is the caller's handle (the message). */
export interface PoolJob<T> {
  task: string;
  data: Uint8Array;
  id: string;
  retries: number;
  deliveryCount: number;
  ref: T;
  /** Epoch ms from which it must not start (0: none): the Web Worker reports it `expired` instead. */
  startBy?: number;
}

/** A job queued to one Web Worker. */
export interface Entry<T> {
  k: number;
  job: PoolJob<T>;
  started: boolean;
  /** The pool saw it finished (its outcome not here yet). */
  finished: boolean;
  startedAt: number;
}

/** One Web Worker and its queue. */
export interface Slot<T> {
  id: number;
  worker: Worker;
  ring: Int32Array;
  ready: boolean;
  dead: boolean;
  /** The job this Web Worker was terminated for, and why. */
  killedFor: Entry<T> | null;
  killedAs: "time_limit" | "revoked";
  nextK: number;
  fifo: Entry<T>[];
  runs: number;
  /** Jobs sent and not stolen back: what maxTasksPerChild counts. */
  assigned: number;
}

/** An outcome of a job the Web Worker refused without running it (not a start): invalid, or expired. */
export const refused = (o: Outcome): boolean => o.kind === "invalid" || o.kind === "expired";

/** Ended in the Web Worker, with or without a run: jobs behind it may be at. */
const ended = (st: number): boolean => st === Status.DONE || st === Status.INVALID;

/**
 * The job this Web Worker is at, if it runs one now: jobs run in queue order,
 * so it is the first entry that has not ended (an ended entry in front of it
 * is one whose outcome is still on its way: results are batched), if RUNNING.
 * Read from the shared ring alone, so true from the moment the job starts.
 */
function runningEntry<T>(s: Slot<T>): Entry<T> | null {
  for (const e of s.fifo) {
    const st = statusOf(s.ring, e.k);
    if (ended(st)) continue;
    return st === Status.RUNNING ? e : null;
  }
  return null;
}

/** The job this Web Worker runs now, if the pool saw it start (time limits count from then). */
export function currentEntry<T>(s: Slot<T>): Entry<T> | null {
  const e = runningEntry(s);
  return e !== null && e.started ? e : null;
}

/**
 * Whether this Web Worker runs a job now, even one the pool's next look has
 * not marked started yet (what counts running jobs at shutdown must not wait
 * for that look).
 */
export function runsNow<T>(s: Slot<T>): boolean {
  return runningEntry(s) !== null;
}

/**
 * What the Web Worker did since the last look, in queue order: the entries it
 * started (RUNNING, or DONE: a DONE job ran, and may wait for its outcome
 * behind a long synchronous one) and those it finished. An INVALID entry was
 * refused without running: neither.
 */
export function markStarted<T>(s: Slot<T>, now: number): { started: Entry<T>[]; finished: Entry<T>[] } {
  const started: Entry<T>[] = [];
  const finished: Entry<T>[] = [];
  for (const e of s.fifo) {
    const st = statusOf(s.ring, e.k);
    if (st === Status.INVALID) continue;
    if ((st === Status.RUNNING || st === Status.DONE) && !e.started) {
      e.started = true;
      e.startedAt = now;
      started.push(e);
    }
    if (st === Status.DONE) {
      if (!e.finished) {
        e.finished = true;
        finished.push(e);
      }
      continue;
    }
    break;
  }
  return { started, finished };
}

/** Take every job from the tail of a queue that has not been claimed yet (QUEUED -> STOLEN). */
export function stealQueued<T>(s: Slot<T>): PoolJob<T>[] {
  const moved: PoolJob<T>[] = [];
  for (let i = s.fifo.length - 1; i >= 0; i--) {
    const e = s.fifo[i];
    const queued = tag(e.k, Status.QUEUED);
    if (Atomics.compareExchange(s.ring, slotOf(e.k), queued, tag(e.k, Status.STOLEN)) !== queued) break;
    s.fifo.splice(i, 1);
    s.assigned--;
    moved.unshift(e.job);
  }
  return moved;
}

/** Take one queued job back from a slot; false when it is not there or was claimed meanwhile. */
export function withdrawFrom<T>(s: Slot<T>, ref: T): "absent" | "withdrawn" | "started" {
  const i = s.fifo.findIndex((e) => e.job.ref === ref);
  if (i < 0) return "absent";
  const e = s.fifo[i];
  const queued = tag(e.k, Status.QUEUED);
  if (s.dead || Atomics.compareExchange(s.ring, slotOf(e.k), queued, tag(e.k, Status.STOLEN)) !== queued) return "started";
  s.fifo.splice(i, 1);
  s.assigned--;
  return "withdrawn";
}

/** Take a job back from the jobs not sent yet or from a Web Worker's queue; false when it started meanwhile. */
export function withdrawAny<T>(slots: Slot<T>[], unsent: PoolJob<T>[], ref: T): boolean {
  const at = unsent.findIndex((j) => j.ref === ref);
  if (at >= 0) {
    unsent.splice(at, 1);
    return true;
  }
  for (const s of slots) {
    const r = withdrawFrom(s, ref);
    if (r !== "absent") return r === "withdrawn";
  }
  return false;
}

/** Terminate every Web Worker; the jobs still in their queues. */
export function terminateAll<T>(slots: Slot<T>[]): PoolJob<T>[] {
  const left: PoolJob<T>[] = [];
  for (const s of slots) {
    left.push(...s.fifo.map((e) => e.job));
    s.fifo = [];
    s.dead = true;
    s.worker.terminate();
  }
  return left;
}

/**
 * The outcome of each job left in a dead Web Worker's queue (the queued ones
 * were stolen back first): the time-limit victim failed with
 * TimeLimitExceeded, every other one with WorkerLostError, saying whether it
 * had finished (its result was lost) or was running.
 */
export function deathOutcomes<T>(s: Slot<T>, reason: string): [Entry<T>, Outcome][] {
  return s.fifo.map((e) => {
    if (e === s.killedFor && s.killedAs === "revoked") return [e, { kind: "revoked", reason: `terminated while running: its Web Worker ${reason}` }];
    if (e === s.killedFor) {
      const error = serializeError(new TimeLimitExceeded(`Task '${e.job.task}' exceeded its time limit: its Web Worker ${reason}`));
      return [e, { kind: "time_limit", error }];
    }
    const message = statusOf(s.ring, e.k) === Status.DONE
      ? `Task '${e.job.task}' finished but its result was lost: its Web Worker ${reason}`
      : `Task '${e.job.task}' was running when its Web Worker ${reason}`;
    return [e, { kind: "worker_lost", error: serializeError(new WorkerLostError(message)) }];
  });
}

/** The entries finished by a batch of results, taken off the queue. Results come in queue order: one splice. */
export function takeResults<T>(s: Slot<T>, items: WireResult[]): [Entry<T>, WireResult][] {
  const out: [Entry<T>, WireResult][] = [];
  let head = 0;
  for (const item of items) {
    let entry: Entry<T>;
    if (s.fifo[head]?.k === item.k) entry = s.fifo[head++];
    else {
      s.fifo.splice(0, head);
      head = 0;
      const at = s.fifo.findIndex((e) => e.k === item.k);
      if (at < 0) continue;
      entry = s.fifo.splice(at, 1)[0];
    }
    out.push([entry, item]);
  }
  s.fifo.splice(0, head);
  return out;
}
