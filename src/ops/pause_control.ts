/**
 * Pausing and resuming a stream or one of its tasks, as `qw pause`, `qw
 * resume` and the dashboard do it: the record in `qw_<stream>_paused` is the
 * truth every worker follows (client/buckets/pauses.ts); on 2.11+ a whole-stream
 * pause also pauses the shared consumer on the server (`pause_until`), and each
 * priority level's consumer, so no process even receives a job. The record is written before the consumer is
 * paused, and the consumer resumed before the record is removed.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { streamNotFound } from "../client/client.ts";
import { openBucket, listKeys } from "../client/buckets/buckets.ts";
import { deletePause, openPauses, pausesBucket, putPause } from "../client/buckets/pauses.ts";
import { isConsumerNotFound, isStreamNotFound } from "../client/server_errors.ts";
import { INDEFINITE_MS, isActive, pauseEntry, type PauseRecord } from "../core/pause.ts";
import { serverFeatures } from "../core/server_features.ts";
import { DEFAULT_PRIORITY, PRIORITY_LEVELS } from "../core/job/priority.ts";
import { levelConsumer } from "../client/topology.ts";

/** What to pause or resume. */
export interface PauseTarget {
  stream: string;
  /** The shared consumer (`qw_<stream>` unless `--consumer`). */
  consumer: string;
  /** One task; null or absent: the whole stream. */
  task?: string | null;
}

/** What a pause or resume did on the server. */
export interface PauseOutcome {
  /** On 2.11+, whole stream: the consumer's pause was set (false when it does not exist yet, or per task, or an older server). */
  consumerPaused: boolean;
}

async function checkStream(jsm: JetStreamManager, stream: string, attempt: string): Promise<void> {
  try {
    await jsm.streams.info(stream);
  } catch (e) {
    if (isStreamNotFound(e)) throw new Error(streamNotFound(attempt, stream));
    throw e;
  }
}

/** One consumer's pause on the server; false when the consumer does not exist. */
async function setOnePause(jsm: JetStreamManager, stream: string, consumer: string, until: Date | null): Promise<boolean> {
  try {
    if (until === null) await jsm.consumers.resume(stream, consumer);
    else await jsm.consumers.pause(stream, consumer, until);
    return true;
  } catch (e) {
    if (isConsumerNotFound(e)) return false;
    throw e;
  }
}

/**
 * The server's consumer pause, where there is one (2.11+), of the shared consumer and of every priority level's
 * that exists (a level's open pull would bring jobs otherwise); true when the shared consumer exists.
 */
async function setConsumerPause(nc: NatsConnection, jsm: JetStreamManager, t: PauseTarget, until: Date | null): Promise<boolean> {
  if ((t.task ?? null) !== null || !serverFeatures(nc.info?.version).consumerPause) return false;
  const others = PRIORITY_LEVELS.filter((l) => l !== DEFAULT_PRIORITY).map((l) => levelConsumer(t, l));
  await Promise.all(others.map((c) => setOnePause(jsm, t.stream, c, until)));
  return await setOnePause(jsm, t.stream, t.consumer, until);
}

/**
 * A worker saw the whole stream's pause come or go in the bucket (also one
 * written without qw, say by `nats kv del`): make the consumer's pause on the
 * server (2.11+) agree. Every process does it; the request is idempotent.
 */
export async function syncConsumerPause(nc: NatsConnection, t: PauseTarget, until: number | null, paused: boolean): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  return await setConsumerPause(nc, jsm, { ...t, task: null }, paused ? new Date(until ?? Date.now() + INDEFINITE_MS) : null);
}

/** Pause the stream or a task until `until` (epoch ms; null: until resumed). Throws a one-line Error for an unknown stream. */
export async function pause(nc: NatsConnection, t: PauseTarget, o: { until: number | null; by: string; now?: number }): Promise<PauseOutcome> {
  const jsm = await jetstreamManager(nc);
  await checkStream(jsm, t.stream, "pause");
  const now = o.now ?? Date.now();
  const kv = await openPauses(nc, t.stream);
  await putPause(kv, { task: t.task ?? null, until: o.until, by: o.by, at: new Date(now).toISOString() });
  const consumerPaused = await setConsumerPause(nc, jsm, t, new Date(o.until ?? now + INDEFINITE_MS));
  return { consumerPaused };
}

/** Resume the stream or a task; `wasPaused` says whether a pause was stored. */
export async function resume(nc: NatsConnection, t: PauseTarget): Promise<PauseOutcome & { wasPaused: boolean }> {
  const jsm = await jetstreamManager(nc);
  await checkStream(jsm, t.stream, "resume");
  const consumerPaused = await setConsumerPause(nc, jsm, t, null);
  const kv = await openPauses(nc, t.stream);
  const wasPaused = await deletePause(kv, t.task ?? null);
  return { consumerPaused, wasPaused };
}

/** The pauses in force now (ended ones left out), the whole stream's first; none when no bucket exists. */
export async function activePauses(jsm: JetStreamManager, stream: string, now = Date.now()): Promise<PauseRecord[]> {
  const kv = await openBucket(jsm, pausesBucket(stream));
  if (kv === null) return [];
  const out: PauseRecord[] = [];
  for (const key of await listKeys(kv)) {
    const e = await kv.get(key);
    if (e === null) continue;
    const entry = pauseEntry(e);
    if (entry.kind === "pause" && isActive(entry.record, now)) out.push(entry.record);
  }
  return out.sort((a, b) => (a.task === null ? -1 : b.task === null ? 1 : a.task < b.task ? -1 : 1));
}

/** A pause as one line of text: `stream 'jobs' paused until ... by ...`. Pure. */
export function describePause(stream: string, r: PauseRecord): string {
  const what = r.task === null ? `stream '${stream}'` : `task '${r.task}'`;
  const until = r.until === null ? "until resumed" : `until ${new Date(r.until).toISOString()}`;
  return `${what} paused ${until}${r.by ? ` by ${r.by}` : ""}${r.at ? ` since ${r.at}` : ""}`;
}

/** A pause as JSON (`qw inspect --json`, the dashboard): `until` as ISO 8601 or null. Pure. */
export function pauseJson(r: PauseRecord): { task: string | null; until: string | null; by: string; at: string } {
  return { task: r.task, until: r.until === null ? null : new Date(r.until).toISOString(), by: r.by, at: r.at };
}
