/**
 * A worker's set-up on the server: the streams, consumers and buckets it
 * needs, the buckets opened in parallel with the streams and their consumers,
 * with timeouts (a cluster without a leader yet) retried for `connectTimeout`
 * seconds; and the tasks file as a URL the Web Workers can import.
 *
 * @module
 */

import { accessSync, constants } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { KV } from "@nats-io/kv";
import { errorText } from "../client/connection.ts";
import type { QwEvent } from "../core/events.ts";
import { TasksFileError } from "../core/errors.ts";
import { dedupWindowShortfall } from "../core/dedup_window.ts";
import { delayHolder, type DelayHolder } from "../core/job/delay_hold.ts";
import { serverFeatures } from "../core/server_features.ts";
import { KvResultStore, type ResultStore } from "../client/buckets/result_store.ts";
import { openRevoked } from "../client/buckets/revocations.ts";
import { openRateCounter, type RateCounter } from "../client/buckets/rate_counters.ts";
import { createRaced, ensureTopology, type Names } from "../client/topology.ts";
import { openStats, openWorkers } from "../ops/presence.ts";
import { openPauses } from "../client/buckets/pauses.ts";
import { openFlows } from "./flows/flow_runner.ts";

/** What the set-up needs to know. */
export interface SetupConfig {
  servers: string[];
  stream: string;
  connectTimeout: number;
  ackWait: number;
  results: boolean;
  resultTtl: number;
}

/** Everything a worker uses on the server. */
export interface ServerSide {
  jsm: JetStreamManager;
  js: JetStreamClient;
  store: ResultStore | null;
  revoked: KV;
  workers: KV;
  flows: KV;
  /** The stream's pauses bucket (qw_<stream>_paused). */
  pauses: KV;
  /** The stream's stats bucket (ops/history). */
  stats: KV;
  /** The work consumer's ack wait in seconds (an existing consumer keeps its own): the pace of renewals and hand-backs. */
  ackWait: number;
  /** Who holds this process's delayed retries: the server (2.12+, a stream with `allow_msg_schedules`) or qw. */
  delays: DelayHolder;
  /** Atomic batches: a 2.12+ server and a work stream with `allow_atomic`. */
  atomicBatch: boolean;
  /** Opens the counters of rate limits shared by the stream's processes, at the first claim (none before). */
  rateCounter: () => Promise<RateCounter>;
  /** The priority levels that have a consumer (the default always). */
  levels: number[];
}

/**
 * Create what is missing and open it all, and warn when the stream's
 * duplicate window is too short for what this process publishes with an id
 * (`schedules`: the ones it fires).
 */
export function setUpServer(
  nc: NatsConnection,
  names: Names,
  cfg: SetupConfig,
  o: { emit: (e: QwEvent) => void; store?: ResultStore; schedules?: readonly string[] },
): Promise<ServerSide> {
  return settingUp(cfg, o.emit, async () => {
    const jsm = await jetstreamManager(nc);
    // The buckets are streams of their own: opened beside the work stream's topology, not after it.
    const buckets = Promise.all([
      o.store ?? (cfg.results ? KvResultStore.open(nc, names.resultsBucket, { ttl: cfg.resultTtl }) : null),
      openRevoked(nc, names.revokedBucket, cfg.resultTtl),
      openWorkers(nc, names.workersBucket),
      openFlows(nc, names.flowsBucket, cfg.resultTtl),
      openPauses(nc, cfg.stream),
      openStats(nc, cfg.stream),
    ]);
    const topology = ensureTopology(jsm, names, { ackWait: cfg.ackWait, emit: o.emit, serverVersion: nc.info?.version });
    const [{ ackWait, levels, stream: config }, [store, revoked, workers, flows, pauses, stats]] = await Promise.all([topology, buckets]);
    const windowMs = (config.duplicate_window ?? 0) / 1e6;
    const delays = delayHolder(nc.info?.version, config.allow_msg_schedules);
    const atomicBatch = serverFeatures(nc.info?.version).atomicBatch && config.allow_atomic === true;
    const short = dedupWindowShortfall(windowMs, { ackWaitMs: ackWait * 1000, schedules: o.schedules ?? [] });
    if (short) o.emit({ type: "stream.dedup_window_short", stream: names.stream, ...short });
    const js: JetStreamClient = jetstream(nc);
    return { jsm, js, store, revoked, workers, flows, pauses, stats, ackWait, delays, atomicBatch, levels, rateCounter: () => openRateCounter(nc, cfg.stream) };
  });
}

/**
 * What a failed JetStream set-up step means. "race": another process created
 * the same stream or bucket a moment ago ({@linkcode createRaced}), so the
 * set-up is run again and finds it; "timeout": a cluster without a leader yet; "no_jetstream":
 * the server does not run JetStream. Pure.
 */
export function setupFailure(message: string): "no_jetstream" | "timeout" | "race" | "fatal" {
  if (/not enabled|no responders/i.test(message)) return "no_jetstream";
  if (/timeout|timed out/i.test(message)) return "timeout";
  if (createRaced(message)) return "race";
  return "fatal";
}

/** Set-up runs again at most this many times after a create race; a real overlap then fails with its message. */
const RACE_RETRIES = 3;

/**
 * Run a JetStream set-up (the worker's, or `qw init`'s), retrying timeouts
 * (a cluster without a leader yet) for `connectTimeout` seconds with a line
 * per attempt, and a create raced by another process a few times quietly;
 * other errors fail at once with what to do.
 */
export async function settingUp<T>(
  cfg: Pick<SetupConfig, "servers" | "stream" | "connectTimeout">,
  emit: (e: QwEvent) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const where = `'${cfg.servers.join(",")}'`;
  const deadline = Date.now() + cfg.connectTimeout * 1000;
  let races = 0;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const msg = errorText(e);
      const kind = setupFailure(msg);
      if (kind === "no_jetstream") throw new Error(`Cannot use JetStream on ${where}: ${msg} (start nats-server with -js)`);
      if (kind === "race" && races++ < RACE_RETRIES) {
        await new Promise((r) => setTimeout(r, 50 * races));
        continue;
      }
      if (kind !== "timeout") throw new Error(`Cannot set up stream '${cfg.stream}' on ${where}: ${msg}`);
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

/**
 * Start a worker again while its start fails on a bare NATS request timeout
 * (a step after the set-up, such as opening a bucket or its watch, meeting a
 * cluster still electing a leader or a loaded server), for `connectTimeout`
 * seconds from the first attempt, with a line per attempt. Any other error, and
 * the last timeout, is thrown as it is. `start` must leave nothing running when
 * it throws (startService closes its pool and connection).
 */
export async function startingOver<T>(
  cfg: Pick<SetupConfig, "servers" | "connectTimeout">,
  emit: (e: QwEvent) => void,
  start: () => Promise<T>,
  pauseMs = 500,
): Promise<T> {
  const deadline = Date.now() + cfg.connectTimeout * 1000;
  for (let attempt = 1;; attempt++) {
    try {
      return await start();
    } catch (e) {
      const msg = errorText(e);
      if (!/^(timeout|request timed out)$/i.test(msg.trim()) || Date.now() >= deadline) throw e;
      emit({ type: "connection.retry", attempt, error: `worker start: ${msg}`, server: cfg.servers.join(","), timeoutSeconds: cfg.connectTimeout });
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
