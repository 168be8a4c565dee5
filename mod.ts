/**
 * qw: a job worker for NATS JetStream with Celery's reliability model, every
 * task in a Web Worker.
 *
 * Task authors use {@linkcode task}, the control errors ({@linkcode Retry},
 * {@linkcode Reject}, {@linkcode Ignore}) and {@linkcode currentTask}.
 * Embedders start a worker with {@linkcode startWorker}.
 *
 * @example Declare tasks
 * ```ts
 * import { Retry, task } from "qw";
 *
 * export function add(a: number, b: number) {
 *   return a + b;
 * }
 *
 * export const fetchPage = task(
 *   { acksLate: true, autoretryFor: ["TypeError"], retryBackoff: true, timeLimit: 30 },
 *   async (url: string) => (await fetch(url)).status,
 * );
 * ```
 *
 * @module
 */

export {
  /**
   * Declare a task with options (Celery's names in camelCase, durations in seconds).
   *
   * @param options Task options; `bind: true` passes a {@linkcode TaskContext} first.
   * @param fn The task function; it receives exactly the job's `args`.
   * @returns The same function, with its options attached, to export from a tasks file.
   *
   * @example A bound task that retries explicitly
   * ```ts
   * import { task } from "qw";
   *
   * export const charge = task({ bind: true, maxRetries: 5 }, (ctx, amount: number) => {
   *   if (amount > 100) ctx.retry({ countdown: 10 });
   *   return `charged ${amount} on attempt ${ctx.retries + 1}`;
   * });
   * ```
   */
  task,
} from "./src/task.ts";

export {
  /**
   * The context of the job running in this Web Worker, for tasks declared
   * without `bind: true`.
   *
   * @returns The {@linkcode TaskContext} of the running job.
   *
   * @example Read the abort signal
   * ```ts
   * import { currentTask } from "qw";
   *
   * export async function slow() {
   *   const { signal } = currentTask();
   *   await new Promise((r) => setTimeout(r, 10));
   *   return signal.aborted;
   * }
   * ```
   */
  currentTask,
} from "./src/task_api.ts";

export {
  ClosedError,
  errors,
  Ignore,
  InvalidJobError,
  MaxRetriesExceededError,
  Reject,
  ResultTimeoutError,
  Retry,
  SoftTimeLimitExceeded,
  TasksFileError,
  TimeLimitExceeded,
  WorkerLostError,
} from "./src/errors.ts";

export {
  /**
   * Start a worker in this process: load the tasks file into a pool of Web
   * Workers, connect, create the stream if missing and run jobs until closed.
   *
   * @param config A resolved configuration (see `resolveConfig`).
   * @param options An event emitter to listen on, and an optional result store.
   * @returns A {@linkcode Service}; `await service.close()` shuts it down gracefully.
   *
   * @example Run a worker and log outcomes
   * ```ts ignore
   * import { resolveConfig, startWorker } from "qw";
   *
   * const config = resolveConfig({ stream: "jobs", tasks: "./tasks.ts" }, { env: {}, cpuCount: 2, hostname: "h", pid: 1 });
   * await using worker = await startWorker(config);
   * worker.events.on((e) => e.type === "job.failed" && console.error(e.error.message));
   * ```
   */
  startService as startWorker,
} from "./src/service.ts";

export {
  /**
   * Resolve options, environment variables and defaults into a full config.
   *
   * @param options Options as given (all optional).
   * @param context The environment and the host facts that defaults derive from.
   * @returns The resolved config; throws `TypeError`/`RangeError` for bad values.
   *
   * @example
   * ```ts
   * import { resolveConfig } from "qw";
   *
   * const cfg = resolveConfig({ stream: "jobs", concurrency: 2 }, { env: {}, cpuCount: 2, hostname: "h", pid: 1, purpose: "client" });
   * console.log(cfg.concurrency); // 2
   * ```
   */
  resolveConfig,
} from "./src/config.ts";

export {
  /**
   * The typed event emitter a worker reports on; `on(fn)` returns an unsubscribe function.
   *
   * @example
   * ```ts
   * import { Emitter } from "qw";
   *
   * const events = new Emitter();
   * const off = events.on((e) => console.log(e.type));
   * events.emit({ type: "service.closing", reason: "demo" });
   * off();
   * ```
   */
  Emitter,
} from "./src/events.ts";

export type { ErrorMatcher, ResolvedTaskOptions, RetryOptions, SerializedError, TaskContext, TaskOptions, TaskState } from "./src/types.ts";
export type { Task } from "./src/task.ts";
export type { QwEvent, QwEventType, QwListener } from "./src/events.ts";
export type { Service, ServiceConfig } from "./src/service.ts";
export type { ResultRecord, ResultStore } from "./src/result_store.ts";
