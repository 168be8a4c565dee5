/**
 * The producer side of qw: connect, enqueue jobs (typed by a tasks module),
 * read and await results. Publishes the wire format of producer.ts and reads
 * the KV records of result_store.ts; creates nothing on the server. A job is
 * checked and encoded in prepare_job.ts before it is published.
 *
 * @module
 */

import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { DEFAULT_CONNECT_TIMEOUT, DEFAULT_RESULT_TTL, DEFAULT_SERVERS, validateStreamName } from "../core/config/config.ts";
import { openRevoked, putRevoke, revokeTtlFor } from "./buckets/revocations.ts";
import { revokeTtl } from "../core/job/revoke_ttl.ts";
import { openBucket } from "./buckets/buckets.ts";
import { type ConnectionConfig, errorText, openConnection } from "./connection.ts";
import { ClosedError, ResultTimeoutError } from "../core/errors.ts";
import type { Emitter, QwEvent } from "../core/events.ts";
import { bad, checkId, type EnqueueOptions, prepareJob } from "./prepare_job.ts";
import { flowStartSubject, publishFlow } from "./producer.ts";
import { type FlowNode, normalizeFlow } from "../core/flow.ts";
import { keyFor } from "./buckets/result_store.ts";
import { isFinalState, type TaskState } from "../core/types.ts";
import type { ClientOptions, EnqueueReceipt, PendingResult, TaskArgs, TaskName, TaskResult } from "./client_types.ts";
import { jobSubject, namesFor } from "./topology.ts";
import { sendTraced } from "./trace_context.ts";
import { isStreamNotFound } from "./server_errors.ts";
import { type StreamCapsProbe, streamCapsProbe } from "./stream_caps.ts";
import { UniqueJobs } from "./unique_jobs.ts";
import { type EnqueueManyOptions, type ManyJob, ManyPublisher } from "./enqueue_many.ts";

export { checkId, type EnqueueOptions, prepareJob } from "./prepare_job.ts";
export type { ClientOptions, EnqueueManyOptions, EnqueueReceipt, ManyJob, PendingResult, TaskArgs, TaskName, TaskResult };

/** True for the states a job ends in. */
export { isFinalState };

/**
 * A connection to one qw stream for producers. `T` is the type of a tasks
 * module (`typeof import("../tasks.ts")`) to check task names and args at
 * compile time; the default accepts any name and args.
 */
// deno-lint-ignore no-explicit-any
export class Client<T = any> implements AsyncDisposable {
  /** The work stream. */
  readonly stream: string;
  /** The underlying NATS connection, for anything the client does not cover. */
  readonly nc: NatsConnection;
  /** The JetStream manager on {@linkcode nc}. */
  readonly jsm: JetStreamManager;
  #js: JetStreamClient;
  #bucket: string;
  #kv: KV | null = null;
  #revoked: KV | null = null;
  #watchers = new Set<{ stop(): void }>();
  #closed: Promise<void> | null = null;
  #many: ManyPublisher | null = null;
  #onClose: () => void;
  /** What the stream takes (`Nats-TTL`, schedules), read at the first job that needs to know. */
  #caps: StreamCapsProbe;
  #unique: UniqueJobs;

  /** Use {@linkcode connectClient}; `onClose` runs when {@linkcode close} starts. */
  constructor(nc: NatsConnection, jsm: JetStreamManager, stream: string, onClose: () => void = () => {}) {
    this.#onClose = onClose;
    this.nc = nc;
    this.jsm = jsm;
    this.stream = stream;
    this.#js = jetstream(nc);
    this.#bucket = namesFor(stream).resultsBucket;
    this.#caps = streamCapsProbe(nc, jsm, stream);
    this.#unique = new UniqueJobs({ jsm, js: this.#js, stream, caps: this.#caps, resultState: async (id) => (await this.get(id)).state });
  }

  /** Enqueue a job; resolves to its task id once the server stored it. */
  async enqueue<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options?: EnqueueOptions): Promise<string> {
    return (await this.send(task, args, options)).id;
  }

  /** Like {@linkcode enqueue}, with the stream sequence and whether the id was a duplicate. */
  async send<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options?: EnqueueOptions): Promise<EnqueueReceipt> {
    this.#open();
    const now = Date.now();
    const job = prepareJob(task, args, options, now);
    try {
      return await sendTraced(jobSubject(this.stream, task), job, (j) => this.#unique.send(j, now));
    } catch (e) {
      throw await this.#publishError(e, task);
    }
  }

  /**
   * Enqueue many jobs in one call; resolves to their task ids, in order, once all are stored. All are
   * checked first. On nats-server 2.12+ with a stream that has `allow_atomic`, they go in atomic batches
   * of up to 1,000 (each stored whole or not at all; several batches are not one); else one by one.
   */
  async enqueueMany(jobs: readonly ManyJob<T>[], options?: EnqueueManyOptions): Promise<string[]> {
    return (await this.sendMany(jobs, options)).map((r) => r.id);
  }

  /** Like {@linkcode enqueueMany}, with a receipt per job as {@linkcode send} gives. */
  async sendMany(jobs: readonly ManyJob<T>[], options?: EnqueueManyOptions): Promise<EnqueueReceipt[]> {
    this.#open();
    this.#many ??= new ManyPublisher({ nc: this.nc, js: this.#js, stream: this.stream, caps: this.#caps });
    try {
      return await this.#many.send(jobs, options);
    } catch (e) {
      throw e instanceof TypeError || e instanceof RangeError ? e : await this.#publishError(e, jobs[0]?.task ?? "");
    }
  }

  /** The current record of a job, or `{ id, state: "PENDING" }` when there is none. */
  async get<R = unknown>(id: string): Promise<TaskResult<R> | PendingResult> {
    this.#open();
    checkId("get result", id);
    const kv = await this.#results("get result from");
    const e = kv ? await kv.get(keyFor(id)) : null;
    return e && e.operation === "PUT" ? e.json<TaskResult<R>>() : { id, state: "PENDING" };
  }

  /**
   * Start a workflow built with `sig`, `chain`, `group` and `chord`; resolves to
   * its id once the server stored it. `result(flowId)` gives the flow's final
   * state and result; each step's own record is under `<flow id>.<path>`.
   */
  async enqueueFlow(flow: FlowNode, options: { id?: string } = {}): Promise<string> {
    this.#open();
    const id = checkId("start flow", options.id ?? crypto.randomUUID());
    const normalized = normalizeFlow(flow);
    try {
      await sendTraced(flowStartSubject(this.stream), { id, flow: normalized }, (m) => publishFlow(this.#js, this.stream, m));
    } catch (e) {
      throw await this.#publishError(e, "_flow");
    }
    return id;
  }

  /** The current record of a job: PENDING (no record), STARTED, PROGRESS, RETRY, or a final state. Same as {@linkcode get}. */
  state<R = unknown>(id: string): Promise<TaskResult<R> | PendingResult> { return this.get<R>(id); }

  /**
   * Every change of a job's record, starting with the current one, until a
   * final state (SUCCESS, FAILURE or REVOKED), which is yielded last. Ends
   * early, without an error, after `timeout` seconds or when the client closes.
   */
  async *watch<R = unknown>(id: string, options: { timeout?: number } = {}): AsyncGenerator<TaskResult<R>> {
    this.#open();
    checkId("watch result", id);
    const { timeout } = options;
    if (timeout !== undefined && !(typeof timeout === "number" && timeout >= 0)) {
      throw bad(RangeError, "watch result", "'timeout'", "a number >= 0", timeout);
    }
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    const kv = await this.#results("get result from", deadline);
    if (!kv) return;
    const w = await kv.watch({ key: keyFor(id) });
    this.#watchers.add(w);
    const left = deadline - Date.now();
    const timer = Number.isFinite(left) ? setTimeout(() => w.stop(), Math.max(0, left)) : undefined;
    try {
      for await (const e of w) {
        if (e.operation !== "PUT") continue;
        const record = e.json<TaskResult<R>>();
        yield record;
        if (isFinalState(record.state)) return;
      }
    } finally {
      clearTimeout(timer);
      w.stop();
      this.#watchers.delete(w);
    }
  }

  /**
   * Wait for a job's final state (SUCCESS, FAILURE or REVOKED) by watching its KV key.
   * A failed job resolves too: check `state`. Throws `ResultTimeoutError` after `timeout` seconds.
   */
  async result<R = unknown>(id: string, options: { timeout?: number } = {}): Promise<TaskResult<R>> {
    let last: TaskResult<R> | null = null;
    for await (const r of this.watch<R>(id, options)) {
      last = r;
      if (isFinalState(r.state)) return r;
    }
    this.#open();
    if (options.timeout === undefined) throw new Error(`Cannot get result of '${id}' as the connection closed while waiting`);
    throw new ResultTimeoutError(
      `No final result for '${id}' within ${options.timeout} s: current state is "${last?.state ?? "PENDING"}"`,
    );
  }

  /**
   * Revoke a job: stored in the bucket every worker watches, so one that has
   * not started never runs (its state becomes REVOKED when a worker sees it,
   * even one that starts later); with `terminate`, a running one's Web Worker
   * is terminated. A job that already ended is left as it is: `revoked` is
   * false and `state` says how it ended. On nats-server 2.11+ the revoke expires by itself after
   * `ttl` seconds (default: the stream's max age, else the results TTL); see README "Control".
   */
  async revoke(id: string, options: { terminate?: boolean; ttl?: number } = {}): Promise<{ revoked: boolean; state: TaskState }> {
    if (options.ttl !== undefined) revokeTtl({ requested: options.ttl, streamMaxAge: 0, resultTtl: 0, bucketMaxAge: 0 });
    const current = await this.get(id);
    if (isFinalState(current.state)) return { revoked: false, state: current.state };
    await this.#requireStream("revoke a job of");
    this.#revoked ??= await openRevoked(this.nc, namesFor(this.stream).revokedBucket, DEFAULT_RESULT_TTL);
    const ttl = await revokeTtlFor(this.jsm, this.#revoked, { stream: this.stream, requested: options.ttl, resultTtl: DEFAULT_RESULT_TTL });
    await putRevoke(this.#revoked, { id, terminate: options.terminate === true, at: new Date().toISOString() }, { jsm: this.jsm, ttl });
    return { revoked: true, state: current.state };
  }

  /** Stop waiting for results and close the connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#onClose();
      for (const w of this.#watchers) w.stop();
      await this.nc.drain().catch(() => this.nc.close());
    })();
    return this.#closed;
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #open(): void {
    if (this.#closed) throw new ClosedError("Cannot use a closed qw client");
  }

  /** Throws for an unknown stream; null while no worker has created the results bucket yet (waits until `deadline`). */
  async #results(attempt: string, deadline = 0): Promise<KV | null> {
    if (this.#kv) return this.#kv;
    let checked = false;
    for (let delay = 100;; delay = Math.min(1000, delay * 2)) {
      this.#kv = await openBucket(this.jsm, this.#bucket);
      if (this.#kv) return this.#kv;
      if (!checked) await this.#requireStream(attempt);
      checked = true;
      if (Date.now() + delay > deadline) return null;
      await new Promise((r) => setTimeout(r, delay));
      this.#open();
    }
  }

  async #requireStream(attempt: string): Promise<void> {
    try {
      await this.jsm.streams.info(this.stream);
    } catch (e) {
      if (isStreamNotFound(e)) throw new Error(streamNotFound(attempt, this.stream));
      throw e;
    }
  }

  async #publishError(e: unknown, task: string): Promise<Error> {
    if (!/not enabled|no responders|503/i.test(errorText(e))) return e instanceof Error ? e : new Error(errorText(e));
    try {
      await this.#requireStream("enqueue to");
    } catch (why) {
      return why as Error;
    }
    return new Error(`Cannot enqueue to stream '${this.stream}' as subject '${this.stream}.${task}' is not one of its subjects`);
  }
}

/** The one-line error for a missing work stream. */
export function streamNotFound(attempt: string, stream: string): string {
  return `Cannot ${attempt} stream '${stream}': stream not found (start a worker with --stream ${stream} first, or create it)`;
}

const KEYS = ["user", "password", "token", "nkeySeedFile", "credsFile", "tlsCaFile", "tlsCertFile", "tlsKeyFile"] as const;

/** Connect a producer client; checks that the server has JetStream. */
// deno-lint-ignore no-explicit-any
export async function connectClient<T = any>(
  options: ClientOptions,
  extra: { events?: Emitter } = {},
): Promise<Client<T>> {
  const stream = validateStreamName(options?.stream, "stream", "connect client");
  const list = typeof options.servers === "string" ? options.servers.split(",") : options.servers ?? DEFAULT_SERVERS;
  const servers = list.map((s) => s.trim()).filter((s) => s !== "");
  const cfg = { servers: servers.length > 0 ? servers : [...DEFAULT_SERVERS] } as ConnectionConfig;
  for (const k of KEYS) cfg[k] = options[k] ?? null;
  cfg.connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  const events = extra.events;
  // Closing is the caller's own doing: not worth a status event.
  let closing = false;
  const emit = (e: QwEvent) => {
    if (!(closing && e.type === "connection.status")) events?.emit(e);
  };
  const nc = await openConnection(cfg, { name: options.name ?? "qw client", emit });
  try {
    return new Client<T>(nc, await jetstreamManager(nc), stream, () => (closing = true));
  } catch (e) {
    closing = true;
    await nc.close().catch(() => {});
    throw new Error(`Cannot use JetStream on '${cfg.servers.join(",")}': ${errorText(e)} (start nats-server with -js)`);
  }
}
