/**
 * Error classes for conditions callers handle. Each sets `name`, which is how
 * qw recognises it after it crossed a Worker boundary (structured clone drops
 * prototypes). Imports no other qw code.
 */

import type { RetryOptions } from "./types.ts";

/** Options every qw error accepts. */
export interface QwErrorOptions {
  cause?: unknown;
}

/** Thrown by a task (or `ctx.retry()`) to run the job again later. */
export class Retry extends Error {
  /** Seconds before the next attempt; undefined means the task's default. */
  readonly countdown?: number;
  /** Overrides the task's maxRetries for this decision. */
  readonly maxRetries?: number | null;
  /** The error reported as the failure when no retries are left. */
  readonly exc?: unknown;
  constructor(message = "Retry requested", options: RetryOptions & QwErrorOptions = {}) {
    super(message, { cause: options.cause ?? options.exc });
    this.name = "Retry";
    if (options.countdown !== undefined) this.countdown = options.countdown;
    if (options.maxRetries !== undefined) this.maxRetries = options.maxRetries;
    if (options.exc !== undefined) this.exc = options.exc;
  }
}

/** Thrown by a task to reject its job: requeue it, or (default) drop it to the dead letters. */
export class Reject extends Error {
  /** Put the job back on the queue (nak) instead of rejecting it (term). */
  readonly requeue: boolean;
  constructor(reason = "Rejected by task", options: { requeue?: boolean } & QwErrorOptions = {}) {
    super(reason, { cause: options.cause });
    this.name = "Reject";
    this.requeue = options.requeue ?? false;
  }
}

/** Thrown by a task to end its job without storing a result. */
export class Ignore extends Error {
  constructor(message = "Ignored by task", options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "Ignore";
  }
}

/** The reason of a task's abort signal when its soft time limit passes. */
export class SoftTimeLimitExceeded extends Error {
  constructor(message = "Soft time limit exceeded", options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "SoftTimeLimitExceeded";
  }
}

/** The failure of a job whose hard time limit passed; its Web Worker was terminated. */
export class TimeLimitExceeded extends Error {
  constructor(message = "Time limit exceeded", options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "TimeLimitExceeded";
  }
}

/** The failure of a job whose Web Worker died while running it. */
export class WorkerLostError extends Error {
  constructor(message = "Web Worker exited prematurely", options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "WorkerLostError";
  }
}

/** The failure of an explicit retry without `exc` when no retries are left. */
export class MaxRetriesExceededError extends Error {
  constructor(message = "Can't retry: no retries left", options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "MaxRetriesExceededError";
  }
}

/** A job message that cannot be run: bad JSON, no `args` array, unknown task. */
export class InvalidJobError extends Error {
  constructor(message: string, options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "InvalidJobError";
  }
}

/** A tasks file that cannot be loaded, or exports no task. */
export class TasksFileError extends Error {
  constructor(message: string, options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "TasksFileError";
  }
}

/** An operation on a worker, pool or client that was already closed. */
export class ClosedError extends Error {
  constructor(message = "Cannot use a closed qw object", options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "ClosedError";
  }
}

/** Waiting for a result took longer than the caller allowed. */
export class ResultTimeoutError extends Error {
  constructor(message: string, options: QwErrorOptions = {}) {
    super(message, options);
    this.name = "ResultTimeoutError";
  }
}

/** Every qw error class, for `instanceof` checks by embedders. */
export const errors = {
  Retry,
  Reject,
  Ignore,
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  WorkerLostError,
  MaxRetriesExceededError,
  InvalidJobError,
  TasksFileError,
  ClosedError,
  ResultTimeoutError,
} as const;

/** Names of the control-flow errors a task throws to steer its job. */
export const CONTROL_ERROR_NAMES = ["Retry", "Reject", "Ignore"] as const;
