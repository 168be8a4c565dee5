/**
 * Runs one batch call inside a Web Worker: calls the task with the items that
 * did not expire while the call waited, and turns what the call returned (or threw)
 * into one outcome per item (core/task/batch.ts). Private to worker_entry.ts.
 *
 * @module
 */

import type { Outcome } from "../../core/job/ack_policy.ts";
import { SoftTimeLimitExceeded } from "../../core/errors.ts";
import { badReturnMessage, type BatchValue, returnedOutcomes } from "../../core/task/batch.ts";
import type { TaskEntry } from "../../core/task/task.ts";
import type { BatchItem } from "../../core/types.ts";
import { decodeBatch } from "./batch_wire.ts";
import { serializeError, type WireJob, type WireResult } from "./protocol.ts";

/** What the Web Worker's runner lends a batch call. */
export interface BatchHooks {
  /** Mark the call running in the ring (the early-ack moment of every item). */
  running(): void;
  /** End the call with this outcome. */
  finish(outcome: Outcome): WireResult;
  /** Classify what an item failed with (or what the whole call threw), as for a job of its own. */
  classify(e: unknown): Outcome;
}

/** Run the batch call `job`; its outcome is a success carrying one outcome per item ({@linkcode BatchValue}). */
export function runBatch(job: WireJob, entry: TaskEntry, h: BatchHooks): WireResult | Promise<WireResult> {
  const wire = decodeBatch(job.data);
  const outcomes: Outcome[] = new Array(wire.length);
  const items: BatchItem[] = [];
  const at: number[] = [];
  const now = Date.now();
  wire.forEach((w, i) => {
    if (w.startBy && now >= w.startBy) outcomes[i] = { kind: "expired", at: w.startBy };
    else {
      items.push({ id: w.id, args: w.args, retries: w.retries, deliveryCount: w.deliveryCount, redelivered: w.deliveryCount > 1 });
      at.push(i);
    }
  });
  const done = (per: Outcome[]): WireResult => {
    per.forEach((o, j) => (outcomes[at[j]] = o));
    return h.finish({ kind: "success", value: { qwBatch: outcomes } satisfies BatchValue });
  };
  if (items.length === 0) return done([]);
  h.running();
  const fromReturn = (v: unknown) =>
    returnedOutcomes(v, items.length, {
      classify: h.classify,
      badReturn: () => ({ kind: "error", error: serializeError(new TypeError(badReturnMessage(job.task, items.length, v))), autoretry: false }),
    });
  // The whole call failed: every item fails with it, each retried by its own count.
  const whole = (e: unknown) => items.map(() => h.classify(e));
  const controller = new AbortController();
  let value: unknown;
  try {
    value = entry.fn(items, { task: job.task, signal: controller.signal });
  } catch (e) {
    return done(whole(e));
  }
  if (!isThenable(value)) return done(fromReturn(value));
  const soft = entry.options.softTimeLimit;
  const timer = soft === null
    ? undefined
    : setTimeout(() => controller.abort(new SoftTimeLimitExceeded(`Soft time limit (${soft}s) exceeded`)), soft * 1000);
  return Promise.resolve(value).then((v) => done(fromReturn(v)), (e) => done(whole(e))).finally(() => clearTimeout(timer));
}

/** A value with a `then` method. */
export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";

/** The first line of an error's message. */
export function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split("\n")[0];
}
