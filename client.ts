/**
 * The producer side of qw, for apps that enqueue jobs and read results: what
 * the npm package `@qwjobs/qw` exports. It runs on Node, Bun and Deno and needs
 * no Web Workers; the worker itself is the `qw` binary (or `mod.ts`).
 *
 * @example Enqueue a job from Node and wait for its result
 * ```ts ignore
 * import { connectClient } from "@qwjobs/qw";
 *
 * const client = await connectClient({ servers: "nats://127.0.0.1:4222", stream: "jobs" });
 * const id = await client.enqueue("add", [2, 3]);
 * const record = await client.result(id, { timeout: 30 });
 * console.log(record.state, record.result); // SUCCESS 5
 * await client.close();
 * ```
 *
 * @module
 */

export {
  /**
   * Connect a producer to a qw stream. Fails with a one-line error when the
   * server cannot be reached within `connectTimeout` seconds or has no JetStream.
   *
   * @param options The stream and how to reach NATS; `servers` defaults to nats://127.0.0.1:4222.
   * @param extra An {@linkcode Emitter} for connection events (retries, reconnects).
   * @returns A {@linkcode Client}; `await client.close()` (or `await using`) when done.
   *
   * @example Enqueue with an id, idempotently
   * ```ts ignore
   * import { connectClient } from "@qwjobs/qw";
   *
   * const client = await connectClient({ stream: "jobs" });
   * await client.enqueue("sendInvoice", [42], { id: "invoice-42" }); // stored once within 2 minutes
   * await client.close();
   * ```
   */
  connectClient,
  /**
   * A producer connected to one stream: `enqueue(task, args, options)` returns the task id;
   * `get(id)` reads the current record (`PENDING` when there is none); `result(id, { timeout })`
   * waits for a final state (SUCCESS, FAILURE or REVOKED) and throws {@linkcode ResultTimeoutError} on
   * timeout; `watch(id)` yields every change; `revoke(id, { terminate })` revokes durably;
   * `enqueueFlow(flow)` starts a workflow; `enqueueMany(jobs)` enqueues many jobs in one call (atomic
   * batches of up to 1,000 on nats-server 2.12+ with a stream that has `allow_atomic`).
   *
   * @example Enqueue many jobs in one call
   * ```ts ignore
   * import { connectClient } from "@qwjobs/qw";
   *
   * await using client = await connectClient({ stream: "jobs" });
   * const ids = await client.enqueueMany([
   *   { task: "resize", args: ["a.png"] },
   *   { task: "resize", args: ["b.png"], options: { id: "resize-b" } },
   * ]);
   * console.log(ids.length); // 2, in the order given
   * ```
   *
   * @example Read a record without waiting
   * ```ts ignore
   * import { connectClient } from "@qwjobs/qw";
   *
   * await using client = await connectClient({ stream: "jobs" });
   * console.log((await client.get("invoice-42")).state);
   * ```
   */
  Client,
} from "./src/client/client.ts";

export {
  /**
   * Thrown by a {@linkcode Client} used after `close()`.
   *
   * @example
   * ```ts ignore
   * import { ClosedError, connectClient } from "@qwjobs/qw";
   *
   * const client = await connectClient({ stream: "jobs" });
   * await client.close();
   * await client.enqueue("add", [1, 2]).catch((e) => console.log(e instanceof ClosedError)); // true
   * ```
   */
  ClosedError,
  /**
   * Thrown by `client.result(id, { timeout })` when no final state came in time.
   *
   * @example
   * ```ts ignore
   * import { connectClient, ResultTimeoutError } from "@qwjobs/qw";
   *
   * const client = await connectClient({ stream: "jobs" });
   * await client.result("slow-1", { timeout: 1 }).catch((e) => console.log(e instanceof ResultTimeoutError));
   * ```
   */
  ResultTimeoutError,
} from "./src/core/errors.ts";

export {
  /**
   * The typed event emitter `connectClient` reports connection events on.
   *
   * @example
   * ```ts ignore
   * import { connectClient, Emitter } from "@qwjobs/qw";
   *
   * const events = new Emitter();
   * events.on((e) => console.log(e.type));
   * const client = await connectClient({ stream: "jobs" }, { events });
   * ```
   */
  Emitter,
} from "./src/core/events.ts";

/**
 * Types of the producer client: options, the receipt of a publish, result
 * records, and the task names and args of a tasks module.
 *
 * @example Type the args of a job
 * ```ts ignore
 * import type { EnqueueOptions } from "@qwjobs/qw";
 *
 * const options: EnqueueOptions = { id: "order-42", countdown: 10 };
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
/** How to reach NATS: servers, credentials, TLS and the connect timeout. */
export type { ConnectionConfig } from "./src/client/connection.ts";
/** A job's state, a serialized error and the events a client reports. */
export type { Progress, SerializedError, TaskState } from "./src/core/types.ts";

export {
  /**
   * Build workflows to start with `client.enqueueFlow()`: `sig(task, args)`
   * (`.immutable()` takes no parent result), `chain(...)`, `group(...)` and
   * `chord(group, body)`, as Celery's canvas.
   *
   * @example A chain from Node
   * ```ts ignore
   * import { chain, connectClient, sig } from "@qwjobs/qw";
   *
   * const client = await connectClient({ stream: "jobs" });
   * const id = await client.enqueueFlow(chain(sig("add", [1, 1]), sig("add", [2]), sig("mul", [10])));
   * console.log((await client.result(id)).result); // 40
   * ```
   */
  chain,
  chord,
  group,
  sig,
} from "./src/core/flow.ts";
export type { FlowNode, Signature, SigNode } from "./src/core/flow.ts";
/** Everything qw reports, as a discriminated union on `type`. */
export type { QwEvent } from "./src/core/events.ts";
