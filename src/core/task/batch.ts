/**
 * Batch tasks (`task({ batch: { size, wait } }, (items) => ...)`): the two
 * decisions, pure. When a batch being filled goes to a Web Worker
 * ({@linkcode batchDueInMs}), and what each item's outcome is, from what the
 * call returned ({@linkcode returnedOutcomes}, in the Web Worker) and from
 * how the call ended ({@linkcode itemOutcomes}, on the host).
 *
 * @module
 */

import type { Outcome } from "../job/ack_policy.ts";

/** A batch task's batch, resolved. */
export interface BatchOptions {
  /** Most jobs in one call. */
  size: number;
  /** Seconds to wait for more jobs after the first one arrived. */
  wait: number;
}

/** The wait when a batch gives none: 0.1 s. */
export const DEFAULT_BATCH_WAIT = 0.1;

/** A batch being filled: how many items it has and when its first arrived (epoch ms). */
export interface FillingBatch {
  count: number;
  firstAt: number;
}

/**
 * Milliseconds until a batch being filled must go: 0 when it is full or its
 * wait ran out (it goes now), else what is left of the wait. Pure.
 */
export function batchDueInMs(b: FillingBatch, o: BatchOptions, now: number): number {
  if (b.count >= o.size) return 0;
  return Math.max(0, b.firstAt + o.wait * 1000 - now);
}

/** A job body's args, or why it is not a job (it then fails alone, never joining a call). Pure. */
export function argsOfBody(body: string): unknown[] | string {
  let b: unknown;
  try {
    b = JSON.parse(body);
  } catch (e) {
    return `Body is not valid JSON: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`;
  }
  if (b === null || typeof b !== "object" || !Array.isArray((b as { args?: unknown }).args)) {
    return "Body has no 'args' array: expected {\"args\": [...]}";
  }
  return (b as { args: unknown[] }).args;
}

/** The message of a call that did not return one result per item. */
export function badReturnMessage(task: string, n: number, returned: unknown): string {
  const what = Array.isArray(returned) ? `an array of ${returned.length}` : returned === null ? "null" : typeof returned;
  return `Batch task '${task}' must return an array of ${n} results, one per item in order: returned ${what}`;
}

/**
 * Each item's outcome from what a batch call returned (in the Web Worker). It
 * must be an array of one value per item, in the order of the items: an
 * `Error` (including `Retry`, `Reject`, `Ignore`) is that item's failure,
 * classified as if the item's own job had thrown it; any other value is its
 * result. Anything else fails every item with `badReturn`. Pure.
 */
export function returnedOutcomes(
  returned: unknown,
  n: number,
  o: { classify(e: unknown): Outcome; badReturn(): Outcome },
): Outcome[] {
  if (!Array.isArray(returned) || returned.length !== n) return Array.from({ length: n }, () => o.badReturn());
  return returned.map((v): Outcome => (v instanceof Error ? o.classify(v) : { kind: "success", value: v }));
}

/** The value a batch call's success carries: one outcome per item, in order. */
export interface BatchValue {
  qwBatch: Outcome[];
}

const isBatchValue = (v: unknown, n: number): v is BatchValue =>
  typeof v === "object" && v !== null && Array.isArray((v as BatchValue).qwBatch) && (v as BatchValue).qwBatch.length === n;

/**
 * Each item's outcome from how the batch call ended (on the host): a call
 * that ran carries one outcome per item; one that did not end by itself (its
 * Web Worker lost, its time limit, a revoke) or threw gives that same outcome
 * to every item, each then retried or not by its own count. Pure.
 */
export function itemOutcomes(call: Outcome, n: number): Outcome[] {
  if (call.kind === "success") {
    if (isBatchValue(call.value, n)) return call.value.qwBatch;
    const error = { name: "TypeError", message: `A batch call ended without one outcome per item (${n} expected)` };
    return Array.from({ length: n }, () => ({ kind: "error", error, autoretry: false }));
  }
  return Array.from({ length: n }, () => call);
}
