/**
 * Per-key concurrency in one worker process, wired: the router that sends
 * keyed jobs from their task's subject to their key's (key_router.ts), the
 * key consumers (key_consumers.ts) and the puller that serves the keys in
 * turn (key_puller.ts). Every keyed job then goes through the dispatcher as
 * any job, acked when it ends.
 *
 * @module
 */

import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Emitter, JobFields } from "../../core/events.ts";
import type { ResolvedTaskOptions } from "../../core/types.ts";
import { KeyConsumers } from "./key_consumers.ts";
import { KeyPuller } from "./key_puller.ts";
import { KeyRouter } from "./key_router.ts";
import { Puller } from "../intake/consumer.ts";
import type { PriorityLevels } from "../intake/priority_levels.ts";
import { KeyFunctions } from "./key_functions.ts";
import { type Delivery, readDelivery } from "../intake/delivery.ts";
import type { TaskDefaults } from "../pool/protocol.ts";

/** What the keyed intake needs from the service. */
export interface KeyedIntakeOptions {
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
  stream: string;
  consumer: string;
  /** The work consumer's priority levels (intake/priority_levels.ts). */
  levels?: PriorityLevels;
  ackWaitMs: number;
  tasks: () => Record<string, ResolvedTaskOptions>;
  emitter: Emitter;
  room(): number;
  whenRoom(): Promise<void>;
  /** A job for the dispatcher, with its delivery when read already (the work consumer's are). */
  onMessage(m: JsMsg, d?: Delivery): void;
  onLate(m: JsMsg, d?: Delivery): void;
  invalid(msg: JsMsg, job: JobFields, reason: string): void;
  /** Where a task's `concurrency.key` runs: a Web Worker of its own, loading the tasks file. */
  tasksUrl: string;
  taskDefaults: TaskDefaults;
  createWorker(name: string): Worker;
  /** A pull of the work consumer failed (see consumer.ts). */
  onPullError(error: string, transient: boolean): void;
}

/** The pullers of a process: the work consumer's and the keys'. */
export interface Pullers {
  start(): void;
  /** Stop both (see consumer.ts and key_puller.ts). */
  stop(o?: { waitForPulls?: boolean }): Promise<void>;
}

/**
 * The work consumer's puller, whose keyed jobs are routed to their key's
 * subject, and the keys' puller; nothing runs before `start()`.
 */
export function pullers(o: KeyedIntakeOptions): Pullers {
  const consumers = new KeyConsumers({
    jsm: o.jsm, stream: o.stream, consumer: o.consumer, ackWaitMs: o.ackWaitMs, tasks: o.tasks, serverVersion: o.nc.info?.version,
  });
  const puller = new KeyPuller({
    nc: o.nc,
    jsm: o.jsm,
    stream: o.stream,
    consumers,
    // With no task of `concurrency`, keys are read only once one is met (a job that carried the header alone).
    keyed: () => Object.values(o.tasks()).some((t) => t.concurrency !== null),
    room: o.room,
    whenRoom: o.whenRoom,
    onMessage: o.onMessage,
    onLate: o.onLate,
    onError: (error, transient) =>
      o.emitter.emit(
        transient ? { type: "connection.status", status: "pull_retry", detail: `concurrency keys: ${error}` } : { type: "error", where: "concurrency_key", error },
      ),
  });
  const keyFunctions = new KeyFunctions({ tasksUrl: o.tasksUrl, defaults: o.taskDefaults, createWorker: o.createWorker });
  const router = new KeyRouter({
    js: o.js, stream: o.stream, tasks: o.tasks, emitter: o.emitter, invalid: o.invalid, routed: (s) => puller.noteKey(s),
    computeKey: (task, data) => keyFunctions.compute(task, data),
  });
  const work = new Puller({
    nc: o.nc,
    stream: o.stream,
    consumer: o.consumer,
    levels: o.levels,
    room: o.room,
    whenRoom: o.whenRoom,
    onMessage: routeOrHandOn(o.stream, router, o.onMessage),
    onLate: routeOrHandOn(o.stream, router, o.onLate),
    onError: o.onPullError,
  });
  return {
    start: () => {
      work.start();
      puller.start();
    },
    stop: async (s) => {
      await Promise.all([work.stop(s), puller.stop(s)]);
      keyFunctions.close();
    },
  };
}

/**
 * A work consumer message's way in: its delivery is read once (headers
 * included), then it is routed to its key's subject or handed on with what
 * was read, so the dispatcher does not read it again.
 */
export function routeOrHandOn(
  stream: string,
  router: Pick<KeyRouter, "route">,
  next: (m: JsMsg, d: Delivery) => void,
): (m: JsMsg) => void {
  const prefix = stream + ".";
  return (m) => {
    const d = readDelivery(m, stream, prefix);
    if (!router.route(m, d)) next(m, d);
  };
}
