/**
 * The streams, consumers and buckets qw uses for one work stream, by name,
 * and creating them when missing. A user's existing stream is used as it is.
 *
 * - `<stream>`: jobs on `<stream>.<task>`; countdowns wait on `<stream>._delayed.<task>`,
 *   or as the server's schedules on `<stream>._sched.<task>.<token>` (2.12+, created with `allow_msg_schedules`).
 * - consumer `<consumer>` (default `qw_<stream>`): filter `<stream>.*`, shared by every qw process.
 * - consumers `<consumer>_p<N>` (N = 0-4, 6-9): filter `<stream>.p<N>.*`, the jobs of priority N (the default, 5,
 *   is on `<stream>.<task>`), shared by every qw process.
 * - consumer `<consumer>_delayed`: releases delayed jobs when their eta passes.
 * - `<stream>_dlq`: dead letters, kept until purged.
 * - KV bucket `qw_<stream>_results`: results.
 * - KV bucket `qw_<stream>_revoked`: revoked task ids (durable revokes).
 * - KV bucket `qw_<stream>_workers`: one record per running qw process.
 * - KV bucket `qw_<stream>_schedules`: each schedule's spec and last fired tick.
 *
 * @module
 */

import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { QwEvent } from "../core/events.ts";
import { type ServerFeatures, serverFeatures } from "../core/server_features.ts";
import { isConsumerNotFound, isStreamNotFound } from "./server_errors.ts";
import { scheduleToken } from "../core/job/delay_hold.ts";
import { DEFAULT_PRIORITY, PRIORITY_LEVELS } from "../core/job/priority.ts";

/** Every name derived from a stream and consumer. */
export interface Names {
  stream: string;
  consumer: string;
  delayedConsumer: string;
  dlqStream: string;
  resultsBucket: string;
  /** KV bucket of revoked task ids, watched by every worker. */
  revokedBucket: string;
  /** KV bucket of the records of running qw processes (TTL 15 s). */
  workersBucket: string;
  /** KV bucket of flows' group joins. */
  flowsBucket: string;
  schedulesBucket: string;
  eventsSubject: string;
}

/** The names qw uses for a stream. Pure. */
export function namesFor(stream: string, consumer?: string | null): Names {
  const c = consumer ?? `qw_${stream}`;
  return {
    stream,
    consumer: c,
    delayedConsumer: `${c}_delayed`,
    dlqStream: `${stream}_dlq`,
    resultsBucket: `qw_${stream}_results`,
    revokedBucket: `qw_${stream}_revoked`,
    workersBucket: `qw_${stream}_workers`,
    flowsBucket: `qw_${stream}_flows`,
    schedulesBucket: `qw_${stream}_schedules`,
    eventsSubject: `_qw.events.${stream}`,
  };
}

/** The durable consumer of a priority level: the work consumer for the default level. */
export const levelConsumer = (names: Pick<Names, "consumer">, level: number): string =>
  level === DEFAULT_PRIORITY ? names.consumer : `${names.consumer}_p${level}`;
/** The filter of a priority level's consumer. */
export const levelFilter = (stream: string, level: number): string =>
  level === DEFAULT_PRIORITY ? `${stream}.*` : `${stream}.p${level}.*`;

/** The subject of a job ready to run: `<stream>.<task>` at the default priority, else `<stream>.p<N>.<task>`. */
export const jobSubject = (stream: string, task: string, priority = DEFAULT_PRIORITY): string =>
  priority === DEFAULT_PRIORITY ? `${stream}.${task}` : `${stream}.p${priority}.${task}`;
/** The subject of a job waiting for its eta. */
export const delayedSubject = (stream: string, task: string): string => `${stream}._delayed.${task}`;
/** The subject of a job the server holds until its eta: one per dedup id (see core/job/delay_hold.ts). */
export const scheduleSubject = (stream: string, task: string, dedupId: string): string =>
  `${stream}._sched.${task}.${scheduleToken(dedupId)}`;

/**
 * Create the work stream, the dead-letter stream and both consumers when
 * missing. An existing work consumer keeps its ack wait unless `setAckWait`
 * (`qw init`): every process shares it, so one process's `--ack-wait` must not
 * change it under the others, which renew at their own pace. Resolves with
 * the work consumer's ack wait in seconds, the pace to renew and hand back at.
 */
export async function ensureTopology(
  jsm: JetStreamManager,
  names: Names,
  options: { ackWait: number; setAckWait?: boolean; emit?: (e: QwEvent) => void; serverVersion?: string },
): Promise<{ ackWait: number; levels: number[]; stream: StreamConfig }> {
  // A new work stream gets the flags of the primitives the server gives (an existing one is used as it is).
  const flags = workStreamFlags(serverFeatures(options.serverVersion));
  // Independent requests go out together: the dead-letter stream beside the work stream, then every consumer but
  // the work consumer beside each other (a start waits on the slowest answer, not on their sum).
  const dlq = ensureStream(jsm, names.dlqStream, RetentionPolicy.Limits, options.emit);
  const [{ config: stream, created }] = await Promise.all([ensureStream(jsm, names.stream, RetentionPolicy.Workqueue, options.emit, flags), dlq]);
  // A stream made now has no consumer yet: each is added without asking for it first (a raced add still finds it).
  const made = { setAckWait: options.setAckWait === true, created };
  const requested = nanos(options.ackWait * 1000);
  const current = await ensureConsumer(jsm, names.stream, {
    durable_name: names.consumer,
    filter_subject: `${names.stream}.*`,
    ack_wait: requested,
  }, made);
  const plan = ackWaitPlan(current, requested, { set: options.setAckWait === true });
  // One consumer per other priority level, with the work consumer's ack wait: leases renew at its pace. A stream
  // found without `<stream>.>` among its subjects may refuse them: its jobs then all run at the default level.
  const others = PRIORITY_LEVELS.filter((l) => l !== DEFAULT_PRIORITY).map(async (level) => {
    const durable_name = levelConsumer(names, level);
    try {
      await ensureConsumer(jsm, names.stream, { durable_name, filter_subject: levelFilter(names.stream, level), ack_wait: plan.use }, { setAckWait: true, created });
      return level;
    } catch (e) {
      options.emit?.({ type: "error", where: "consumer", error: `Cannot use priority ${level} on stream '${names.stream}': ${(e as Error).message}` });
      return null;
    }
  });
  const delayed = ensureConsumer(jsm, names.stream, {
    durable_name: names.delayedConsumer,
    filter_subject: `${names.stream}._delayed.>`,
    ack_wait: nanos(30_000),
  }, { setAckWait: true, created });
  const [found] = await Promise.all([Promise.all(others), delayed]);
  const levels = [DEFAULT_PRIORITY, ...found.filter((l): l is number => l !== null)];
  if (plan.differs || plan.update) {
    options.emit?.({
      type: "consumer.ack_wait",
      consumer: names.consumer,
      ackWaitSeconds: plan.use / 1e9,
      previousSeconds: (current ?? requested) / 1e9,
      requestedSeconds: options.ackWait,
      changed: plan.update,
    });
  }
  return { ackWait: plan.use / 1e9, levels: levels.sort(), stream };
}

/**
 * The flags a new work stream gets from what the server gives: `allow_msg_ttl` on 2.11+ (expired jobs are
 * dropped by the server), `allow_msg_schedules` on 2.12+ (delays held by the server) and `allow_atomic` on 2.12+
 * (many jobs and a group's members go in atomic batches). An existing stream is used as it is. Pure.
 */
export function workStreamFlags(f: ServerFeatures): Partial<StreamConfig> {
  return {
    ...(f.messageTtl ? { allow_msg_ttl: true } : {}),
    ...(f.scheduleAt ? { allow_msg_schedules: true } : {}),
    ...(f.atomicBatch ? { allow_atomic: true } : {}),
  };
}

/**
 * What a set-up does with the work consumer's ack wait (nanoseconds):
 * `current` null when the consumer is created now with `requested`. An
 * existing one is changed only when `set`; otherwise its own is used and
 * `differs` says the process asked for another. Pure.
 */
export function ackWaitPlan(current: number | null, requested: number, o: { set: boolean }): { use: number; update: boolean; differs: boolean } {
  if (current === null || current === requested) return { use: requested, update: false, differs: false };
  if (o.set) return { use: requested, update: true, differs: false };
  return { use: current, update: false, differs: true };
}

/**
 * Whether a create failed because another process created the same stream,
 * consumer or bucket a moment ago: nats-server then answers "already in use",
 * "already exists" or, while the other create is under way, "subjects
 * overlap". Pure.
 */
export function createRaced(message: string): boolean {
  return /subjects overlap|already (in use|exists)/i.test(message);
}

/** Create a stream when missing; resolves with its configuration (an existing one's as it is) and whether it was made now. */
async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  retention: RetentionPolicy,
  emit?: (e: QwEvent) => void,
  flags: Partial<StreamConfig> = {},
): Promise<{ config: StreamConfig; created: boolean }> {
  try {
    return { config: (await jsm.streams.info(name)).config, created: false };
  } catch (e) {
    if (!isStreamNotFound(e)) throw e;
  }
  const subjects = [`${name}.>`];
  try {
    const { config } = await jsm.streams.add({ name, subjects, retention, storage: StorageType.File, duplicate_window: nanos(120_000), ...flags });
    emit?.({ type: "stream.created", stream: name, subjects });
    return { config, created: true };
  } catch (e) {
    // Another qw process may have created it a moment ago.
    if (!createRaced(String((e as Error).message))) throw e;
    // Still being created ("subjects overlap"): the race is the error to say (a worker's set-up runs again).
    return { config: (await jsm.streams.info(name).catch(() => Promise.reject(e))).config, created: false };
  }
}

/** Create a consumer, or bring an existing one's filter (and, when `setAckWait`, ack wait) in line; resolves with the ack wait it had, null when created. */
async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  cfg: { durable_name: string; filter_subject: string; ack_wait: number },
  o: { setAckWait: boolean; created?: boolean },
): Promise<number | null> {
  const full = {
    ...cfg,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    // qw guards deliveries itself so nothing is dropped silently at a server cap.
    max_deliver: -1,
    max_ack_pending: 20_000,
  };
  // Not asked for when its stream was made by this set-up: it cannot exist yet, or a raced add below finds it.
  const info = o.created ? null : await jsm.consumers.info(stream, cfg.durable_name).catch((e) => {
    if (!isConsumerNotFound(e)) throw e;
    return null;
  });
  if (info) {
    // The server fills in its default (30 s) when none was given.
    const had = info.config.ack_wait ?? nanos(30_000);
    const ackWait = o.setAckWait ? cfg.ack_wait : had;
    if (info.config.ack_wait !== ackWait || info.config.filter_subject !== cfg.filter_subject) {
      await jsm.consumers.update(stream, cfg.durable_name, { ack_wait: ackWait, filter_subject: cfg.filter_subject });
    }
    return had;
  }
  try {
    await jsm.consumers.add(stream, full);
    return null;
  } catch (e) {
    if (!createRaced(String((e as Error).message))) throw e;
    // Another process created it a moment ago, perhaps with another ack wait.
    return (await jsm.consumers.info(stream, cfg.durable_name)).config.ack_wait ?? nanos(30_000);
  }
}
