/**
 * The Web Worker pool: spawns and replaces Web Workers, queues jobs to them
 * in adaptive windows, moves queued jobs away from a Web Worker stuck on a
 * slow one, enforces hard time limits and reports starts, finishes and
 * outcomes. Never imports NATS: jobs carry an opaque `ref` the caller maps
 * back. Every job it accepted ends in exactly one `onResult`, or comes back
 * unstarted from `withdraw()`, `stop()` or `close()`; `status()` tells
 * whether it makes progress, so no job is held forever by a stopped pool.
 *
 * @module
 */

import type { WireResult } from "./protocol.ts";
import type { PoolEvent, PoolOptions, PoolStatus } from "./pool_types.ts";
import { dispatchTo, isStuck, respawnDelayMs, roomIn, runningIn, windowFor } from "./_pool_dispatch.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import { currentEntry, deathOutcomes, markStarted, type PoolJob, refused, type Slot, stealQueued, takeResults } from "./_pool_slot.ts";
import { terminateAll, withdrawAny } from "./_pool_slot.ts";
import { spawnSlot } from "./_slot_spawn.ts";

export type { PoolEvent, PoolJob, PoolOptions, PoolStatus };
export { uncaughtText } from "./_slot_spawn.ts";
export { respawnDelayMs, windowFor } from "./_pool_dispatch.ts";

const TICK_MS = 10;
const DEFAULT_SPAWN_TIMEOUT_MS = 30_000;

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
  #progressAt = Date.now();
  #readyCount = 0;

  private constructor(opts: PoolOptions<T>) {
    this.#opts = opts;
  }

  /** Spawn the Web Workers and wait until each loaded the tasks file (or the spawn timeout passed). */
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

  /**
   * How many more jobs the pool wants now. A Web Worker busy with a job that
   * takes long offers no room: what would queue behind it could only wait.
   */
  get room(): number {
    return this.#closing ? 0 : roomIn(this.#slots, this.#window(), this.#unassigned.length, Date.now());
  }

  /** Resolves when room may have grown (a job finished or a Web Worker came up). */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Whether the pool is making progress. */
  status(now = Date.now()): PoolStatus {
    const running = runningIn(this.#slots);
    return {
      size: this.#opts.size,
      ready: this.#readyCount,
      running,
      waiting: this.held - running,
      sinceProgressMs: now - this.#progressAt,
    };
  }

  /**
   * Queue a job. Dispatch waits for the end of the current I/O turn, so every
   * message of one socket read goes out in one batch per Web Worker (a message
   * costs about as much as 50 jobs in it).
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

  /** Take back a job that has not started; false when it started (or finished) meanwhile. */
  withdraw(ref: T): boolean {
    const r = withdrawAny(this.#slots, this.#unassigned, ref);
    if (r) this.#wake();
    return r;
  }

  /**
   * Terminate the Web Worker running this job (to revoke it); the jobs queued
   * behind it go to other Web Workers. False when the job does not run here.
   */
  terminate(ref: T): boolean {
    const s = this.#slots.find((x) => !x.dead && currentEntry(x)?.job.ref === ref);
    if (!s) return false;
    s.killedFor = currentEntry(s);
    s.killedAs = "revoked";
    this.#onDeath(s, "was terminated to revoke its job");
    return true;
  }

  /** Stop taking jobs and give back at once every job not started (not after the grace period). Idempotent. */
  stop(): T[] {
    this.#closing = true;
    const unstarted = this.#unassigned.splice(0).map((j) => j.ref);
    for (const s of this.#slots) unstarted.push(...stealQueued(s).map((j) => j.ref));
    this.#wake();
    return unstarted;
  }

  /** Stop ({@linkcode Pool.stop}), let running jobs finish for up to `timeoutMs`, then terminate every Web Worker. */
  async close(options: { timeoutMs: number }): Promise<{ unstarted: T[]; unfinished: T[] }> {
    const unstarted = this.stop();
    this.#closeDeadline = Math.min(this.#closeDeadline, Date.now() + options.timeoutMs);
    while (this.held > 0 && Date.now() < this.#closeDeadline) {
      await Promise.race([this.whenRoom(), new Promise((r) => setTimeout(r, Math.min(50, this.#closeDeadline - Date.now())))]);
    }
    clearInterval(this.#timer);
    const unfinished = terminateAll(this.#slots).map((j) => j.ref);
    this.#wake();
    return { unstarted, unfinished };
  }

  /** During close: stop waiting for running jobs now (a second signal). */
  hurry(): void {
    this.#closeDeadline = 0;
    this.#wake();
  }

  #window(): number {
    return windowFor(this.#avgMs);
  }

  #spawn(replacing?: Slot<T>): Promise<void> {
    const id = replacing?.id ?? this.#spawned++;
    const { slot, ready } = spawnSlot<T>(id, this.#opts, this.#opts.spawnTimeoutMs ?? DEFAULT_SPAWN_TIMEOUT_MS, {
      onReady: (tasks) => {
        this.tasks = tasks;
        this.#progressAt = Date.now();
        this.#sizeChanged(+1);
        this.#dispatch();
        this.#wake();
      },
      onResults: (items) => this.#onResults(slot, items),
      onProgress: (k, fraction, meta) => {
        const e = slot.fifo.find((x) => x.k === k);
        if (e) this.#opts.onProgress?.(e.job.ref, fraction, meta);
      },
      onLost: (reason) => this.#onDeath(slot, reason),
    });
    if (replacing) this.#slots[this.#slots.indexOf(replacing)] = slot;
    else this.#slots.push(slot);
    return ready;
  }

  #sizeChanged(delta: number): void {
    this.#readyCount += delta;
    this.#opts.onEvent?.({ type: "pool.size", ready: this.#readyCount, size: this.#opts.size });
  }

  #dispatch(): void {
    // Closing: what was not sent goes back to the owner (stop(), close()), never to a Web Worker.
    if (this.#unassigned.length === 0 || this.#closing) return;
    const window = this.#window();
    const now = Date.now();
    const max = this.#opts.maxTasksPerChild ?? Infinity;
    // Nothing queues behind a job that is already taking long: it waits here,
    // where an idle Web Worker (or withdraw) can still take it.
    const open = this.#slots.filter((s) => s.ready && !s.dead && s.assigned < max && s.fifo.length < window && !isStuck(s, now));
    if (open.length === 0) return;
    dispatchTo(open, this.#unassigned, { window, max });
  }

  #retiring(s: Slot<T>): boolean {
    return this.#opts.maxTasksPerChild !== null && s.assigned >= this.#opts.maxTasksPerChild;
  }

  #onResults(slot: Slot<T>, items: WireResult[]): void {
    if (slot.dead) return;
    this.#progressAt = Date.now();
    for (const [entry, item] of takeResults(slot, items)) {
      if (!entry.started && !refused(item.outcome)) this.#opts.onStarted(entry.job.ref);
      slot.runs++;
      if (!refused(item.outcome)) this.#avgMs = this.#avgMs < 0 ? item.ms : this.#avgMs * 0.9 + item.ms * 0.1;
      this.#opts.onResult(entry.job.ref, item.outcome, item.ms);
    }
    if (this.#retiring(slot) && slot.fifo.length === 0 && !this.#closing) {
      this.#opts.onEvent?.({ type: "worker.recycled", worker: slot.id, jobs: slot.runs });
      slot.dead = true;
      this.#sizeChanged(-1);
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
      const seen = markStarted(s, now);
      for (const e of seen.started) {
        this.#progressAt = now;
        this.#opts.onStarted(e.job.ref);
      }
      for (const e of seen.finished) this.#opts.onFinished?.(e.job.ref);
      const current = currentEntry(s);
      const limit = current ? this.tasks[current.job.task]?.timeLimit : null;
      if (current && limit && now - current.startedAt > limit * 1000) {
        this.#opts.onEvent?.({ type: "worker.time_limit", worker: s.id, task: current.job.task, id: current.job.id });
        s.killedFor = current;
        s.killedAs = "time_limit";
        this.#onDeath(s, `was terminated after the time limit of ${limit}s`);
      }
    }
    if (idle && this.#unassigned.length === 0) this.#steal(now);
    if (this.#unassigned.length > 0) this.#dispatch();
  }

  // An idle Web Worker takes the queued jobs of one stuck behind a slow job;
  // #dispatch then sends them only to Web Workers that are not stuck.
  #steal(now: number): void {
    for (const s of this.#slots) {
      if (s.dead || s.fifo.length < 2 || !isStuck(s, now)) continue;
      this.#unassigned.unshift(...stealQueued(s));
    }
    this.#dispatch();
  }

  #onDeath(slot: Slot<T>, reason: string): void {
    if (slot.dead) return;
    slot.dead = true;
    if (slot.ready) this.#sizeChanged(-1);
    slot.worker.terminate();
    if (slot.killedFor === null) this.#opts.onEvent?.({ type: "worker.lost", worker: slot.id, reason });
    const requeue = stealQueued(slot);
    for (const [e, outcome] of deathOutcomes(slot, reason)) {
      if (!e.started) this.#opts.onStarted(e.job.ref);
      this.#opts.onResult(e.job.ref, outcome, 0);
    }
    slot.fifo = [];
    this.#unassigned.unshift(...requeue);
    this.#progressAt = Date.now();
    if (!this.#closing) void this.#respawn(slot);
    this.#wake();
  }

  /** Spawn a replacement until one comes up, waiting longer after each failure; one event per failed attempt. */
  async #respawn(slot: Slot<T>): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      try {
        await this.#spawn(slot);
        return;
      } catch (e) {
        const retryInMs = respawnDelayMs(attempt);
        const error = e instanceof Error ? e.message : String(e);
        this.#opts.onEvent?.({ type: "worker.spawn_failed", worker: slot.id, error, attempt: attempt + 1, retryInMs });
        await new Promise((r) => setTimeout(r, retryInMs));
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
