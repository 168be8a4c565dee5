/**
 * The composition root of a worker: loads the tasks into the pool, connects,
 * creates what is missing, and wires consumer -> dispatcher -> pool. Owns
 * `start()`, `close()` and `[Symbol.asyncDispose]`.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { errorText, openConnection, serverAtLeast } from "../client/connection.ts";
import { pullers } from "./keys/keyed_intake.ts";
import type { JsMsg } from "@nats-io/jetstream";
import { PriorityLevels } from "./intake/priority_levels.ts";
import { Dispatcher, type Held } from "./intake/dispatch.ts";
import type { Delivery } from "./intake/delivery.ts";
import { Emitter } from "../core/events.ts";
import { EventPublisher } from "../ops/event_publisher.ts";
import { Health, type HttpServer, startHttpServer } from "../ops/http.ts";
import { Metrics } from "../ops/metrics.ts";
import { Presence, runningJobs, StatsWriter, workerCounts } from "../ops/presence.ts";
import { BatchPool } from "./pool/batch_pool.ts";
import { jetStreamSink } from "./settle/job_sink.ts";
import type { ResultStore } from "../client/buckets/result_store.ts";
import { RevokedSet } from "../client/buckets/revocations.ts";
import { createTaskWorker, hostname, pid } from "../core/runtime.ts";
import { DelayedRelease } from "./schedules/delayed_release.ts";
import { debounceCheck } from "./schedules/debounce_check.ts";
import { levelConsumer, namesFor } from "../client/topology.ts";
import { VERSION } from "../core/version.ts";
import { hasStarted } from "../core/job/job_life.ts";
import { watchStalls } from "./stall_watch.ts";
import { setUpServer, tasksFileUrl } from "./setup.ts";
import { HeldRevokes } from "./schedules/held_revokes.ts";
import { FlowRunner } from "./flows/flow_runner.ts";
import { FlowStarter } from "./flows/flow_steps.ts";
import { parseSchedules, type TaskSchedule } from "../core/schedule.ts";
import { setUpFiring } from "./schedules/schedule_firing.ts";
import { shutdown } from "./shutdown.ts";
import { WorkerPauses } from "./pause/worker_pauses.ts";
import { parkingSink } from "./pause/park.ts";
import type { Tracer } from "@opentelemetry/api";
import { RunSpans } from "./settle/run_spans.ts";
import type { Service, ServiceConfig } from "./service_types.ts";

export { tasksFileUrl };
export type { Service, ServiceConfig };

/**
 * Start a worker. Throws a one-line Error for bad tasks files and unreachable
 * servers, and a `TypeError` or `RangeError` for a bad schedule. With a
 * `tracer`, every run of a job is a span (README "Traces"); without one none is made.
 */
export async function startService(
  cfg: ServiceConfig,
  options: { events?: Emitter; store?: ResultStore; tracer?: Tracer } = {},
): Promise<Service> {
  const events = options.events ?? new Emitter();
  const emit = events.emit.bind(events);
  const tasksUrl = tasksFileUrl(cfg.tasks);
  let dispatcher: Dispatcher | null = null;
  // The Web Workers load the tasks file while the connection is made.
  const starting = BatchPool.start<Held>({
    size: cfg.concurrency,
    tasksUrl,
    defaults: cfg.taskDefaults,
    maxTasksPerChild: cfg.maxTasksPerChild,
    spawnTimeoutMs: cfg.spawnTimeout * 1000,
    createWorker: createTaskWorker,
    onStarted: (h) => dispatcher!.onStarted(h),
    onFinished: (h) => dispatcher!.onFinished(h),
    onResult: (h, outcome, ms) => dispatcher!.onResult(h, outcome, ms),
    onProgress: (h, fraction, meta) => dispatcher!.onProgress(h, fraction, meta),
    onEvent: (e) => emit(e),
  }).then(async (pool) => {
    // Checked as soon as the tasks file is loaded: a bad schedule is a bad tasks file, whatever the server.
    try {
      return { pool, schedules: parseSchedules(pool.tasks, Date.now()) };
    } catch (e) {
      await pool.close({ timeoutMs: 0 });
      throw e;
    }
  });
  // A start that fails closes the connection quietly: the error is the one line to say.
  let failed = false;
  const connecting = openConnection(cfg, { name: `qw ${cfg.name}`, emit: (e) => (failed && e.type === "connection.status" ? undefined : emit(e)) });
  const [pooled, connected] = await Promise.allSettled([starting, connecting]);
  if (pooled.status === "rejected" || connected.status === "rejected") {
    failed = true;
    if (pooled.status === "fulfilled") await pooled.value.pool.close({ timeoutMs: 0 });
    if (connected.status === "fulfilled") await connected.value.close().catch(() => {});
    throw pooled.status === "rejected" ? pooled.reason : (connected as PromiseRejectedResult).reason;
  }
  const { pool, schedules } = pooled.value;
  const nc = connected.value;
  try {
    return await wire(cfg, { nc, pool, events, schedules, store: options.store, tracer: options.tracer, setDispatcher: (d) => (dispatcher = d) });
  } catch (e) {
    await pool.close({ timeoutMs: 0 });
    await nc.close().catch(() => {});
    throw e;
  }
}

async function wire(
  cfg: ServiceConfig,
  p: { nc: NatsConnection; pool: BatchPool<Held>; events: Emitter; schedules: TaskSchedule[]; store?: ResultStore; tracer?: Tracer; setDispatcher(d: Dispatcher): void },
): Promise<Service> {
  const { nc, pool, events } = p;
  const emit = events.emit.bind(events);
  const names = namesFor(cfg.stream, cfg.consumer);
  const { jsm, js, store, revoked, workers, flows, pauses: pausesKv, stats: statsKv, ackWait, delays, atomicBatch, levels, rateCounter } = await setUpServer(nc, names, cfg, {
    emit,
    store: p.store,
    schedules: cfg.schedules === false ? [] : p.schedules.map((s) => `${s.task}@${s.index}`),
  });
  const firing = await setUpFiring({ nc, names, schedules: p.schedules, enabled: cfg.schedules !== false, emitter: events, priorityOf: (t) => pool.tasks[t]?.priority });
  const flowStarter = new FlowStarter({
    runner: new FlowRunner({ nc, js, stream: cfg.stream, atomic: atomicBatch, kv: flows, store, workerName: cfg.name, now: Date.now }),
    emitter: events,
    tasks: () => pool.tasks,
    invalid: (msg, job, reason) => dispatcher.invalid(msg, job, reason),
    ackWaitMs: ackWait * 1000,
  });
  const revokes = new RevokedSet();
  // What is paused (qw_<stream>_paused): a job of a paused task goes back instead of into the pool.
  const pauses: WorkerPauses<Held> = new WorkerPauses<Held>({
    nc, stream: cfg.stream, consumer: names.consumer, emit,
    held: (): Iterable<Held> => dispatcher.held,
    withdraw: (h) => pool.withdraw(h),
    handBack: (h, reason) => dispatcher.handBack(h, reason, "paused"),
  });
  const dispatcher: Dispatcher = new Dispatcher({
    stream: cfg.stream,
    tasks: () => pool.tasks,
    submit: (job) => pauses.admit(job.ref) && pool.submit(job),
    withdraw: (h) => pool.withdraw(h),
    terminate: (h) => pool.terminate(h),
    revoked: (id) => revokes.get(id),
    flows: flowStarter,
    store,
    emitter: events,
    maxDeliveries: cfg.maxDeliveries,
    ackWaitMs: ackWait * 1000,
    workerName: cfg.name,
    termReasons: serverAtLeast(nc.info?.version, 2, 10),
    sink: parkingSink(jetStreamSink(js, jsm, names, { delays }), { js, stream: cfg.stream, decision: (t) => pauses.gate.decision(t) }),
    connected: () => health.connected,
    spans: p.tracer ? new RunSpans(p.tracer) : null,
    rateCounter,
  });
  p.setDispatcher(dispatcher);
  const room = () => (pauses.gate.streamPaused ? 0 : Math.min(pool.room, dispatcher.room));
  // Wait on whichever limits now: the pool's room, or result writes in flight; or a pause's end.
  const whenRoom = () => Promise.race([dispatcher.room > 0 ? pool.whenRoom() : dispatcher.whenRoom(), pauses.gate.whenChanged()]);
  // After SIGTERM: taken in like any job (the closing pool starts nothing), then handed back at once as a copy that
  // carries its runs. A nak would count as a run; holding it until the last pulls end could outlast the ack wait.
  const onLate = (m: JsMsg, d?: Delivery) => {
    dispatcher.onMessage(m, d);
    dispatcher.releaseWaiting();
    for (const h of pool.stop()) dispatcher.handBack(h, "arrived after shutdown began", "shutdown");
  };
  // The work consumer (its priority levels), and the keys' consumers: jobs with a concurrency key wait on their key's
  // subject (worker/keys/).
  const puller = pullers({
    nc, jsm, js, stream: cfg.stream, consumer: names.consumer, ackWaitMs: ackWait * 1000, tasks: () => pool.tasks, emitter: events,
    levels: new PriorityLevels({ nc, stream: cfg.stream, levels, consumerOf: (l) => levelConsumer(names, l) }),
    room, whenRoom, onMessage: (m, d) => dispatcher.onMessage(m, d), onLate, invalid: (msg, job, reason) => dispatcher.invalid(msg, job, reason),
    tasksUrl: tasksFileUrl(cfg.tasks), taskDefaults: cfg.taskDefaults, createWorker: createTaskWorker,
    onPullError: (error, transient) =>
      emit(transient ? { type: "connection.status", status: "pull_retry", detail: `consumer: ${error}` } : { type: "error", where: "consumer", error }),
  });
  // A revoked job the server holds is released now, for the dispatcher to mark REVOKED.
  const held = delays === "server" ? new HeldRevokes({ jsm, js, stream: cfg.stream, emitter: events, revoked: (id) => revokes.get(id) !== undefined }) : null;
  // Every revoke and every pause stored so far is known before the first job is pulled.
  await Promise.all([
    revokes.watch(revoked, (r) => {
      dispatcher.revoke(r);
      void held?.kick();
    }, {
      onInvalid: (key, reason) => emit({ type: "revoke.invalid", bucket: names.revokedBucket, key, reason }),
    }),
    pauses.watch(pausesKv),
  ]);
  const delayedRelease = new DelayedRelease({
    nc,
    consumer: names.delayedConsumer,
    js,
    stream: cfg.stream,
    emitter: events,
    revoked: (id) => revokes.get(id) !== undefined,
    hold: (task, now) => pauses.hold(task, now),
    superseded: debounceCheck({ jsm, stream: cfg.stream, store, emitter: events, workerName: cfg.name }),
  });
  const metrics = new Metrics({ stream: cfg.stream, poolSize: pool.status().ready, held: () => dispatcher.held.size });
  const health = new Health({ poolSize: cfg.concurrency });
  const publisher = new EventPublisher(nc, { subject: names.eventsSubject, source: cfg.name });
  const http: HttpServer | null = cfg.http
    ? await startHttpServer(cfg.http, { health: () => health.health(), readiness: () => health.readiness(), metrics: () => metrics.render() })
    : null;
  const stats = new StatsWriter(statsKv, { stream: cfg.stream, name: cfg.name });
  for (const l of [metrics.listener, health.listener, stats.listener]) events.on(l);
  let draining = false;
  const startedAt = new Date().toISOString();
  const presence = new Presence(workers, {
    stats, // the counts that survive restarts, written with the record
    record: () => {
      const running = [...dispatcher.held].filter((h) => hasStarted(h.state));
      const { done, failed, retried, tasks } = workerCounts(metrics.snapshot().jobs, running);
      return {
        name: cfg.name, host: hostname(), pid: pid(), version: VERSION, concurrency: cfg.concurrency, ready: pool.status().ready,
        startedAt, done, failed, retried, ...runningJobs(running), draining, at: new Date().toISOString(), tasks,
      };
    },
    onError: (e) => emit({ type: "error", where: "presence", error: errorText(e) }),
  });
  if (cfg.events !== false) events.on(publisher.listener);
  const leases = setInterval(() => dispatcher.touchLeases(pool.status()), Math.max(100, Math.min(1000, (ackWait * 1000) / 6)));
  let fatal: string | null = null;
  const close = shutdown({
    cfg, nc, pool, dispatcher, puller, delayedRelease, firing, presence, health, http, publisher, revokes, emit,
    stopWatch: () => stopWatch(),
    fatal: () => fatal,
    setDraining: () => (draining = true),
    stopLeases: () => clearInterval(leases),
  });
  const stopWatch = watchStalls({
    status: () => ({ ...pool.status(), paused: pauses.gate.allPaused(Object.keys(pool.tasks)) }),
    stallTimeoutMs: cfg.stallTimeout * 1000,
    emitter: events,
    onFatal: (reason) => {
      fatal ??= reason;
      void close.close("the pool stalled", { graceSeconds: 0 });
    },
  });
  puller.start();
  delayedRelease.start();
  await presence.start();
  firing.start();
  emit({ type: "service.started", stream: cfg.stream, consumer: names.consumer, concurrency: cfg.concurrency, tasks: Object.keys(pool.tasks), delays });

  const closed = close.closed.finally(() => pauses.stop());
  void nc.closed().then((err) => {
    if (!close.closing && err) {
      fatal = `The NATS connection closed: ${errorText(err)}`;
      emit({ type: "error", where: "connection", error: errorText(err) });
      void close.close("connection closed");
    }
  });
  return {
    events,
    tasks: Object.keys(pool.tasks),
    get held() {
      return dispatcher.held.size;
    },
    httpAddress: http?.address ?? null,
    close: close.close,
    closed,
    get fatal() {
      return fatal;
    },
    [Symbol.asyncDispose]: () => close.close(),
  };
}
