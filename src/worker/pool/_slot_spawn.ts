/**
 * Spawning one Web Worker of the pool: sending it the tasks file, wiring its
 * messages to the pool, and a bound on how long it may take to become ready.
 * Private to pool.ts.
 *
 * @module
 */

import { TasksFileError } from "../../core/errors.ts";
import { errorLine } from "../../core/task/load_error.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import type { Slot } from "./_pool_slot.ts";
import { type HostMessage, RING_SIZE, type TaskDefaults, type WireResult, type WorkerMessage } from "./protocol.ts";

/** What a slot reports to the pool. */
export interface SlotHandlers {
  onReady(tasks: Record<string, ResolvedTaskOptions>): void;
  onInitError(message: string): void;
  onResults(items: WireResult[]): void;
  /** A running job reported progress. */
  onProgress(k: number, fraction: number, meta: unknown): void;
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
  // Bun prints an error that is no Error (a DOMException) as an object: read its name and message.
  const field = (key: string) => new RegExp(`^\\s*${key}: "((?:[^"\\\\]|\\\\.)*)",?$`, "m").exec(plain)?.[1];
  const [name, message] = [field("name"), field("message")];
  if (/^\s*\w+ \{/.test(plain) && name !== undefined && message !== undefined) return `${name}: ${message}`;
  const lines = plain.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^[A-Za-z]*(error|exception)\b.*:/i.test(l)) ?? lines[0] ?? "unknown error";
}

/** Spawn a Web Worker, send it the tasks file, and route its messages to `h`. */
export function openSlot<T>(id: number, spawner: SlotSpawner, h: SlotHandlers): Slot<T> {
  const worker = spawner.createWorker(`qw-${id}`);
  const sab = new SharedArrayBuffer(RING_SIZE * 4);
  const slot: Slot<T> = {
    id, worker, ring: new Int32Array(sab), ready: false, dead: false, killedFor: null, killedAs: "time_limit", nextK: 0, fifo: [], runs: 0,
    assigned: 0,
  };
  // What the Web Worker said ended it, as data; preferred to the runtime's own report.
  let uncaught: string | null = null;
  worker.onmessage = (e: MessageEvent) => {
    const msg = e.data as WorkerMessage;
    switch (msg.type) {
      case "uncaught":
        uncaught ??= errorLine(msg.error);
        return;
      case "ready":
        return h.onReady(msg.tasks);
      case "init_error":
        return h.onInitError(msg.error.message);
      case "results":
        return h.onResults(msg.items);
      case "progress":
        return h.onProgress(msg.k, msg.fraction, msg.meta);
      case "key": // asked only of the key functions' own Web Worker
        return;
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
    h.onLost(`threw an uncaught error: ${uncaught ?? uncaughtText(e)}`);
  };
  worker.addEventListener("close", (e) => {
    h.onLost(uncaught !== null ? `threw an uncaught error: ${uncaught}` : `exited with code ${(e as unknown as { code?: number }).code ?? "?"}`);
  });
  worker.postMessage({ type: "init", tasksUrl: spawner.tasksUrl, defaults: spawner.defaults, ring: sab } satisfies HostMessage);
  return slot;
}

/**
 * Spawn a Web Worker and resolve once it loaded the tasks file; reject with a
 * one-line TasksFileError when it cannot, or is not ready within `timeoutMs`
 * (then it is terminated). `h.onLost` is only called for a Web Worker that was ready.
 */
export function spawnSlot<T>(
  id: number,
  spawner: SlotSpawner,
  timeoutMs: number,
  h: Omit<SlotHandlers, "onInitError">,
): { slot: Slot<T>; ready: Promise<void> } {
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const fail = (message: string) => {
    clearTimeout(timer);
    slot.dead = true;
    slot.worker.terminate();
    settle.reject(new TasksFileError(message));
  };
  const slot: Slot<T> = openSlot<T>(id, spawner, {
    onReady: (tasks) => {
      if (slot.dead) return;
      clearTimeout(timer);
      slot.ready = true;
      h.onReady(tasks);
      settle.resolve();
    },
    onInitError: (message) => fail(message),
    onResults: h.onResults,
    onProgress: h.onProgress,
    onLost: (reason) => {
      if (slot.ready) h.onLost(reason);
      else if (!slot.dead) fail(`Cannot load tasks file: its Web Worker ${reason}`);
    },
  });
  const timer = setTimeout(() => {
    if (!slot.ready && !slot.dead) fail(`Cannot load tasks file: its Web Worker was not ready within ${timeoutMs / 1000} s (--spawn-timeout)`);
  }, timeoutMs);
  return { slot, ready };
}
