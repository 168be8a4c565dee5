/**
 * Declaring tasks: `task(options, fn)`, and how a tasks module becomes a table
 * of runnable tasks with resolved options. Runs inside the Web Worker.
 *
 * @module
 */

import type { BatchCallContext, BatchItem, ErrorMatcher, ResolvedTaskOptions, Schedule, ScheduleSpec, TaskContext, TaskOptions } from "../types.ts";
import type { TaskDefaults } from "../config/config.ts";
import { checkTaskOptions } from "./task_options.ts";
import { DEFAULT_PRIORITY } from "../job/priority.ts";
import { DEFAULT_BATCH_WAIT } from "./batch.ts";

const TASK = Symbol.for("qw.task");

/** A function exported from a tasks file, with its options attached by {@linkcode task}. */
export interface Task<A extends unknown[] = unknown[], R = unknown> {
  // deno-lint-ignore no-explicit-any
  (...args: any[]): R;
  readonly [TASK]: { options: TaskOptions; fn: (...args: unknown[]) => unknown };
  /** Phantom: the arguments a producer passes (without the context of bound tasks). */
  readonly __args?: A;
}

/** Declare a bound task: it receives a {@linkcode TaskContext} before the job's args. */
export function task<A extends unknown[], R>(
  options: TaskOptions & { bind: true },
  fn: (ctx: TaskContext, ...args: A) => R,
): Task<A, R>;
/** Declare a batch task: it receives up to `batch.size` items and returns one result (or `Error`) per item, in order. */
export function task<A extends unknown[], R>(
  options: TaskOptions & { batch: { size: number; wait?: number } },
  fn: (items: BatchItem<A>[], call: BatchCallContext) => ReadonlyArray<R | Error> | Promise<ReadonlyArray<R | Error>>,
): Task<A, R>;
/** Declare a task with options. */
export function task<A extends unknown[], R>(options: TaskOptions, fn: (...args: A) => R): Task<A, R>;
/** Declare a task with default options. */
export function task<A extends unknown[], R>(fn: (...args: A) => R): Task<A, R>;
export function task(
  a: TaskOptions | ((...args: never[]) => unknown),
  b?: (...args: never[]) => unknown,
): Task {
  const options = typeof a === "function" ? {} : a;
  const fn = typeof a === "function" ? a : b;
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot declare task as its function is missing: current value is ${typeof fn}`);
  }
  const call = fn as (...args: unknown[]) => unknown;
  const wrapper = (...args: unknown[]) => call(...args);
  Object.defineProperty(wrapper, TASK, { value: { options, fn: call } });
  Object.defineProperty(wrapper, "name", { value: fn.name });
  return wrapper as unknown as Task;
}

/** A task ready to run in a Web Worker. */
export interface TaskEntry {
  fn: (...args: unknown[]) => unknown;
  options: ResolvedTaskOptions;
  autoretryFor: readonly ErrorMatcher[];
  dontAutoretryFor: readonly ErrorMatcher[];
  /** The `concurrency.key` function, if any. */
  concurrencyKey?: (...args: unknown[]) => unknown;
}

const matcherName = (m: ErrorMatcher): string => typeof m === "string" ? m : m.name;

/**
 * A task's schedules as data for the host, defaults filled in. Nothing is
 * checked here: the host checks every schedule at start (schedule.ts), so a
 * Web Worker never loads the cron parser. Pure.
 */
export function scheduleSpecs(schedule: TaskOptions["schedule"]): ScheduleSpec[] {
  if (schedule === undefined || schedule === null) return [];
  const list: readonly unknown[] = Array.isArray(schedule) ? schedule : [schedule];
  return list.map((item) => {
    const s = (typeof item === "object" && item !== null ? item : {}) as Schedule;
    return {
      every: s.every ?? null,
      cron: s.cron ?? null,
      tz: s.tz ?? "UTC",
      args: (Array.isArray(s.args) ? [...s.args] : s.args ?? []) as unknown[],
      catchUp: s.catchUp ?? "latest",
    };
  });
}

/** Merge a task's options over the worker-wide defaults. Pure. */
export function resolveTaskOptions(options: TaskOptions, defaults: TaskDefaults): ResolvedTaskOptions {
  const backoff = options.retryBackoff ?? defaults.retryBackoff;
  return {
    ...defaults,
    ...Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== "schedule")),
    retryBackoff: backoff === true ? 1 : backoff === false ? 0 : Number(backoff),
    autoretryFor: (options.autoretryFor ?? []).map(matcherName),
    dontAutoretryFor: (options.dontAutoretryFor ?? []).map(matcherName),
    bind: options.bind ?? false,
    expires: options.expires ?? null,
    rateLimitScope: options.rateLimitScope ?? "process",
    priority: options.priority ?? DEFAULT_PRIORITY,
    batch: options.batch ? { size: options.batch.size, wait: options.batch.wait ?? DEFAULT_BATCH_WAIT } : null,
    concurrency: options.concurrency ? { limit: options.concurrency.limit, keyed: typeof options.concurrency.key === "function" } : null,
    schedules: scheduleSpecs(options.schedule),
  } as ResolvedTaskOptions;
}

const isClass = (v: unknown): boolean =>
  typeof v === "function" && /^class[\s{]/.test(Function.prototype.toString.call(v));

/**
 * Every exported function of a tasks module is a task named by its export
 * name. Classes (for example error classes used in `autoretryFor`) are not.
 * Throws a one-line `TypeError` or `RangeError` naming the first task whose
 * options are not ones qw knows, or not what they must be.
 */
export function collectTasks(module: Record<string, unknown>, defaults: TaskDefaults): Map<string, TaskEntry> {
  const tasks = new Map<string, TaskEntry>();
  for (const [name, value] of Object.entries(module)) {
    if (typeof value !== "function" || isClass(value)) continue;
    const declared = (value as Partial<Task>)[TASK];
    const options = declared?.options ?? {};
    checkTaskOptions(name, options);
    tasks.set(name === "default" ? "default" : name, {
      fn: declared?.fn ?? (value as (...args: unknown[]) => unknown),
      options: resolveTaskOptions(options, defaults),
      autoretryFor: options.autoretryFor ?? [],
      dontAutoretryFor: options.dontAutoretryFor ?? [],
      ...(options.concurrency?.key ? { concurrencyKey: options.concurrency.key as (...args: unknown[]) => unknown } : {}),
    });
  }
  return tasks;
}

/** True if the error is an instance of a listed class, or has or inherits a listed name. */
export function matchesError(e: unknown, matchers: readonly ErrorMatcher[]): boolean {
  if (matchers.length === 0) return false;
  for (const m of matchers) {
    if (typeof m === "function") {
      if (e instanceof m) return true;
      continue;
    }
    if (typeof e === "object" && e !== null && (e as Error).name === m) return true;
    for (let p = e === null || e === undefined ? null : Object.getPrototypeOf(e); p; p = Object.getPrototypeOf(p)) {
      if (p.constructor?.name === m) return true;
    }
  }
  return false;
}
