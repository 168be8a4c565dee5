/**
 * Batch tasks on the host: fills one batch per batch task (when it goes is
 * core/task/batch.ts), hands each to the pool as one job, and fans the call's
 * start, finish and outcome out to its items, so the owner of the pool (the
 * dispatcher) sees each item as a job of its own: its own ack, lease, retries
 * and result. Jobs of other tasks pass straight through. Never imports NATS.
 *
 * @module
 */

import { Pool, type PoolJob, type PoolOptions, type PoolStatus } from "./pool.ts";
import { argsOfBody, batchDueInMs, itemOutcomes } from "../../core/task/batch.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import { encodeBatch, type WireItem } from "./batch_wire.ts";

/** A job of a batch being filled, its body read. */
interface Item<T> {
  ref: T;
  wire: WireItem;
}

/** The pool's handle of one batch call: its items, in call order. */
class BatchCall<T> {
  constructor(readonly jobs: Item<T>[]) {}
}

type Ref<T> = T | BatchCall<T>;

interface Filling<T> {
  jobs: Item<T>[];
  firstAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const decoder = new TextDecoder();

const refsOf = <T>(refs: Ref<T>[]): T[] => refs.flatMap((r) => (r instanceof BatchCall ? r.jobs.map((j) => j.ref) : [r]));

/** The pool, with batch tasks' jobs grouped into calls. Same surface as {@linkcode Pool}. */
export class BatchPool<T> {
  #pool: Pool<Ref<T>>;
  #filling = new Map<string, Filling<T>>();
  #stopped = false;
  #now: () => number;
  #opts: PoolOptions<T>;

  private constructor(pool: Pool<Ref<T>>, opts: PoolOptions<T>, now: () => number) {
    this.#pool = pool;
    this.#opts = opts;
    this.#now = now;
  }

  /** Start the pool ({@linkcode Pool.start}); its callbacks get items, never calls. */
  static async start<T>(opts: PoolOptions<T>, now: () => number = Date.now): Promise<BatchPool<T>> {
    const each = (r: Ref<T>, f: (ref: T) => void) => (r instanceof BatchCall ? r.jobs.forEach((j) => f(j.ref)) : f(r));
    const pool = await Pool.start<Ref<T>>({
      ...opts,
      onStarted: (r) => each(r, opts.onStarted),
      onFinished: (r) => each(r, (ref) => opts.onFinished?.(ref)),
      onResult: (r, outcome, ms) => {
        if (!(r instanceof BatchCall)) return opts.onResult(r, outcome, ms);
        const outcomes = itemOutcomes(outcome, r.jobs.length);
        r.jobs.forEach((j, i) => opts.onResult(j.ref, outcomes[i], ms));
      },
      // A batch call reports no progress per item.
      onProgress: (r, fraction, meta) => !(r instanceof BatchCall) && opts.onProgress?.(r, fraction, meta),
    });
    return new BatchPool(pool, opts, now);
  }

  /** Resolved options of every task in the tasks file. */
  get tasks(): Record<string, ResolvedTaskOptions> {
    return this.#pool.tasks;
  }

  /** Jobs held: in the pool (a call counts once) and in batches being filled. */
  get held(): number {
    let n = this.#pool.held;
    for (const f of this.#filling.values()) n += f.jobs.length;
    return n;
  }

  /**
   * How many more jobs the pool wants now: with a batch task, each free place
   * in the pool takes a whole batch (of the largest size), less what is being
   * filled.
   */
  get room(): number {
    const room = this.#pool.room;
    let size = 0;
    for (const t of Object.values(this.#pool.tasks)) size = Math.max(size, t.batch?.size ?? 0);
    if (size === 0) return room;
    let filling = 0;
    for (const f of this.#filling.values()) filling += f.jobs.length;
    return Math.max(0, room * size - filling);
  }

  /** See {@linkcode Pool.whenRoom}. */
  whenRoom(): Promise<void> {
    return this.#pool.whenRoom();
  }

  /** See {@linkcode Pool.status}. */
  status(now?: number): PoolStatus {
    return this.#pool.status(now);
  }

  /**
   * Queue a job: a batch task's job joins its task's batch, which goes when
   * full or when its wait ran out. One whose body is not a job fails alone
   * at once, never started.
   */
  submit(job: PoolJob<T>): void {
    const batch = this.#pool.tasks[job.task]?.batch;
    if (!batch) return this.#pool.submit(job);
    const args = argsOfBody(decoder.decode(job.data));
    if (typeof args === "string") return this.#opts.onResult(job.ref, { kind: "invalid", reason: args }, 0);
    let f = this.#filling.get(job.task);
    if (!f) this.#filling.set(job.task, f = { jobs: [], firstAt: this.#now(), timer: undefined });
    const wire = { id: job.id, retries: job.retries, deliveryCount: job.deliveryCount, startBy: job.startBy ?? 0, args };
    f.jobs.push({ ref: job.ref, wire });
    if (this.#stopped) return;
    const due = batchDueInMs({ count: f.jobs.length, firstAt: f.firstAt }, batch, this.#now());
    if (due === 0) this.#send(job.task);
    else f.timer ??= setTimeout(() => this.#send(job.task), due);
  }

  #send(task: string): void {
    const f = this.#filling.get(task);
    if (!f || this.#stopped) return;
    clearTimeout(f.timer);
    this.#filling.delete(task);
    const jobs = f.jobs;
    const data = encodeBatch(jobs.map((j) => j.wire));
    this.#pool.submit({ task, data, id: jobs[0].wire.id, retries: 0, deliveryCount: 1, ref: new BatchCall(jobs) });
  }

  /** Take back a job that has not started: from a batch being filled; one in a call sent to the pool stays. */
  withdraw(ref: T): boolean {
    for (const f of this.#filling.values()) {
      const at = f.jobs.findIndex((j) => j.ref === ref);
      if (at < 0) continue;
      f.jobs.splice(at, 1);
      return true;
    }
    return this.#pool.withdraw(ref);
  }

  /** See {@linkcode Pool.terminate}; an item of a batch call is never terminated alone (false). */
  terminate(ref: T): boolean {
    return this.#pool.terminate(ref);
  }

  /** See {@linkcode Pool.stop}; the jobs of batches being filled and of calls not started come back too. */
  stop(): T[] {
    this.#stopped = true;
    const filled: T[] = [];
    for (const f of this.#filling.values()) {
      clearTimeout(f.timer);
      filled.push(...f.jobs.map((j) => j.ref));
    }
    this.#filling.clear();
    return [...filled, ...refsOf(this.#pool.stop())];
  }

  /** See {@linkcode Pool.close}: a call's items come back together. */
  async close(options: { timeoutMs: number }): Promise<{ unstarted: T[]; unfinished: T[] }> {
    const filled = this.stop();
    const { unstarted, unfinished } = await this.#pool.close(options);
    return { unstarted: [...filled, ...refsOf(unstarted)], unfinished: refsOf(unfinished) };
  }

  /** See {@linkcode Pool.hurry}. */
  hurry(): void {
    this.#pool.hurry();
  }
}
