/**
 * The tasks side of qw, for the author of a tasks file: what `import ... from
 * "qw"` gives inside `dist/qw`, as the npm package's `@qwjobs/qw/tasks`, so an
 * editor and `tsc` know it. Inside `dist/qw` the same import name resolves to
 * qw's own copy, so a tasks file may import either name.
 *
 * @example A tasks file an editor type-checks
 * ```ts ignore
 * import { Reject, Retry, task } from "@qwjobs/qw/tasks";
 *
 * export function add(a: number, b: number) {
 *   return a + b;
 * }
 *
 * export const charge = task({ bind: true, acksLate: true, maxRetries: 5 }, async (ctx, amount: number) => {
 *   if (amount < 0) throw new Reject(`Cannot charge ${amount}`);
 *   if (ctx.retries < 1) throw new Retry("The gateway was busy", { countdown: 10 });
 *   return `charged ${amount}`;
 * });
 * ```
 *
 * @module
 */

export {
  /**
   * Declare a task with options (Celery's names in camelCase, durations in
   * seconds). Options qw does not know stop qw when the tasks file loads.
   *
   * @param options Task options; `bind: true` passes a {@linkcode TaskContext} first.
   * @param fn The task function; it receives exactly the job's `args`.
   * @returns The same function, with its options attached, to export from a tasks file.
   *
   * @example A bound task that retries explicitly
   * ```ts ignore
   * import { task } from "@qwjobs/qw/tasks";
   *
   * export const charge = task({ bind: true, maxRetries: 5 }, (ctx, amount: number) => {
   *   if (amount > 100) ctx.retry({ countdown: 10 });
   *   return `charged ${amount} on attempt ${ctx.retries + 1}`;
   * });
   * ```
   */
  task,
} from "./src/core/task/task.ts";

export {
  /**
   * The context of the job running in this Web Worker, for tasks declared
   * without `bind: true`. Throws outside a task.
   *
   * @returns The {@linkcode TaskContext} of the running job.
   *
   * @example Read the abort signal
   * ```ts ignore
   * import { currentTask } from "@qwjobs/qw/tasks";
   *
   * export async function slow() {
   *   return currentTask().signal.aborted;
   * }
   * ```
   */
  currentTask,
} from "./src/core/task/task_api.ts";

export {
  errors,
  /**
   * Throw to end the job without a result and without a retry.
   *
   * @example
   * ```ts ignore
   * import { Ignore } from "@qwjobs/qw/tasks";
   *
   * export function once(seen: boolean) {
   *   if (seen) throw new Ignore();
   * }
   * ```
   */
  Ignore,
  MaxRetriesExceededError,
  /**
   * Throw to refuse the job: dead-lettered, or requeued with `{ requeue: true }`.
   *
   * @example
   * ```ts ignore
   * import { Reject } from "@qwjobs/qw/tasks";
   *
   * export function charge(amount: number) {
   *   if (amount < 0) throw new Reject(`Cannot charge ${amount}`);
   * }
   * ```
   */
  Reject,
  /**
   * Throw to run the job again later: `{ countdown }` seconds, within `maxRetries`.
   *
   * @example
   * ```ts ignore
   * import { Retry } from "@qwjobs/qw/tasks";
   *
   * export function poll(ready: boolean) {
   *   if (!ready) throw new Retry("Not ready yet", { countdown: 5 });
   * }
   * ```
   */
  Retry,
  SoftTimeLimitExceeded,
  TimeLimitExceeded,
  WorkerLostError,
} from "./src/core/errors.ts";

/** The options of a task, its context and schedules. */
export type {
  BatchCallContext,
  BatchItem,
  CatchUp,
  ConcurrencyOption,
  ErrorMatcher,
  RetryOptions,
  Schedule,
  TaskContext,
  TaskOptions,
} from "./src/core/types.ts";
/** A function exported from a tasks file, with its options. */
export type { Task } from "./src/core/task/task.ts";
