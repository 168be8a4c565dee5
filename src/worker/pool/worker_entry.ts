/**
 * Runs inside each Web Worker: loads the tasks file, then runs the jobs the
 * pool sends, one at a time, in order. The handler is registered before the
 * first await so no message is lost at startup.
 *
 * Results are batched: sent when the queue runs dry, before awaiting an async
 * task, before a task with a hard time limit, every 64 jobs, or every 5 ms of
 * sync work. The ring (see protocol.ts)
 * tells the pool which jobs started without a message per job.
 *
 * @module
 */

import { Reject, Retry, SoftTimeLimitExceeded, TasksFileError } from "../../core/errors.ts";
import { displayPath, errorLine, loadErrorText } from "../../core/task/load_error.ts";
import type { Outcome } from "../../core/job/ack_policy.ts";
import {
  type HostMessage,
  serializeError,
  slotOf,
  Status,
  tag,
  type WireJob,
  type WireResult,
  unpackBatch,
  type WorkerMessage,
} from "./protocol.ts";
import { registerQwModule } from "../../core/runtime.ts";
import { collectTasks, matchesError, type TaskEntry } from "../../core/task/task.ts";
import * as api from "../../core/task/task_api.ts";
import { type ProgressReporter, progressReporter } from "./_progress.ts";
import { keyReply } from "./_key_reply.ts";
import type { RetryOptions, TaskContext } from "../../core/types.ts";
import { firstLine, isThenable, runBatch } from "./_batch_run.ts";

declare const self: {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(m: WorkerMessage): void;
  addEventListener(t: string, f: (e: Event) => void): void;
};

const FLUSH_EVERY = 64;
const FLUSH_MS = 5;

let tasks: Map<string, TaskEntry> | null = null;
let ring: Int32Array;
const queue: WireJob[] = [];
let head = 0;
let pending: WireResult[] = [];
let pumping = false;
let lastFlush = 0;
const decoder = new TextDecoder();

self.onmessage = (e: MessageEvent) => {
  const msg = e.data as HostMessage;
  switch (msg.type) {
    case "init":
      void init(msg);
      break;
    case "run":
      for (const job of unpackBatch(msg.batch)) queue.push(job);
      if (!pumping && tasks) void pump();
      break;
    case "key":
      self.postMessage(keyReply(tasks, msg));
      break;
    default: {
      const never: never = msg;
      throw new Error(`Unknown message ${JSON.stringify(never)}`);
    }
  }
};

// Report finished jobs before the thread goes away, so only the job that
// killed it counts as lost; and say what killed it as data, so the host can
// name it, whatever the runtime's own report looks like.
const uncaught = (e: unknown) => {
  flush();
  self.postMessage({ type: "uncaught", error: serializeError(e) });
};
self.addEventListener("error", (e) => uncaught((e as ErrorEvent).error ?? (e as ErrorEvent).message));
self.addEventListener("unhandledrejection", (e) => uncaught((e as PromiseRejectionEvent).reason));
const proc = (globalThis as { process?: { exit: (code?: number) => never } }).process;
if (proc) {
  const exit = proc.exit.bind(proc);
  proc.exit = (code?: number) => {
    flush();
    self.postMessage({ type: "exiting", code });
    return exit(code);
  };
}

async function init(msg: Extract<HostMessage, { type: "init" }>): Promise<void> {
  ring = new Int32Array(msg.ring);
  registerQwModule({ ...api });
  let mod: Record<string, unknown>;
  try {
    mod = await import(msg.tasksUrl);
  } catch (e) {
    const error = new TasksFileError(`Cannot load tasks file '${displayPath(msg.tasksUrl)}': ${loadErrorText(e)}`);
    self.postMessage({ type: "init_error", error: serializeError(error) });
    return;
  }
  const fail = (why: string) => {
    const error = new TasksFileError(`Cannot load tasks file '${displayPath(msg.tasksUrl)}' as ${why}`);
    self.postMessage({ type: "init_error", error: serializeError(error) });
  };
  try {
    tasks = collectTasks(mod, msg.defaults);
  } catch (e) {
    tasks = null;
    return fail(e instanceof Error ? e.message : String(e));
  }
  if (tasks.size === 0) {
    const error = new TasksFileError(`Cannot run tasks file '${displayPath(msg.tasksUrl)}' as it exports no function`);
    self.postMessage({ type: "init_error", error: serializeError(error) });
    return;
  }
  const table = Object.fromEntries([...tasks].map(([name, t]) => [name, t.options]));
  // Options are data for the host; one that is not (a function in a schedule's args) is named, not a DOMException.
  for (const [name, options] of Object.entries(table)) {
    try {
      structuredClone(options);
    } catch (e) {
      tasks = null;
      return fail(`the options of task '${name}' cannot be sent to the host: ${errorLine(serializeError(e))}`);
    }
  }
  self.postMessage({ type: "ready", tasks: table });
  if (head < queue.length) void pump();
}

async function pump(): Promise<void> {
  pumping = true;
  try {
    while (head < queue.length) {
      const job = queue[head++];
      if (head >= 1024) {
        queue.splice(0, head);
        head = 0;
      }
      const slot = slotOf(job.k);
      const queued = tag(job.k, Status.QUEUED);
      // Claim it, unless the pool moved it to an idle Web Worker meanwhile.
      if (Atomics.compareExchange(ring, slot, queued, tag(job.k, Status.CLAIMED)) !== queued) continue;
      // Past its expiry while it was queued: it never starts (INVALID: refused without running).
      if (job.startBy && Date.now() >= job.startBy) {
        Atomics.store(ring, slot, tag(job.k, Status.INVALID));
        pending.push({ k: job.k, ms: 0, outcome: { kind: "expired", at: job.startBy } });
        continue;
      }
      // Report what finished before a job that may take long (a hard time
      // limit may end this thread, and a long synchronous task holds the
      // thread): those results would wait for it, or die with the thread.
      if (pending.length > 0 && mayTakeLong(job.task)) flush();
      const r = runJob(job);
      if (r instanceof Promise) {
        flush();
        pending.push(await r);
      } else {
        pending.push(r);
      }
      if (pending.length >= FLUSH_EVERY || performance.now() - lastFlush > FLUSH_MS) flush();
    }
  } finally {
    pumping = false;
    flush();
  }
}

/** Each task's average run time in this Web Worker (ms). */
const avgMs = new Map<string, number>();

/** Not known to be quick: a hard time limit, no run measured yet here, or an average run over 1 ms. */
function mayTakeLong(task: string): boolean {
  const avg = avgMs.get(task);
  return avg === undefined || avg > 1 || (tasks!.get(task)?.options.timeLimit ?? null) !== null;
}

function runJob(job: WireJob): WireResult | Promise<WireResult> {
  const t0 = performance.now();
  const entry = tasks!.get(job.task);
  if (!entry) return finish(job, t0, { kind: "invalid", reason: `Unknown task '${job.task}'` });
  if (entry.options.batch) {
    const running = () => Atomics.store(ring, slotOf(job.k), tag(job.k, Status.RUNNING));
    return runBatch(job, entry, { running, finish: (o) => finish(job, t0, o), classify: (e) => classify(e, entry) });
  }
  let args: unknown[];
  try {
    const body = JSON.parse(decoder.decode(job.data));
    if (body === null || typeof body !== "object" || !Array.isArray(body.args)) {
      return finish(job, t0, { kind: "invalid", reason: "Body has no 'args' array: expected {\"args\": [...]}" });
    }
    args = body.args;
  } catch (e) {
    return finish(job, t0, { kind: "invalid", reason: `Body is not valid JSON: ${firstLine(e)}` });
  }
  Atomics.store(ring, slotOf(job.k), tag(job.k, Status.RUNNING));
  let controller: AbortController | undefined;
  const signal = () => (controller ??= new AbortController()).signal;
  let reporter: ProgressReporter | undefined;
  const progress = () => (reporter ??= progressReporter((fraction, meta) => self.postMessage({ type: "progress", k: job.k, fraction, meta })));
  const ctx = () => makeContext(job, signal(), progress);
  api._setCurrentTask(ctx);
  let value: unknown;
  try {
    value = entry.options.bind ? entry.fn(ctx(), ...args) : entry.fn(...args);
  } catch (e) {
    api._setCurrentTask(null);
    reporter?.end();
    return finish(job, t0, classify(e, entry));
  }
  if (!isThenable(value)) {
    api._setCurrentTask(null);
    reporter?.end();
    return finish(job, t0, { kind: "success", value });
  }
  const soft = entry.options.softTimeLimit;
  const timer = soft === null ? undefined : setTimeout(() => {
    signal();
    controller!.abort(new SoftTimeLimitExceeded(`Soft time limit (${soft}s) exceeded`));
  }, soft * 1000);
  return Promise.resolve(value).then(
    (v) => finish(job, t0, { kind: "success", value: v }),
    (e) => finish(job, t0, classify(e, entry)),
  ).finally(() => {
    clearTimeout(timer);
    reporter?.end();
    api._setCurrentTask(null);
  });
}

function finish(job: WireJob, t0: number, outcome: Outcome): WireResult {
  Atomics.store(ring, slotOf(job.k), tag(job.k, outcome.kind === "invalid" ? Status.INVALID : Status.DONE));
  const ms = performance.now() - t0;
  const avg = avgMs.get(job.task);
  avgMs.set(job.task, avg === undefined ? ms : avg * 0.9 + ms * 0.1);
  return { k: job.k, ms, outcome };
}

function classify(e: unknown, entry: TaskEntry): Outcome {
  const name = (e as Error | null)?.name;
  if (name === "Retry") {
    const r = e as Retry;
    return {
      kind: "retry",
      countdown: r.countdown,
      maxRetries: r.maxRetries,
      exc: r.exc === undefined ? undefined : serializeError(r.exc),
    };
  }
  if (name === "Reject") return { kind: "reject", requeue: (e as Reject).requeue === true, reason: (e as Error).message };
  if (name === "Ignore") return { kind: "ignore" };
  const autoretry = !matchesError(e, entry.dontAutoretryFor) && matchesError(e, entry.autoretryFor);
  return { kind: "error", error: serializeError(e), autoretry };
}

function makeContext(job: WireJob, signal: AbortSignal, progress: () => ProgressReporter): TaskContext {
  return {
    id: job.id,
    name: job.task,
    retries: job.retries,
    deliveryCount: job.deliveryCount,
    redelivered: job.deliveryCount > 1,
    signal,
    retry(options: RetryOptions = {}): never {
      throw new Retry("Retry requested", options);
    },
    reject(reason?: string, options?: { requeue?: boolean }): never {
      throw new Reject(reason, options);
    },
    progress(fraction: number, meta?: unknown): void {
      progress().report(fraction, meta);
    },
  };
}

function flush(): void {
  lastFlush = performance.now();
  if (pending.length === 0) return;
  const items = pending;
  pending = [];
  try {
    self.postMessage({ type: "results", items });
  } catch {
    // One uncloneable return value must not lose the batch: send one by one.
    for (const item of items) {
      try {
        self.postMessage({ type: "results", items: [item] });
      } catch (e) {
        const error = serializeError(new TypeError(`Cannot send the task's return value: ${firstLine(e)}`));
        self.postMessage({ type: "results", items: [{ ...item, outcome: { kind: "error", error, autoretry: false } }] });
      }
    }
  }
}

