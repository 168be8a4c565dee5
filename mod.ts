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
   *
   * @example Periodic tasks: every process may fire them, each tick runs once
   * ```ts
   * import { task } from "qw";
   *
   * export const nightly = task({ schedule: { cron: "0 3 * * *", tz: "Europe/Berlin" } }, () => "report");
   * export const ping = task({ schedule: { every: 30, args: ["eu"] } }, (region: string) => `checked ${region}`);
   * export const both = task({ schedule: [{ every: 60 }, { cron: "15,45 * * * * *", args: [1] }] }, (n = 0) => n);
   * ```
   */
  task,
} from "./src/core/task/task.ts";

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
} from "./src/core/task/task_api.ts";

export {
  /**
   * Build workflows (Celery's canvas): `sig(task, args)` is one step
   * (`.immutable()` takes no parent result); `chain(...)` passes each result as
   * the first argument of the next step; `group(...)` runs steps in parallel
   * and gives the list of their results; `chord(group, body)` calls `body`
   * with that list. Start one with `client.enqueueFlow()`.
   *
   * @example A chord that sums squares
   * ```ts ignore
   * import { chain, chord, connectClient, group, sig } from "qw";
   *
   * await using client = await connectClient({ stream: "jobs" });
   * const id = await client.enqueueFlow(chord(group(sig("square", [2]), sig("square", [3])), sig("sum")));
   * console.log((await client.result(id)).result); // 13
   * await client.enqueueFlow(chain(sig("add", [1, 1]), sig("add", [2]), sig("mul", [10]))); // 40
   * ```
   */
  chain,
  chord,
  group,
  sig,
} from "./src/core/flow.ts";
export type { FlowNode, Signature, SigNode } from "./src/core/flow.ts";

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
} from "./src/core/errors.ts";

export {
  /**
   * Start a worker in this process: load the tasks file into a pool of Web
   * Workers, connect, create the stream if missing and run jobs until closed.
   *
   * @param config A resolved configuration (see `resolveConfig`).
   * @param options An event emitter to listen on, an optional result store, and an optional OpenTelemetry
   *   `tracer` (from `@opentelemetry/api`): with one, every run of a job is a `process` span in the job's trace.
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
} from "./src/worker/service.ts";

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
} from "./src/core/config/config.ts";

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
} from "./src/core/events.ts";

export type {
  BatchCallContext,
  BatchItem,
  CatchUp,
  ConcurrencyOption,
  ErrorMatcher,
  Progress,
  RateLimitScope,
  ResolvedConcurrency,
  ResolvedTaskOptions,
  RetryOptions,
  Schedule,
  ScheduleSpec,
  SerializedError,
  TaskContext,
  TaskOptions,
  TaskState,
} from "./src/core/types.ts";
export type { Task } from "./src/core/task/task.ts";
export type { QwEvent, QwEventType, QwListener } from "./src/core/events.ts";
export type { Service, ServiceConfig } from "./src/worker/service.ts";
export type { ResultRecord, ResultStore } from "./src/client/buckets/result_store.ts";

export {
  /**
   * Connect a producer to a qw stream: the same connection options as the
   * worker (a resolved config works as it is), or just `{ servers, stream }`.
   * Fails with a one-line error when the server has no JetStream.
   *
   * @param options The stream and how to reach NATS; `servers` defaults to nats://127.0.0.1:4222.
   * @param extra An emitter for connection events (retries, reconnects).
   * @returns A {@linkcode Client}; `await client.close()` (or `await using`) when done.
   *
   * @example Enqueue a typed job and wait for its result
   * ```ts ignore
   * import { connectClient } from "qw";
   *
   * await using client = await connectClient<typeof import("./tasks.ts")>({ servers: "nats://127.0.0.1:4222", stream: "jobs" });
   * const id = await client.enqueue("add", [2, 3], { countdown: 5 });
   * const record = await client.result(id, { timeout: 30 });
   * console.log(record.state, record.result); // SUCCESS 5
   * ```
   */
  connectClient,
  /**
   * A producer connected to one stream: `enqueue(task, args, options)`
   * returns the task id (also the `Nats-Msg-Id`, so the same id twice within
   * the stream's duplicate window runs once); `get(id)` reads the current
   * record (`PENDING` when there is none); `result(id, { timeout })` watches
   * the record until a final state (SUCCESS, FAILURE or REVOKED) and throws
   * `ResultTimeoutError` on timeout; `watch(id)` yields every change (PROGRESS
   * included) until the final state; `revoke(id, { terminate })` revokes a job
   * durably; `enqueueMany(jobs)` enqueues many jobs in one call, in atomic
   * batches of up to 1,000 on nats-server 2.12+ when the stream has
   * `allow_atomic`. Typed by a tasks module: `Client<typeof import("./tasks.ts")>`.
   *
   * @example Many jobs in one call, ids in order
   * ```ts ignore
   * import { connectClient } from "qw";
   *
   * await using client = await connectClient({ stream: "jobs" });
   * const ids = await client.enqueueMany(
   *   Array.from({ length: 3 }, (_, i) => ({ task: "add", args: [i, i], options: { id: `sum-${i}` } })),
   * );
   * console.log(ids); // ["sum-0", "sum-1", "sum-2"]
   * ```
   *
   * @example Idempotent enqueue with a caller's id
   * ```ts ignore
   * import { connectClient } from "qw";
   *
   * const client = await connectClient({ stream: "jobs" });
   * await client.enqueue("sendInvoice", [42], { id: "invoice-42" });
   * await client.enqueue("sendInvoice", [42], { id: "invoice-42" }); // stored once, runs once
   * console.log((await client.get("invoice-42")).state);
   * await client.close();
   * ```
   */
  Client,
} from "./src/client/client.ts";

/**
 * Types of the producer client: connection and enqueue options, the receipt
 * of a publish, result records, and the task names and args of a tasks module.
 *
 * @example Check task names and args at compile time
 * ```ts ignore
 * import type { TaskArgs, TaskName } from "qw";
 * import type * as tasks from "./tasks.ts";
 *
 * const name: TaskName<typeof tasks> = "add";
 * const args: TaskArgs<typeof tasks, "add"> = [2, 3];
 * ```
 */
export type {
  ClientOptions,
  EnqueueManyOptions,
  EnqueueOptions,
  EnqueueReceipt,
  ManyJob,
  PendingResult,
  TaskArgs,
  TaskName,
  TaskResult,
} from "./src/client/client.ts";
/**
 * How to reach NATS (servers, credentials, TLS, connect timeout): the
 * connection part of a resolved config, shared by workers and clients.
 *
 * @example A client with a token and a short connect timeout
 * ```ts ignore
 * import { connectClient } from "qw";
 *
 * const client = await connectClient({ servers: ["nats://nats:4222"], token: "s3cret", connectTimeout: 5, stream: "jobs" });
 * ```
 */
export type { ConnectionConfig } from "./src/client/connection.ts";
