/**
 * `client.enqueueMany()`: many jobs checked first (a bad one publishes
 * nothing), then published by batch_publish.ts in atomic batches where the
 * server (2.12+) and the stream (`allow_atomic`) allow it, else one by one.
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { fanoutMode } from "../core/job/atomic_batch.ts";
import { serverFeatures } from "../core/server_features.ts";
import { publishMany } from "./batch_publish.ts";
import type { EnqueueReceipt, TaskArgs, TaskName } from "./client_types.ts";
import { type EnqueueOptions, prepareJob } from "./prepare_job.ts";

/** One job of `enqueueMany()`: its task, args and options, as `enqueue(task, args, options)` takes them. */
// deno-lint-ignore no-explicit-any
export type ManyJob<T = any> = {
  [K in TaskName<T>]: { task: K; args: TaskArgs<T, K>; options?: EnqueueOptions };
}[TaskName<T>];

/** Options of `enqueueMany()`. */
export interface EnqueueManyOptions {
  /** Called as jobs are stored, with how many are stored so far and how many there are. */
  onProgress?: (done: number, total: number) => void;
}

/** Publishes many jobs of one client; remembers whether its stream allows atomic batches. */
export class ManyPublisher {
  #allowAtomic: Promise<boolean> | null = null;

  constructor(
    private readonly c: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager; stream: string },
  ) {}

  /** Check every job, then publish them all; resolves to a receipt per job, in order. */
  async send(jobs: readonly ManyJob[], options: EnqueueManyOptions = {}): Promise<EnqueueReceipt[]> {
    if (!Array.isArray(jobs)) throw new TypeError(`Cannot enqueue jobs as 'jobs' must be an array: current value is ${JSON.stringify(String(jobs))}`);
    const now = Date.now();
    const prepared = jobs.map((j, i) => {
      try {
        if (j === null || typeof j !== "object") throw new TypeError("Cannot enqueue job as it must be an object with 'task' and 'args'");
        return prepareJob(j.task, j.args, j.options, now);
      } catch (e) {
        const Kind = e instanceof RangeError ? RangeError : TypeError;
        throw new Kind(`${(e as Error).message} (job ${i + 1} of ${jobs.length})`);
      }
    });
    if (prepared.length === 0) return [];
    const atomicBatch = serverFeatures(this.c.nc.info?.version).atomicBatch && prepared.length > 1;
    const allowAtomic = atomicBatch ? await this.#streamAllowsAtomic() : false;
    const mode = fanoutMode({ atomicBatch, allowAtomic, count: prepared.length });
    const onProgress = options.onProgress;
    const acks = await publishMany(this.c, prepared, {
      mode,
      now,
      onProgress: onProgress && ((done) => onProgress(done, prepared.length)),
    });
    return prepared.map((job, i) => ({
      id: job.id,
      seq: acks[i].seq,
      duplicate: acks[i].duplicate,
      delayed: job.etaMs !== null && job.etaMs > now,
    }));
  }

  /** The stream's `allow_atomic`, read once (an existing stream is used as it is). */
  #streamAllowsAtomic(): Promise<boolean> {
    this.#allowAtomic ??= this.c.jsm.streams.info(this.c.stream).then(
      (si) => si.config.allow_atomic === true,
      (e) => {
        this.#allowAtomic = null;
        throw e;
      },
    );
    return this.#allowAtomic;
  }
}
