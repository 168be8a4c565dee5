/**
 * The composition root of a worker: loads the tasks into the pool, connects,
 * creates what is missing, and wires consumer -> dispatcher -> pool. Owns
 * `start()`, `close()` and `[Symbol.asyncDispose]`.
 *
 * @module
 */

import { accessSync, constants } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { jetstream, type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { type ConnectionConfig, errorText, openConnection, serverAtLeast } from "../client/connection.ts";
import { Puller } from "./consumer.ts";
import { Dispatcher, type Held } from "./dispatch.ts";
import { Emitter, type QwEvent } from "../core/events.ts";
import { EventPublisher } from "../ops/event_publisher.ts";
import { Health, type HttpServer, startHttpServer } from "../ops/http.ts";
import { Metrics } from "../ops/metrics.ts";
import { Pool } from "./pool.ts";
import { jetStreamSink } from "./job_sink.ts";
import type { TaskDefaults } from "./protocol.ts";
import { KvResultStore, type ResultStore } from "../client/result_store.ts";
import { createTaskWorker } from "../core/runtime.ts";
import { DelayedRelease } from "./delayed_release.ts";
import { ensureTopology, namesFor } from "../client/topology.ts";
import { TasksFileError } from "../core/errors.ts";
import { watchStalls } from "./stall_watch.ts";

/** What a worker needs; `ResolvedConfig` from config.ts satisfies it. */
export interface ServiceConfig extends ConnectionConfig {
  stream: string;
  tasks: string;
  consumer: string;
  concurrency: number;
  ackWait: number;
  grace: number;
  maxDeliveries: number;
  results: boolean;
  resultTtl: number;
  /** Publish events on `_qw.events.<stream>`; absent means true. */
  events?: boolean;
  name: string;
  maxTasksPerChild: number | null;
  /** Seconds stalled before /healthz fails; twice this and the service hands back its jobs and closes. */
  stallTimeout: number;
  /** Seconds a Web Worker may take to load the tasks file. */
  spawnTimeout: number;
  taskDefaults: TaskDefaults;
  /** "host:port" of /healthz, /readyz and /metrics; null or absent serves none. */
  http?: string | null;
}

/** A running worker. */
export interface Service {
  readonly events: Emitter;
  /** Tasks the tasks file exports, with resolved options. */
  readonly tasks: string[];
  /** Messages held right now (queued or running). */
  readonly held: number;
  /** "host:port" the HTTP endpoint listens on, or null. */
  readonly httpAddress: string | null;
  /** Stop pulling, finish or hand back every job, drain, terminate. Idempotent. */
  close(reason?: string, options?: { graceSeconds?: number }): Promise<void>;
  /** Resolves when the service closed (by close() or a fatal error). */
  readonly closed: Promise<void>;
  /** Why the service closed on its own (the connection was lost for good), or null. */
  readonly fatal: string | null;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start a worker. Throws a one-line Error for bad tasks files and unreachable servers. */
export async function startService(cfg: ServiceConfig, options: { events?: Emitter; store?: ResultStore } = {}): Promise<Service> {
  const events = options.events ?? new Emitter();
  const emit = events.emit.bind(events);
  const tasksUrl = tasksFileUrl(cfg.tasks);
  let dispatcher: Dispatcher | null = null;
  const pool = await Pool.start<Held>({
    size: cfg.concurrency,
    tasksUrl,
    defaults: cfg.taskDefaults,
    maxTasksPerChild: cfg.maxTasksPerChild,
    spawnTimeoutMs: cfg.spawnTimeout * 1000,
    createWorker: createTaskWorker,
    onStarted: (h) => dispatcher!.onStarted(h),
    onResult: (h, outcome, ms) => dispatcher!.onResult(h, outcome, ms),
    onEvent: (e) => emit(e),
  });
  let nc: NatsConnection;
  try {
    nc = await openConnection(cfg, { name: `qw ${cfg.name}`, emit });
  } catch (e) {
    await pool.close({ timeoutMs: 0 });
    throw e;
  }
  try {
    return await wire(cfg, { nc, pool, events, store: options.store, setDispatcher: (d) => (dispatcher = d) });
  } catch (e) {
    await pool.close({ timeoutMs: 0 });
    await nc.close().catch(() => {});
    throw e;
  }
}

async function wire(
  cfg: ServiceConfig,
  p: { nc: NatsConnection; pool: Pool<Held>; events: Emitter; store?: ResultStore; setDispatcher(d: Dispatcher): void },
): Promise<Service> {
  const { nc, pool, events } = p;
  const emit = events.emit.bind(events);
  const names = namesFor(cfg.stream, cfg.consumer);
  const { jsm, js, consumer, delayed, store } = await settingUp(cfg, emit, async () => {
    const jsm = await jetstreamManager(nc);
    await ensureTopology(jsm, names, { ackWait: cfg.ackWait, emit });
    const js: JetStreamClient = jetstream(nc);
    const store = p.store ?? (cfg.results ? await KvResultStore.open(nc, names.resultsBucket, { ttl: cfg.resultTtl }) : null);
    const consumer = await js.consumers.get(cfg.stream, names.consumer);
    const delayed = await js.consumers.get(cfg.stream, names.delayedConsumer);
    return { jsm, js, consumer, delayed, store };
  });
  const dispatcher = new Dispatcher({
    stream: cfg.stream,
    tasks: () => pool.tasks,
    submit: (job) => pool.submit(job),
    withdraw: (h) => pool.withdraw(h),
    store,
    emitter: events,
    maxDeliveries: cfg.maxDeliveries,
    ackWaitMs: cfg.ackWait * 1000,
    workerName: cfg.name,
    termReasons: serverAtLeast(nc.info?.version, 2, 10),
    sink: jetStreamSink(js, jsm, names),
  });
  p.setDispatcher(dispatcher);
  const puller = new Puller({
    consumer,
    room: () => pool.room,
    whenRoom: () => pool.whenRoom(),
    onMessage: (m) => dispatcher.onMessage(m),
    onError: (error, transient) =>
      emit(transient ? { type: "connection.status", status: "pull_retry", detail: `consumer: ${error}` } : { type: "error", where: "consumer", error }),
  });
  const delayedRelease = new DelayedRelease({ consumer: delayed, js, stream: cfg.stream, emitter: events });
  const metrics = new Metrics({ stream: cfg.stream, poolSize: pool.status().ready, held: () => dispatcher.held.size });
  const health = new Health({ poolSize: cfg.concurrency });
  const publisher = new EventPublisher(nc, { subject: names.eventsSubject, source: cfg.name });
  const http: HttpServer | null = cfg.http
    ? await startHttpServer(cfg.http, { health: () => health.health(), readiness: () => health.readiness(), metrics: () => metrics.render() })
    : null;
  for (const l of [metrics.listener, health.listener]) events.on(l);
  if (cfg.events !== false) events.on(publisher.listener);
  const leases = setInterval(() => dispatcher.touchLeases(pool.status()), Math.max(100, Math.min(1000, (cfg.ackWait * 1000) / 6)));
  let fatal: string | null = null;
  const stopWatch = watchStalls({
    status: () => pool.status(),
    stallTimeoutMs: cfg.stallTimeout * 1000,
    emitter: events,
    onFatal: (reason) => {
      fatal ??= reason;
      void close("the pool stalled", { graceSeconds: 0 });
    },
  });
  puller.start();
  delayedRelease.start();
  emit({ type: "service.started", stream: cfg.stream, consumer: names.consumer, concurrency: cfg.concurrency, tasks: Object.keys(pool.tasks) });

  let closing: Promise<void> | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const step = async (where: string, f: () => Promise<unknown> | unknown) => {
    try {
      await f();
    } catch (e) {
      emit({ type: "error", where, error: errorText(e) });
    }
  };
  const close = (reason = "close() called", o: { graceSeconds?: number } = {}): Promise<void> => {
    if (closing) {
      if (o.graceSeconds === 0) {
        emit({ type: "service.closing", reason });
        pool.hurry();
      }
      return closing;
    }
    return closing = (async () => {
      emit({ type: "service.closing", reason });
      stopWatch();
      // Pulling stops at once; open pull requests run out while running jobs finish.
      const stopping = step("close.consumer", () => Promise.all([puller.stop(), delayedRelease.stop()]));
      let handedBack = dispatcher.releaseWaiting();
      const graceSeconds = o.graceSeconds ?? cfg.grace;
      const running = pool.status().running;
      if (running > 0 && graceSeconds > 0) emit({ type: "service.draining", running, graceSeconds });
      await step("close.pool", async () => {
        const { unstarted, unfinished } = await pool.close({ timeoutMs: graceSeconds * 1000 });
        const cause = fatal === null ? "shutdown" : "stall";
        for (const h of unstarted) dispatcher.handBack(h, "not started before shutdown", cause);
        for (const h of unfinished) dispatcher.handBack(h, "still running when the grace period ended", cause);
        handedBack += unstarted.length + unfinished.length;
      });
      await stopping;
      clearInterval(leases);
      // Whatever is still held and not being settled goes back, so nothing waits for this process.
      const cause = fatal === null ? "shutdown" : "stall";
      for (const h of [...dispatcher.held]) {
        if (h.settling || h.acked) continue;
        dispatcher.handBack(h, fatal === null ? "still held at shutdown" : "the pool stalled", cause);
        handedBack++;
      }
      await step("close.http", () => http?.close());
      // Every job is settled or handed back: say so while the event can still be published.
      emit({ type: "service.closed", handedBack });
      publisher.close();
      await step("close.drain", () => nc.drain());
      resolveClosed();
    })();
  };
  void nc.closed().then((err) => {
    if (!closing && err) {
      fatal = `The NATS connection closed: ${errorText(err)}`;
      emit({ type: "error", where: "connection", error: errorText(err) });
      void close("connection closed");
    }
  });
  return {
    events,
    tasks: Object.keys(pool.tasks),
    get held() {
      return dispatcher.held.size;
    },
    httpAddress: http?.address ?? null,
    close,
    closed,
    get fatal() {
      return fatal;
    },
    [Symbol.asyncDispose]: () => close(),
  };
}

/**
 * Run the JetStream set-up, retrying timeouts (a cluster without a leader
 * yet) for `connectTimeout` seconds with a line per attempt; other errors
 * fail at once with what to do.
 */
async function settingUp<T>(cfg: ServiceConfig, emit: (e: QwEvent) => void, fn: () => Promise<T>): Promise<T> {
  const where = `'${cfg.servers.join(",")}'`;
  const deadline = Date.now() + cfg.connectTimeout * 1000;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const msg = errorText(e);
      if (/not enabled|no responders/i.test(msg)) {
        throw new Error(`Cannot use JetStream on ${where}: ${msg} (start nats-server with -js)`);
      }
      if (!/timeout|timed out/i.test(msg)) throw new Error(`Cannot set up stream '${cfg.stream}' on ${where}: ${msg}`);
      if (Date.now() >= deadline) {
        throw new Error(
          `Cannot set up stream '${cfg.stream}' on ${where} after ${attempt} attempts in ${cfg.connectTimeout}s: ${msg} (does the JetStream cluster have a leader?)`,
        );
      }
      emit({ type: "connection.retry", attempt, error: `JetStream set-up: ${msg}`, server: cfg.servers.join(","), timeoutSeconds: cfg.connectTimeout });
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** The tasks file as a URL a Web Worker can import; a clear error if it cannot be read. */
export function tasksFileUrl(path: string): string {
  const abs = resolve(path);
  try {
    accessSync(abs, constants.R_OK);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : errorText(e);
    throw new TasksFileError(`Cannot read tasks file '${path}': ${why}`);
  }
  return pathToFileURL(abs).href;
}
