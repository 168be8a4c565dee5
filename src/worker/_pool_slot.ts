/**
 * One Web Worker of the pool and the jobs queued to it: spawning it, wiring
 * its messages to the pool, and reading which of its jobs runs now from the
 * shared ring. Private to pool.ts.
 *
 * @module
 */

import {
  type HostMessage,
  RING_SIZE,
  Status,
  statusOf,
  type TaskDefaults,
  type WireResult,
  type WorkerMessage,
} from "./protocol.ts";
import type { ResolvedTaskOptions } from "../core/types.ts";

/** A job for the pool; `ref` is the caller's handle (the message). */
export interface PoolJob<T> {
  task: string;
  data: Uint8Array;
  id: string;
  retries: number;
  deliveryCount: number;
  ref: T;
}

/** A job queued to one Web Worker. */
export interface Entry<T> {
  k: number;
  job: PoolJob<T>;
  started: boolean;
  startedAt: number;
}

/** One Web Worker and its queue. */
export interface Slot<T> {
  id: number;
  worker: Worker;
  ring: Int32Array;
  ready: boolean;
  dead: boolean;
  /** The job whose hard time limit ended this Web Worker. */
  killedFor: Entry<T> | null;
  nextK: number;
  fifo: Entry<T>[];
  runs: number;
  /** Jobs sent and not stolen back: what maxTasksPerChild counts. */
  assigned: number;
}

/** What a slot reports to the pool. */
export interface SlotHandlers {
  onReady(tasks: Record<string, ResolvedTaskOptions>): void;
  onInitError(message: string): void;
  onResults(items: WireResult[]): void;
  /** The Web Worker is gone: it exited, threw an uncaught error or closed. */
  onLost(reason: string): void;
}

/** How to start a Web Worker. */
export interface SlotSpawner {
  tasksUrl: string;
  defaults: TaskDefaults;
  createWorker(name: string): Worker;
}

/**
 * One line for an uncaught error in a Web Worker. Bun's `message` starts with a
 * source excerpt and ends with a stack; the "Name: message" line is the one to keep.
 */
export function uncaughtText(e: { message?: unknown; error?: unknown }): string {
  const err = e.error as { name?: unknown; message?: unknown } | undefined;
  if (err && typeof err.message === "string") return `${String(err.name ?? "Error")}: ${err.message.split("\n")[0]}`;
  // deno-lint-ignore no-control-regex
  const plain = String(e.message ?? "unknown error").replace(/\x1b\[[0-9;]*m/g, "");
  const lines = plain.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^[A-Za-z]*(error|exception)\b.*:/i.test(l)) ?? lines[0] ?? "unknown error";
}

/** Spawn a Web Worker, send it the tasks file, and route its messages to `h`. */
export function openSlot<T>(id: number, spawner: SlotSpawner, h: SlotHandlers): Slot<T> {
  const worker = spawner.createWorker(`qw-${id}`);
  const sab = new SharedArrayBuffer(RING_SIZE * 4);
  const slot: Slot<T> = {
    id, worker, ring: new Int32Array(sab), ready: false, dead: false, killedFor: null, nextK: 0, fifo: [], runs: 0, assigned: 0,
  };
  worker.onmessage = (e: MessageEvent) => {
    const msg = e.data as WorkerMessage;
    switch (msg.type) {
      case "ready":
        return h.onReady(msg.tasks);
      case "init_error":
        return h.onInitError(msg.error.message);
      case "results":
        return h.onResults(msg.items);
      case "exiting":
        // Deno reports no event when a Web Worker calls process.exit().
        return h.onLost(`exited with code ${msg.code ?? 0}`);
      default: {
        const never: never = msg;
        throw new Error(`Unknown message from Web Worker: ${JSON.stringify(never)}`);
      }
    }
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault?.();
    h.onLost(`threw an uncaught error: ${uncaughtText(e)}`);
  };
  worker.addEventListener("close", (e) => h.onLost(`exited with code ${(e as unknown as { code?: number }).code ?? "?"}`));
  worker.postMessage({ type: "init", tasksUrl: spawner.tasksUrl, defaults: spawner.defaults, ring: sab } satisfies HostMessage);
  return slot;
}

/**
 * The job this Web Worker runs now, if the pool saw it start. Jobs run in
 * queue order, so it is the first entry not DONE; a DONE entry in front of it
 * is a finished job whose result is still on its way (results are batched).
 */
export function currentEntry<T>(s: Slot<T>): Entry<T> | null {
  for (const e of s.fifo) {
    const st = statusOf(s.ring, e.k);
    if (st === Status.DONE) continue;
    return e.started && st === Status.RUNNING ? e : null;
  }
  return null;
}

/**
 * Mark every entry the Web Worker has started since the last look, in queue
 * order; returns them. Only RUNNING counts: a job already DONE may be an
 * undecodable one that never ran (its "invalid" result decides it, not an
 * early ack), and a DONE entry never hides the RUNNING one behind it.
 */
export function markStarted<T>(s: Slot<T>, now: number): Entry<T>[] {
  const started: Entry<T>[] = [];
  for (const e of s.fifo) {
    const st = statusOf(s.ring, e.k);
    if (st === Status.DONE) continue;
    if (st === Status.RUNNING && !e.started) {
      e.started = true;
      e.startedAt = now;
      started.push(e);
    }
    break;
  }
  return started;
}
