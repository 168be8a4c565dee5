/**
 * The Web Worker pool: spawns and replaces Web Workers, queues jobs to them
 * in adaptive windows, moves queued jobs away from a Web Worker stuck on a
 * slow one, enforces hard time limits and reports starts and outcomes.
 * Never imports NATS: jobs carry an opaque `ref` the caller maps back.
 *
 * @module
 */

import type { Outcome } from "../core/ack_policy.ts";
import { TasksFileError, TimeLimitExceeded, WorkerLostError } from "../core/errors.ts";
import {
  type HostMessage,
  RING_SIZE,
  serializeError,
  Status,
  statusOf,
  slotOf,
  tag,
  type TaskDefaults,
  packBatch,
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

/** What the pool tells its owner about its Web Workers. */
export type PoolEvent =
  | { type: "worker.lost"; worker: number; reason: string }
  | { type: "worker.time_limit"; worker: number; task: string; id: string }
  | { type: "worker.recycled"; worker: number; jobs: number }
  | { type: "worker.spawn_failed"; worker: number; error: string };

/** Pool settings. */
export interface PoolOptions<T> {
  size: number;
  tasksUrl: string;
  defaults: TaskDefaults;
  maxTasksPerChild: number | null;
  /** The early-ack moment: the Web Worker started the job. */
  onStarted(ref: T): void;
  onResult(ref: T, outcome: Outcome, ms: number): void;
  onEvent?(e: PoolEvent): void;
  createWorker(name: string): Worker;
}

interface Entry<T> {
  k: number;
  job: PoolJob<T>;
  started: boolean;
  startedAt: number;
}

interface Slot<T> {
  id: number;
  worker: Worker;
  ring: Int32Array;
  ready: boolean;
  dead: boolean;
  killedFor: "time_limit" | null;
  nextK: number;
  fifo: Entry<T>[];
  runs: number;
  /** Jobs sent and not stolen back: what maxTasksPerChild counts. */
  assigned: number;
}

// Keep about this much work queued in each Web Worker; deep windows for fast
// jobs, one job for slow ones.
const TARGET_QUEUE_MS = 4;
const MAX_WINDOW = 256;
const TICK_MS = 10;
const STEAL_AFTER_MS = 20;

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

/** A pool of Web Workers, each running one job at a time. */
export class Pool<T> {
  /** Resolved options of every task in the tasks file. */
  tasks: Record<string, ResolvedTaskOptions> = {};
  #opts: PoolOptions<T>;
  #slots: Slot<T>[] = [];
  #unassigned: PoolJob<T>[] = [];
  #avgMs = -1;
  #timer: ReturnType<typeof setInterval> | undefined;
  #scheduled = false;
  #closing = false;
  #spawned = 0;
  #waiters: Array<() => void> = [];
  #closeDeadline = Infinity;

  private constructor(opts: PoolOptions<T>) {
    this.#opts = opts;
  }

  /** Spawn the Web Workers and wait until each loaded the tasks file. */
  static async start<T>(opts: PoolOptions<T>): Promise<Pool<T>> {
    const pool = new Pool(opts);
    try {
      await Promise.all(Array.from({ length: opts.size }, () => pool.#spawn()));
    } catch (e) {
      for (const s of pool.#slots) s.worker.terminate();
      throw e;
    }
    pool.#timer = setInterval(() => pool.#tick(), TICK_MS);
    return pool;
  }

  /** Jobs the pool holds: not yet sent, queued in a Web Worker, or running. */
  get held(): number {
    let n = this.#unassigned.length;
    for (const s of this.#slots) n += s.fifo.length;
    return n;
  }

  /** How many more jobs the pool wants now. */
  get room(): number {
    if (this.#closing) return 0;
    const live = this.#slots.filter((s) => !s.dead).length;
    return Math.max(0, live * this.#window() - this.held);
  }

  /** Resolves when room may have grown (a job finished or a Web Worker came up). */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Queue a job. Dispatch waits for the end of the current I/O turn, so every
   * message of one socket read goes out in one batch per Web Worker: a message
   * to a Web Worker costs about as much as 50 jobs in it, and fast Web Workers
   * are idle most of the time, so sending each job at once would cost a round
   * trip per job.
   */
  submit(job: PoolJob<T>): void {
    this.#unassigned.push(job);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#dispatch();
      });
    }
  }

  /**
   * Stop taking jobs, hand back those not started, let running ones finish
   * for up to `timeoutMs`, then terminate every Web Worker.
   */
  async close(options: { timeoutMs: number }): Promise<{ unstarted: T[]; unfinished: T[] }> {
    this.#closing = true;
    const unstarted = this.#unassigned.splice(0).map((j) => j.ref);
    for (const s of this.#slots) unstarted.push(...this.#stealQueued(s, Infinity).map((j) => j.ref));
    this.#closeDeadline = Math.min(this.#closeDeadline, Date.now() + options.timeoutMs);
    while (this.held > 0 && Date.now() < this.#closeDeadline) {
      await Promise.race([this.whenRoom(), new Promise((r) => setTimeout(r, Math.min(50, this.#closeDeadline - Date.now())))]);
    }
    clearInterval(this.#timer);
    const unfinished: T[] = [];
    for (const s of this.#slots) {
      unfinished.push(...s.fifo.map((e) => e.job.ref));
      s.fifo = [];
      s.dead = true;
      s.worker.terminate();
    }
    this.#wake();
    return { unstarted, unfinished };
  }

  /** During close: stop waiting for running jobs now (a second signal). */
  hurry(): void {
    this.#closeDeadline = 0;
    this.#wake();
  }

  #window(): number {
    if (this.#avgMs < 0) return 1;
    return Math.max(1, Math.min(MAX_WINDOW, Math.ceil(TARGET_QUEUE_MS / Math.max(this.#avgMs, 0.001))));
  }

  #spawn(replacing?: Slot<T>): Promise<void> {
    const id = replacing?.id ?? this.#spawned++;
    const worker = this.#opts.createWorker(`qw-${id}`);
    const sab = new SharedArrayBuffer(RING_SIZE * 4);
    const slot: Slot<T> = {
      id, worker, ring: new Int32Array(sab), ready: false, dead: false, killedFor: null, nextK: 0, fifo: [], runs: 0, assigned: 0,
    };
    if (replacing) this.#slots[this.#slots.indexOf(replacing)] = slot;
    else this.#slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent) => {
        const msg = e.data as WorkerMessage;
        switch (msg.type) {
          case "ready":
            this.tasks = msg.tasks;
            slot.ready = true;
            resolve();
            this.#dispatch();
            this.#wake();
            break;
          case "init_error":
            slot.dead = true;
            worker.terminate();
            reject(new TasksFileError(msg.error.message));
            break;
          case "results":
            this.#onResults(slot, msg.items);
            break;
          case "exiting":
            // Deno reports no event when a Web Worker calls process.exit().
            lost(`exited with code ${msg.code ?? 0}`);
            break;
          default: {
            const never: never = msg;
            throw new Error(`Unknown message from Web Worker: ${JSON.stringify(never)}`);
          }
        }
      };
      const lost = (reason: string) => {
        if (!slot.ready && !slot.dead) {
          slot.dead = true;
          reject(new TasksFileError(`Cannot load tasks file: its Web Worker ${reason}`));
          return;
        }
        this.#onDeath(slot, reason);
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault?.();
        lost(`threw an uncaught error: ${uncaughtText(e)}`);
      };
      worker.addEventListener("close", (e) => lost(`exited with code ${(e as unknown as { code?: number }).code ?? "?"}`));
      worker.postMessage({ type: "init", tasksUrl: this.#opts.tasksUrl, defaults: this.#opts.defaults, ring: sab } satisfies HostMessage);
    });
  }

  #dispatch(): void {
    if (this.#unassigned.length === 0) return;
    const window = this.#window();
    const now = Date.now();
    const max = this.#opts.maxTasksPerChild ?? Infinity;
    let open = this.#slots.filter((s) => s.ready && !s.dead && s.assigned < max && s.fifo.length < window);
    // Queue nothing behind a job that is already taking long, while another Web Worker can take it.
    const free = open.filter((s) => !this.#stuck(s, now));
    if (free.length > 0) open = free;
    if (open.length === 0) return;
    const batches = new Map<Slot<T>, { k0: number; jobs: PoolJob<T>[] }>();
    let i = 0;
    // Spread evenly so a burst does not fill one Web Worker while another idles.
    while (this.#unassigned.length > 0 && open.length > 0) {
      const s = open[i % open.length];
      const job = this.#unassigned.shift()!;
      const k = s.nextK++;
      Atomics.store(s.ring, slotOf(k), tag(k, Status.QUEUED));
      s.fifo.push({ k, job, started: false, startedAt: 0 });
      s.assigned++;
      let b = batches.get(s);
      if (!b) batches.set(s, b = { k0: k, jobs: [] });
      b.jobs.push(job);
      if (s.fifo.length >= window || s.fifo[0].k + RING_SIZE <= s.nextK || s.assigned >= max) open.splice(open.indexOf(s), 1);
      else i++;
    }
    for (const [s, { k0, jobs }] of batches) {
      const batch = packBatch(k0, jobs);
      s.worker.postMessage({ type: "run", batch } satisfies HostMessage, [batch.body]);
    }
  }

  #retiring(s: Slot<T>): boolean {
    return this.#opts.maxTasksPerChild !== null && s.assigned >= this.#opts.maxTasksPerChild;
  }

  #stuck(s: Slot<T>, now: number): boolean {
    const head = s.fifo[0];
    return head !== undefined && head.started && now - head.startedAt >= STEAL_AFTER_MS;
  }

  #onResults(slot: Slot<T>, items: WireResult[]): void {
    if (slot.dead) return;
    // Results come in queue order: take them off the front in one splice.
    let head = 0;
    for (const item of items) {
      let entry: Entry<T>;
      if (slot.fifo[head]?.k === item.k) entry = slot.fifo[head++];
      else {
        slot.fifo.splice(0, head);
        head = 0;
        const at = slot.fifo.findIndex((e) => e.k === item.k);
        if (at < 0) continue;
        entry = slot.fifo.splice(at, 1)[0];
      }
      if (!entry.started && item.outcome.kind !== "invalid") this.#opts.onStarted(entry.job.ref);
      slot.runs++;
      this.#avgMs = this.#avgMs < 0 ? item.ms : this.#avgMs * 0.9 + item.ms * 0.1;
      this.#opts.onResult(entry.job.ref, item.outcome, item.ms);
    }
    slot.fifo.splice(0, head);
    if (this.#retiring(slot) && slot.fifo.length === 0 && !this.#closing) {
      this.#opts.onEvent?.({ type: "worker.recycled", worker: slot.id, jobs: slot.runs });
      slot.dead = true;
      slot.worker.terminate();
      void this.#respawn(slot);
    }
    this.#dispatch();
    this.#wake();
  }

  #tick(): void {
    const now = Date.now();
    let idle = false;
    for (const s of this.#slots) {
      if (s.dead || !s.ready) continue;
      if (s.fifo.length === 0) idle = true;
      for (const e of s.fifo) {
        if (e.started) continue;
        // Only RUNNING: a job already DONE may be an undecodable one that never
        // ran (its "invalid" result decides it, not an early ack).
        if (statusOf(s.ring, e.k) !== Status.RUNNING) break;
        e.started = true;
        e.startedAt = now;
        this.#opts.onStarted(e.job.ref);
      }
      const head = s.fifo[0];
      const limit = head?.started ? this.tasks[head.job.task]?.timeLimit : null;
      if (head && limit && now - head.startedAt > limit * 1000) {
        this.#opts.onEvent?.({ type: "worker.time_limit", worker: s.id, task: head.job.task, id: head.job.id });
        s.killedFor = "time_limit";
        this.#onDeath(s, `was terminated after the time limit of ${limit}s`);
      }
    }
    if (idle && this.#unassigned.length === 0) this.#steal(now);
  }

  // An idle Web Worker takes the queued jobs of one stuck behind a slow job;
  // #dispatch then sends them only to Web Workers that are not stuck.
  #steal(now: number): void {
    for (const s of this.#slots) {
      if (s.dead || s.fifo.length < 2 || !this.#stuck(s, now)) continue;
      this.#unassigned.unshift(...this.#stealQueued(s, Infinity));
    }
    this.#dispatch();
  }

  #stealQueued(s: Slot<T>, max: number): PoolJob<T>[] {
    const moved: PoolJob<T>[] = [];
    for (let i = s.fifo.length - 1; i >= 0 && moved.length < max; i--) {
      const e = s.fifo[i];
      const queued = tag(e.k, Status.QUEUED);
      if (Atomics.compareExchange(s.ring, slotOf(e.k), queued, tag(e.k, Status.STOLEN)) !== queued) break;
      s.fifo.splice(i, 1);
      s.assigned--;
      moved.unshift(e.job);
    }
    return moved;
  }

  #onDeath(slot: Slot<T>, reason: string): void {
    if (slot.dead) return;
    slot.dead = true;
    slot.worker.terminate();
    const timeLimit = slot.killedFor === "time_limit";
    if (!timeLimit) this.#opts.onEvent?.({ type: "worker.lost", worker: slot.id, reason });
    const requeue = this.#stealQueued(slot, Infinity);
    for (const e of slot.fifo) {
      const st = statusOf(slot.ring, e.k);
      const finished = st === Status.DONE;
      const err = timeLimit && !finished
        ? new TimeLimitExceeded(`Task '${e.job.task}' exceeded its time limit: its Web Worker ${reason}`)
        : new WorkerLostError(
          finished
            ? `Task '${e.job.task}' finished but its result was lost: its Web Worker ${reason}`
            : `Task '${e.job.task}' was running when its Web Worker ${reason}`,
        );
      if (!e.started) this.#opts.onStarted(e.job.ref);
      this.#opts.onResult(e.job.ref, { kind: timeLimit && !finished ? "time_limit" : "worker_lost", error: serializeError(err) }, 0);
    }
    slot.fifo = [];
    this.#unassigned.unshift(...requeue);
    if (!this.#closing) void this.#respawn(slot);
    this.#wake();
  }

  async #respawn(slot: Slot<T>): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      try {
        await this.#spawn(slot);
        return;
      } catch (e) {
        this.#opts.onEvent?.({ type: "worker.spawn_failed", worker: slot.id, error: e instanceof Error ? e.message : String(e) });
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        slot = this.#slots.find((s) => s.id === slot.id)!;
      }
    }
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
