/**
 * One job as a producer hands it over: its options, their checks and the
 * encoding into the wire format of producer.ts. Needs no connection, so
 * `qw enqueue` rejects bad input before it connects.
 *
 * @module
 */

import { errorText } from "./connection.ts";
import { Header, type OutgoingJob } from "./producer.ts";
import { expiryOf } from "../core/job/expiry.ts";
import { debounceScheduleName, MAX_UNIQUE_KEY } from "../core/job/unique.ts";
import { CONCURRENCY_KEY_HEADER, invalidKey, MAX_CONCURRENCY_KEY } from "../core/job/concurrency_key.ts";
import { isPriority } from "../core/job/priority.ts";

/** Options of one job. */
export interface EnqueueOptions {
  /** The task id; also its `Nats-Msg-Id`, so the same id within 2 minutes is stored once. @default a random UUID */
  id?: string;
  /** Seconds before the job may run. */
  countdown?: number;
  /** The earliest time the job may run; a time in the past runs now. */
  eta?: Date;
  /** Extra NATS headers; `Qw-*` and `Nats-Msg-Id` are reserved. */
  headers?: Record<string, string>;
  /**
   * Seconds from now, or a Date, after which the job never starts (Celery's
   * `expires`): a worker that meets it later stores it REVOKED with reason
   * `expired` without running it. Retries keep it.
   */
  expires?: number | Date;
  /**
   * A key: while a job of this task with the key waits or runs, another
   * enqueue with it adds nothing and resolves to the first job's id (decided
   * by the server; see README "Unique jobs and debounce").
   */
  unique?: string;
  /**
   * Seconds, with `unique`: the job runs this long after the last enqueue
   * of a burst with the same key; a newer enqueue replaces the waiting one.
   */
  debounce?: number;
  /** 0 (lowest) to 9: higher runs first (see the README's "Priorities"). @default 5 */
  priority?: number;
  /**
   * A concurrency key (header `Qw-Concurrency-Key`): at most the task's
   * `concurrency.limit` jobs with this key run at once across every worker
   * (1 when the task has no `concurrency`), and keys take turns. The job waits
   * on `<stream>._key.<task>.<key token>`.
   */
  concurrencyKey?: string;
}

const ATTEMPT = "enqueue job";
// deno-lint-ignore no-control-regex
const BAD_TASK = /[\s.*>\x00-\x1f\x7f]/;
const show = (v: unknown): string => JSON.stringify(String(v));
export const bad = (Kind: typeof TypeError, attempt: string, what: string, must: string, value: unknown) =>
  new Kind(`Cannot ${attempt} as ${what} must be ${must}: current value is ${show(value)}`);

/** Returns `id` if it can be a task id: a non-empty line (`keyFor` maps any line to a valid KV key). */
export function checkId(attempt: string, id: unknown): string {
  if (typeof id !== "string" || id.trim() === "" || /[\r\n]/.test(id)) {
    throw bad(TypeError, attempt, "'id'", "a non-empty line", id);
  }
  return id;
}

/** Validate one job and encode it; throws a one-line TypeError or RangeError. Pure but for the default id. */
export function prepareJob(task: string, args: unknown, options: EnqueueOptions = {}, now = Date.now()): OutgoingJob {
  if (typeof task !== "string" || task === "" || BAD_TASK.test(task) || task.startsWith("_")) {
    throw bad(TypeError, ATTEMPT, "'task'", `a name without whitespace, ".", "*", ">" or a leading "_"`, task);
  }
  if (!Array.isArray(args)) throw bad(TypeError, ATTEMPT, "'args'", "an array", args);
  const id = checkId(ATTEMPT, options.id ?? crypto.randomUUID());
  const { countdown, eta } = options;
  if (countdown !== undefined && eta !== undefined) {
    throw new TypeError(`Cannot ${ATTEMPT} with both 'countdown' and 'eta'`);
  }
  let etaMs: number | null = null;
  if (countdown !== undefined) {
    if (typeof countdown !== "number" || Number.isNaN(countdown)) {
      throw bad(TypeError, ATTEMPT, "'countdown'", "a number >= 0", countdown);
    }
    if (countdown < 0 || !Number.isFinite(countdown)) throw bad(RangeError, ATTEMPT, "'countdown'", ">= 0", countdown);
    if (countdown > 0) etaMs = now + countdown * 1000;
  } else if (eta !== undefined) {
    if (!(eta instanceof Date) || Number.isNaN(eta.getTime())) {
      throw bad(TypeError, ATTEMPT, "'eta'", "a valid Date", eta);
    }
    etaMs = eta.getTime();
  }
  const { unique, debounce } = options;
  if (unique !== undefined && (typeof unique !== "string" || unique === "" || unique.length > MAX_UNIQUE_KEY || /[\r\n]/.test(unique))) {
    throw bad(TypeError, ATTEMPT, "'unique'", `a non-empty line of at most ${MAX_UNIQUE_KEY} characters`, unique);
  }
  if (debounce !== undefined) {
    if (typeof debounce !== "number" || !(debounce > 0) || !Number.isFinite(debounce)) {
      throw bad(RangeError, ATTEMPT, "'debounce'", "a number of seconds > 0", debounce);
    }
    if (unique === undefined) throw new TypeError(`Cannot ${ATTEMPT} with 'debounce' but no 'unique': the key of the burst`);
    if (etaMs !== null || countdown !== undefined || eta !== undefined) {
      throw new TypeError(`Cannot ${ATTEMPT} with 'debounce' and 'countdown' or 'eta'`);
    }
    etaMs = now + debounce * 1000;
  }
  const key = options.concurrencyKey;
  if (key !== undefined && (typeof key !== "string" || key === "" || invalidKey(key) !== null)) {
    throw bad(TypeError, ATTEMPT, "'concurrencyKey'", `a non-empty line of at most ${MAX_CONCURRENCY_KEY} characters`, key);
  }
  const expiresAt = options.expires === undefined ? null : expiryOf(ATTEMPT, options.expires, now);
  const headers = options.headers ?? {};
  for (const [k, v] of Object.entries(headers)) {
    if (/^qw-/i.test(k) || k.toLowerCase() === Header.msgId.toLowerCase()) {
      throw new TypeError(`Cannot ${ATTEMPT} as header ${show(k)} is reserved: use another name`);
    }
    if (!/^[!-9;-~]+$/.test(k) || typeof v !== "string" || /[\r\n]/.test(v)) {
      throw bad(TypeError, ATTEMPT, `header ${show(k)}`, "a printable name with a one-line string value", v);
    }
  }
  let body: string;
  try {
    body = JSON.stringify({ args });
  } catch (e) {
    throw new TypeError(`Cannot ${ATTEMPT} as 'args' must be JSON-serializable: ${errorText(e).replace(/\.$/, "")}`);
  }
  const own: Record<string, string> = unique === undefined ? {} : { [Header.unique]: unique, ...(debounce === undefined ? {} : { [Header.debounce]: String(debounce) }) };
  if (key !== undefined) own[CONCURRENCY_KEY_HEADER] = key;
  const job: OutgoingJob = { task, data: new TextEncoder().encode(body), id, retries: 0, etaMs, headers: { ...headers, ...own } };
  if (debounce !== undefined) job.scheduleName = debounceScheduleName(unique!);
  if (expiresAt !== null) job.expiresAt = expiresAt;
  if (options.priority !== undefined) {
    if (!isPriority(options.priority)) throw bad(RangeError, ATTEMPT, "'priority'", "a whole number from 0 to 9", options.priority);
    job.priority = options.priority;
  }
  return job;
}
