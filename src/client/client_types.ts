/**
 * The types of the producer client: how to connect, what a publish returns,
 * result records as the client sees them, and the task names and args of a
 * tasks module (checked at compile time). Types only.
 *
 * @module
 */

import type { ConnectionConfig } from "./connection.ts";
import type { ResultRecord } from "./buckets/result_store.ts";
import type { Task } from "../core/task/task.ts";

/** How to connect: a `ConnectionConfig` (or a resolved config), or just `{ servers, stream }`. */
export interface ClientOptions extends Partial<Omit<ConnectionConfig, "servers">> {
  /** The work stream, as the worker's `--stream`. */
  stream: string;
  /** NATS URLs, as an array or comma-separated. @default ["nats://127.0.0.1:4222"] */
  servers?: string | readonly string[];
  /** The connection name the server shows. @default "qw client" */
  name?: string;
}

/** What the server said about a published job. */
export interface EnqueueReceipt {
  /** The task id. */
  id: string;
  /** Stream sequence of the stored message. */
  seq: number;
  /** True when a message with this id was already stored within the duplicate window. */
  duplicate: boolean;
  /** True when the job waits for its eta on the delayed subject. */
  delayed: boolean;
  /** Set when nothing was published as another job holds the `unique` key: `id` is that job's (and `seq` 0). */
  heldBy?: string;
}

/** A job with no record yet: not run, unknown id, or its record expired. */
export interface PendingResult {
  /** The task id asked for. */
  id: string;
  /** Always "PENDING". */
  state: "PENDING";
}

/** A stored result whose `result` is typed. */
export type TaskResult<R = unknown> = Omit<ResultRecord, "result"> & { result?: R };

/** The task names of a tasks module type: its exported functions. `string` when untyped. */
export type TaskName<T> = 0 extends 1 & T ? string
  // deno-lint-ignore no-explicit-any
  : { [K in keyof T & string]: T[K] extends (...args: any[]) => unknown ? K : never }[keyof T & string];

/** The arguments a producer passes to task `K` of module `T`: a `task()`'s declared args or the function's parameters. */
export type TaskArgs<T, K> = 0 extends 1 & T ? unknown[]
  : K extends keyof T
    ? T[K] extends Task<infer A, infer _R> ? A : T[K] extends (...args: infer P) => unknown ? P : never
  : never;
