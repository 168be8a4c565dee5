/**
 * Result writes of settling jobs: pipelined (none waits for another), each
 * after the job's STARTED or PROGRESS write, and bounded, so a slow results
 * bucket slows the worker instead of growing its memory.
 *
 * @module
 */

import type { Decision } from "../../core/job/ack_policy.ts";
import { errorText } from "../../client/connection.ts";
import type { Emitter } from "../../core/events.ts";
import type { ResultRecord, ResultStore } from "../../client/buckets/result_store.ts";
import { toJsonValue } from "../../core/json_value.ts";
import type { Held } from "../intake/held.ts";
import { resultRecord } from "./_outcome.ts";

/**
 * Result writes in flight at most. Past this many the worker stops pulling
 * until half have landed.
 */
export const MAX_WRITES_IN_FLIGHT = 4096;

/** The results side of settling. */
export class ResultWrites {
  #store: ResultStore;
  #emitter: Emitter;
  #worker: string;
  #now: () => number;
  #writes = 0;
  #drained: Array<() => void> = [];
  /** Tasks whose converted return value was reported already. */
  #converted = new Set<string>();

  constructor(o: { store: ResultStore; emitter: Emitter; workerName: string; now: () => number }) {
    this.#store = o.store;
    this.#emitter = o.emitter;
    this.#worker = o.workerName;
    this.#now = o.now;
  }

  /** How many more jobs the worker may take before result writes catch up (0 while too many are in flight). */
  get room(): number {
    return Math.max(0, MAX_WRITES_IN_FLIGHT - this.#writes);
  }

  /** Resolves once result writes in flight dropped to half the bound. */
  whenRoom(): Promise<void> {
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** The record a decision stores for a job (its value as the bucket stores it). */
  record(h: Held, d: Decision, value: unknown): ResultRecord {
    if (d.state === "SUCCESS" && value !== undefined) value = this.#jsonValue(h, value);
    const r = resultRecord(h, this.#worker, this.#now(), d.state!, { value, error: d.error, deadLetter: d.deadLetter, reason: d.reason, startedAt: h.startedAt });
    // A failure keeps its message, so it can be enqueued again from the dashboard (qw inspect --jobs failed lists it).
    if (r.state === "FAILURE" && d.deadLetter === undefined) r.job = retryableJob(h.msg);
    return r;
  }

  /** Resolves true once the record is stored; false (and an event) when it cannot be. */
  write(h: Held, record: ResultRecord): Promise<boolean> {
    const write = () => this.#store.write(record);
    this.#writes++;
    return (h.lastWrite ? h.lastWrite.then(write) : write()).then(
      () => true,
      (e) => {
        this.#emitter.emit({ type: "result.store_failed", id: h.id, state: record.state, error: errorText(e) });
        return false;
      },
    ).finally(() => this.#release());
  }

  /**
   * For a result written after the ack (early ack), which nothing waits for: a failed write is tried again
   * (0.2 s doubling to 5 s) until it is stored or `stopped()`, so an outage of the results bucket (its
   * leader's server frozen, killed or cut off) does not drop the result of a job that ran. It counts as in
   * flight the whole time: a bucket that stays away stops the pulling instead of growing memory.
   */
  async writeUntilStored(h: Held, record: ResultRecord, o: { stopped(): boolean; sleep(ms: number): Promise<void> }): Promise<boolean> {
    this.#writes++;
    try {
      for (let n = 1;; n++) {
        if (await this.write(h, record)) return true;
        if (o.stopped()) return false;
        await o.sleep(Math.min(5_000, 100 * 2 ** Math.min(n, 6)));
        if (o.stopped()) return false;
      }
    } finally {
      this.#release();
    }
  }

  #release(): void {
    if (--this.#writes <= MAX_WRITES_IN_FLIGHT / 2 && this.#drained.length > 0) {
      const w = this.#drained;
      this.#drained = [];
      for (const f of w) f();
    }
  }

  /** The value as the results bucket stores it; the first conversion of each task is reported. */
  #jsonValue(h: Held, value: unknown): unknown {
    const j = toJsonValue(value);
    if (j.converted !== null && !this.#converted.has(h.task)) {
      this.#converted.add(h.task);
      this.#emitter.emit({ type: "result.converted", task: h.task, id: h.id, converted: j.converted });
    }
    return j.value;
  }
}

/** Bodies larger than this are not kept in a FAILURE record (the job cannot be retried from it). */
export const MAX_KEPT_BODY = 64 * 1024;

/**
 * What a FAILURE record keeps of the message to enqueue it again: subject, body and headers but the
 * server's and those of this delivery's retry count, eta and runs. Undefined for a body that is not
 * UTF-8 or over {@linkcode MAX_KEPT_BODY}. Pure.
 */
export function retryableJob(msg: { subject: string; data: Uint8Array; headers?: Iterable<[string, string[]]> }): ResultRecord["job"] {
  if (msg.data.length > MAX_KEPT_BODY) return undefined;
  let body: string;
  try {
    body = new TextDecoder("utf-8", { fatal: true }).decode(msg.data);
  } catch {
    return undefined;
  }
  const headers: [string, string][] = [];
  for (const [k, vs] of msg.headers ?? []) {
    if (/^(nats-|qw-retries$|qw-eta$|qw-runs$)/i.test(k)) continue;
    for (const v of vs) headers.push([k, v]);
  }
  return { subject: msg.subject, body, headers };
}
