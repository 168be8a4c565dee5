/**
 * The pool <-> Web Worker protocol: message unions, the shared job-state
 * ring, and errors as data. Data only; both sides import it.
 *
 * Jobs are numbered per Web Worker (`k`, 0, 1, 2, ...). Each has a slot in a
 * shared Int32Array ring holding `tag(k, status)`. The Web Worker claims a
 * job with a compare-and-swap QUEUED -> CLAIMED before running it; the pool
 * steals a job that has not started with QUEUED -> STOLEN. So a job runs at
 * most once even when a slow job makes the pool move its queue elsewhere, and
 * when a Web Worker dies the ring says exactly which jobs had started.
 *
 * @module
 */

import type { Outcome } from "../../core/job/ack_policy.ts";
import type { TaskDefaults } from "../../core/config/config.ts";
import type { ResolvedTaskOptions, SerializedError } from "../../core/types.ts";

/** Slots in each Web Worker's ring; bounds the jobs queued to one Web Worker. */
export const RING_SIZE = 1024;
const RING_MASK = RING_SIZE - 1;
const K_MASK = 0x0fffffff;

/** Job status in the ring. */
export const Status = {
  QUEUED: 1,
  CLAIMED: 2,
  RUNNING: 3,
  DONE: 4,
  STOLEN: 5,
  /** Refused without running (an unknown task, a body that is not a job): not a start. */
  INVALID: 6,
} as const;
/** One of {@linkcode Status}. */
export type Status = typeof Status[keyof typeof Status];

/** The ring slot of job k. */
export const slotOf = (k: number): number => k & RING_MASK;
/** The ring value of job k in a status; unique for RING_SIZE consecutive jobs. */
export const tag = (k: number, status: Status): number => ((k & K_MASK) << 3) | status;
/** The status part of a ring value, if it belongs to job k; 0 if the slot was reused. */
export function statusOf(ring: Int32Array, k: number): number {
  const v = Atomics.load(ring, slotOf(k));
  return v >>> 3 === (k & K_MASK) ? v & 7 : 0;
}

/** A job as it crosses to the Web Worker: the raw body is decoded there. */
export interface WireJob {
  k: number;
  task: string;
  data: Uint8Array;
  id: string;
  retries: number;
  deliveryCount: number;
  /** Epoch ms from which it must not start; 0 (or absent) for none. */
  startBy?: number;
}

/** One finished job. `ms` is the run time measured in the Web Worker. */
export interface WireResult {
  k: number;
  ms: number;
  outcome: Outcome;
}

/** Worker-wide task defaults, sent at init. */
export type { TaskDefaults };

/**
 * Jobs k0, k0+1, ... for one Web Worker, packed column-wise: the bodies share
 * one buffer that is transferred, not cloned, so a batch costs one copy.
 */
export interface RunBatch {
  k0: number;
  tasks: string[];
  ids: string[];
  retries: number[];
  deliveryCounts: number[];
  /** Each job's `startBy` (0: none). */
  startBy: number[];
  /** End offset of each body in `body`. */
  ends: number[];
  body: ArrayBuffer;
}

/** Pack jobs numbered from k0 into a {@linkcode RunBatch}. */
export function packBatch(k0: number, jobs: ReadonlyArray<Omit<WireJob, "k">>): RunBatch {
  let size = 0;
  for (const j of jobs) size += j.data.byteLength;
  const body = new Uint8Array(size);
  const b: RunBatch = { k0, tasks: [], ids: [], retries: [], deliveryCounts: [], startBy: [], ends: [], body: body.buffer };
  let at = 0;
  for (const j of jobs) {
    body.set(j.data, at);
    at += j.data.byteLength;
    b.tasks.push(j.task);
    b.ids.push(j.id);
    b.retries.push(j.retries);
    b.deliveryCounts.push(j.deliveryCount);
    b.startBy.push(j.startBy ?? 0);
    b.ends.push(at);
  }
  return b;
}

/** The jobs of a {@linkcode RunBatch}; bodies are views into its buffer. */
export function unpackBatch(b: RunBatch): WireJob[] {
  const body = new Uint8Array(b.body);
  const jobs: WireJob[] = [];
  let start = 0;
  for (let i = 0; i < b.tasks.length; i++) {
    const end = b.ends[i];
    jobs.push({
      k: b.k0 + i,
      task: b.tasks[i],
      data: body.subarray(start, end),
      id: b.ids[i],
      retries: b.retries[i],
      deliveryCount: b.deliveryCounts[i],
      startBy: b.startBy[i],
    });
    start = end;
  }
  return jobs;
}

/** Pool -> Web Worker. */
export type HostMessage =
  | { type: "init"; tasksUrl: string; defaults: TaskDefaults; ring: SharedArrayBuffer }
  | { type: "run"; batch: RunBatch }
  /** Compute a job's concurrency key with its task's `concurrency.key` (worker/keys/key_functions.ts). */
  | { type: "key"; k: number; task: string; data: Uint8Array };

/** Web Worker -> pool. */
export type WorkerMessage =
  | { type: "ready"; tasks: Record<string, ResolvedTaskOptions> }
  | { type: "init_error"; error: SerializedError }
  | { type: "results"; items: WireResult[] }
  | { type: "progress"; k: number; fraction: number; meta?: unknown }
  | { type: "exiting"; code: number | undefined }
  /** The answer to a `key` request: the key, or why there is none. */
  | { type: "key"; k: number; key: string | null; error?: string }
  /** What ends the thread: an error nothing caught, sent before the runtime reports it its own way. */
  | { type: "uncaught"; error: SerializedError };

const MAX_CAUSE_DEPTH = 4;

/** A stack frame in qw itself: bundled in the binary (`/$bunfs/root/`), or the Web Worker entry run from source. */
const QW_FRAME = /^\s*at .*(\/\$bunfs\/root\/|\/~BUN\/root\/|[/\\]src[/\\]worker[/\\]pool[/\\]worker_entry\.[jt]s)/;

/** A stack without qw's own frames, which say nothing about the task that failed. Pure. */
export function userStack(stack: string): string {
  return stack.split("\n").filter((line) => !QW_FRAME.test(line)).join("\n");
}

/**
 * Turn anything thrown into a {@linkcode SerializedError}; non-Errors are
 * wrapped. Never throws, whatever getters, proxies or prototypes it meets.
 */
export function serializeError(e: unknown, depth = 0): SerializedError {
  try {
    return serialize(e, depth);
  } catch (inner) {
    return { name: "Error", message: `An error that cannot be read was thrown (${safeString(inner)})` };
  }
}

function serialize(e: unknown, depth: number): SerializedError {
  if (!(e instanceof Error) && !(typeof e === "object" && e !== null && "message" in e)) {
    return { name: "NonError", message: `A non-Error value was thrown: ${describe(e)}` };
  }
  const err = e as Error & Record<string, unknown>;
  const name = attempt(() => err.name);
  const out: SerializedError = {
    name: typeof name === "string" ? name : "Error",
    message: safeString(attempt(() => err.message)),
  };
  const stack = attempt(() => err.stack);
  if (typeof stack === "string") out.stack = userStack(stack);
  const cause = attempt(() => err.cause);
  if (cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(cause, depth + 1);
  const data: Record<string, unknown> = {};
  let any = false;
  for (const key of attempt(() => Object.keys(err)) ?? []) {
    if (key === "name" || key === "message" || key === "stack" || key === "cause") continue;
    const v = attempt(() => err[key]);
    if (v === undefined || typeof v === "function") continue;
    try {
      data[key] = JSON.parse(JSON.stringify(v));
    } catch {
      data[key] = describe(v);
    }
    any = true;
  }
  if (any) out.data = data;
  return out;
}

function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Rebuild an Error from data; `name` carries its identity (never use instanceof on it). */
export function deserializeError(s: SerializedError): Error {
  const e = new Error(s.message, s.cause ? { cause: deserializeError(s.cause) } : undefined);
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  if (s.data) Object.assign(e, s.data);
  return e;
}

function describe(v: unknown): string {
  try {
    const s = typeof v === "string" ? JSON.stringify(v) : String(v);
    return s.length > 200 ? s.slice(0, 200) + "..." : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}
