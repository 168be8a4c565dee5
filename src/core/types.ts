/**
 * Shared public types. Imports no other qw code.
 *
 * Durations in task options are seconds (fractions allowed), as in Celery.
 */

/** A class of error, or its `name`, for `autoretryFor` / `dontAutoretryFor`. */
// deno-lint-ignore no-explicit-any
export type ErrorMatcher = string | (abstract new (...args: any[]) => Error);

/** Who shares a task's rate limit: each worker process alone, or every process of the stream. */
export type RateLimitScope = "process" | "stream";

/**
 * Per-task options. Names are Celery's in camelCase; durations are seconds.
 * Every field is optional; unset fields take the worker-wide default.
 */
export interface TaskOptions {
  /** Ack after the run instead of when a Web Worker accepts the job. @default false */
  acksLate?: boolean;
  /** With acksLate, requeue a job whose Web Worker died (once). @default false */
  rejectOnWorkerLost?: boolean;
  /**
   * Strict at most once (early ack only): the job starts only once the server
   * confirmed its ack, so it never runs twice, at the cost of a round trip
   * before each job starts. @default false
   */
  confirmAck?: boolean;
  /** With acksLate, ack (true) or term/nak (false) failed and timed-out jobs. @default true */
  acksOnFailureOrTimeout?: boolean;
  /** Errors (classes or names) that retry the job automatically. @default [] */
  autoretryFor?: readonly ErrorMatcher[];
  /** Errors that never retry, even if they match `autoretryFor`. @default [] */
  dontAutoretryFor?: readonly ErrorMatcher[];
  /** Retries allowed after the first run; `null` retries forever. @default 3 */
  maxRetries?: number | null;
  /** Countdown in seconds for a retry without backoff or countdown. @default 180 */
  defaultRetryDelay?: number;
  /** Exponential backoff for autoretry: `true` (factor 1) or a factor. @default false */
  retryBackoff?: boolean | number;
  /** Cap of the backoff in seconds. @default 600 */
  retryBackoffMax?: number;
  /** Draw the backoff uniformly in [0, backoff] (full jitter). @default true */
  retryJitter?: boolean;
  /** Hard time limit in seconds: the Web Worker is terminated. @default null */
  timeLimit?: number | null;
  /** Soft time limit in seconds: the task's abort signal fires. @default null */
  softTimeLimit?: number | null;
  /** Rate limit per worker process, as Celery: "10/s", "100/m", "1000/h". @default null */
  rateLimit?: string | null;
  /**
   * Who shares the rate limit: `"process"` (each worker process has its own, as Celery) or `"stream"` (every
   * process of the stream together, counted on the server). @default "process"
   */
  rateLimitScope?: RateLimitScope;
  /** Store a STARTED state when the job starts (Celery's track_started): one more result write per job. @default false */
  trackStarted?: boolean;
  /** Store no result for this task (Celery's `ignore_result`): no write per job. @default false */
  ignoreResult?: boolean;
  /**
   * Seconds after which a job of this task that has not started never runs
   * (Celery's `expires`): it is stored REVOKED with reason `expired`. Counted
   * from when the server stored the job; a job enqueued with its own `expires`
   * keeps that one. @default null
   */
  expires?: number | null;
  /** Pass a {@linkcode TaskContext} as the first argument. @default false */
  bind?: boolean;
  /**
   * Run jobs in batches: the function is called with up to `size` items
   * (`{ id, args, retries, deliveryCount }`) and returns one result per item,
   * in order; an `Error` in that array fails its item alone. `wait` is the
   * seconds to wait for more jobs after the first one arrived. See README
   * "Batch tasks". @default null
   */
  batch?: { size: number; wait?: number } | null;
  /**
   * At most `limit` jobs with the same concurrency key run at once, across
   * every qw process of the stream, and keys take turns. A job's key is its
   * `Qw-Concurrency-Key` header (the client's `concurrencyKey`), else
   * `key(...args)`, else the task's one key. @default null
   */
  concurrency?: ConcurrencyOption | null;
  /** Run the task periodically: one schedule or several (see {@linkcode Schedule}). @default none */
  schedule?: Schedule | readonly Schedule[];
  /**
   * The priority, 0 (lowest) to 9, of the jobs qw publishes for this task itself: its schedules' firings
   * (a producer names a job's priority when it enqueues it; a retry keeps the job's). @default 5
   */
  priority?: number;
}

/** What a schedule does with ticks no qw process was up for. */
export type CatchUp = "latest" | "none" | "all";

/**
 * When a task runs by itself. Every tick is a normal job on `<stream>.<task>`
 * whose task id and `Nats-Msg-Id` are `<task>@<schedule index>@<tick ISO time>`,
 * so every qw process can publish it and the stream keeps one.
 */
export interface Schedule {
  /** Seconds between ticks (fractions allowed, at least 1); ticks fall on whole multiples since the Unix epoch. */
  every?: number;
  /** A cron expression: 5 fields, or 6 with seconds first. */
  cron?: string;
  /** IANA time zone the cron expression is read in. @default "UTC" */
  tz?: string;
  /** The args of each tick's job. @default [] */
  args?: readonly unknown[];
  /** Missed ticks: fire the most recent once ("latest"), none, or each ("all", at most 100). @default "latest" */
  catchUp?: CatchUp;
}

/** A schedule as the Web Worker reports it to the host: defaults filled in, checked by the host. */
export interface ScheduleSpec {
  every: number | null;
  cron: string | null;
  tz: string;
  args: unknown[];
  catchUp: CatchUp;
}

/** The `concurrency` task option. */
export interface ConcurrencyOption {
  /** How many jobs with the same key may run at once (1 to 10,000). */
  limit: number;
  /**
   * The key of a job that carries no `Qw-Concurrency-Key`, from its args: a
   * non-empty line. Runs in a Web Worker of its own when such a job arrives.
   * Without it, such jobs share the task's one key.
   */
  // deno-lint-ignore no-explicit-any
  key?: (...args: any[]) => string;
}

/** The `concurrency` option as the host reads it. */
export interface ResolvedConcurrency {
  limit: number;
  /** The task has a `key` function. */
  keyed: boolean;
}

/** Task options with every default filled in; matchers reduced to names for the host. */
export interface ResolvedTaskOptions {
  acksLate: boolean;
  rejectOnWorkerLost: boolean;
  confirmAck: boolean;
  acksOnFailureOrTimeout: boolean;
  autoretryFor: string[];
  dontAutoretryFor: string[];
  maxRetries: number | null;
  defaultRetryDelay: number;
  retryBackoff: number;
  retryBackoffMax: number;
  retryJitter: boolean;
  timeLimit: number | null;
  softTimeLimit: number | null;
  rateLimit: string | null;
  rateLimitScope: RateLimitScope;
  trackStarted: boolean;
  ignoreResult: boolean;
  /** Seconds a job has to start, when it was enqueued without its own expiry; null: none. */
  expires: number | null;
  bind: boolean;
  /** Its batches, or null for one job per call. */
  batch: { size: number; wait: number } | null;
  /** Per-key concurrency, or null. */
  concurrency: ResolvedConcurrency | null;
  /** The task's schedules, in declaration order (the index is part of each tick's id). */
  schedules: ScheduleSpec[];
  /** The priority of the jobs its schedules fire. */
  priority: number;
}

/** Options of an explicit retry, as Celery's `Task.retry`. */
export interface RetryOptions {
  /** Seconds before the next attempt. @default the task's defaultRetryDelay */
  countdown?: number;
  /** Overrides the task's maxRetries for this decision. */
  maxRetries?: number | null;
  /** The error that becomes the failure when no retries are left. */
  exc?: unknown;
}

/** What a task receives first when declared with `bind: true`. */
export interface TaskContext {
  /** The task id (stable across retries). */
  readonly id: string;
  /** The task name (its export name). */
  readonly name: string;
  /** How many times this job was retried before this run. */
  readonly retries: number;
  /** JetStream delivery count of this message (1 on first delivery). */
  readonly deliveryCount: number;
  /** True when this message was delivered before (deliveryCount > 1). */
  readonly redelivered: boolean;
  /** Fires when the soft time limit passes, with a `SoftTimeLimitExceeded` reason. */
  readonly signal: AbortSignal;
  /** Throws a `Retry` for this job; never returns. */
  retry(options?: RetryOptions): never;
  /** Throws a `Reject`; requeue defaults to false as in Celery. */
  reject(reason?: string, options?: { requeue?: boolean }): never;
  /**
   * Report progress: stored as state PROGRESS with `{ fraction, meta }`, at most
   * one write per 250 ms per job (the latest wins); never after the final state.
   * Throws a RangeError when `fraction` is not a number in [0, 1].
   */
  progress(fraction: number, meta?: unknown): void;
}

/** Result states, as Celery's (PROGRESS is Celery's custom state of `update_state`). */
export type TaskState =
  | "PENDING"
  | "STARTED"
  | "PROGRESS"
  | "SUCCESS"
  | "FAILURE"
  | "RETRY"
  | "REVOKED";

/** The states a job ends in: nothing replaces them but a later attempt. */
export const FINAL_STATES: readonly TaskState[] = ["SUCCESS", "FAILURE", "REVOKED"];

/** True for a state a job ends in. Pure. */
export const isFinalState = (state: string): boolean => (FINAL_STATES as readonly string[]).includes(state);

/** Progress a task reported: a fraction in [0, 1] and any JSON value. */
export interface Progress {
  fraction: number;
  meta?: unknown;
}

/** An error as data, safe to send across threads and store as JSON. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  cause?: SerializedError;
  /** Own enumerable fields of the error that survived structured clone. */
  data?: Record<string, unknown>;
}

/** One job of a batch call (a task with the `batch` option). */
export interface BatchItem<A extends unknown[] = unknown[]> {
  /** The job's id: its result is stored under it. */
  id: string;
  /** The job's args. */
  args: A;
  /** Retries before this run (0 on the first). */
  retries: number;
  /** Runs of this job so far, this one included (1 on the first). */
  deliveryCount: number;
  /** True when an earlier run may have happened. */
  redelivered: boolean;
}

/** The second argument of a batch call. */
export interface BatchCallContext {
  /** The task's name. */
  task: string;
  /** Aborted when the call passes its `softTimeLimit`. */
  signal: AbortSignal;
}
