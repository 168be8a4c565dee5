/**
 * Unique jobs and debounce: the names and the decisions.
 *
 * - **Unique** (`unique: key`): while a job with that key of its task waits or
 *   runs, another enqueue with the key adds nothing and returns the first
 *   job's id. The server decides: the producer creates the key
 *   `<task>.<key token>` in the KV bucket `qw_<stream>_unique` (a create fails
 *   when the key exists), then publishes the job, then marks the record
 *   published. The worker deletes the key when the job ends for good.
 * - **Debounce** (`unique: key, debounce: seconds`): a newer enqueue replaces
 *   the waiting one. Held by the server (2.12+), the job is a schedule on a
 *   subject named for the task and the key, and a schedule replaces the one on
 *   its subject. Held by qw, the latest job id per key is recorded in
 *   `qw_<stream>_debounce` and the delayed releaser drops an older one.
 *
 * Pure: no clock, no NATS.
 *
 * @module
 */

import { scheduleToken } from "./delay_hold.ts";

/** The longest unique key, in characters. */
export const MAX_UNIQUE_KEY = 256;

/**
 * How long a claimed key whose job was never marked published holds (ms): a
 * producer that died between the create and the publish leaves such a record,
 * and the next enqueue with the key takes it over after this.
 */
export const UNIQUE_PUBLISH_GRACE_MS = 30_000;

/** The bucket of unique keys of a stream. */
export const uniqueBucket = (stream: string): string => `qw_${stream}_unique`;

/** The bucket of the latest debounced job per key (debounce held by qw only). */
export const debounceBucket = (stream: string): string => `qw_${stream}_debounce`;

/**
 * The KV key of a task's unique (or debounce) key: the task as it is when it
 * is a valid KV token, else `_` and its base64url (a task never starts with
 * `_`), then the key in base64url, so any line can be a key.
 */
export function uniqueKvKey(task: string, key: string): string {
  const t = /^[A-Za-z0-9-]+$/.test(task) ? task : `_${scheduleToken(task)}`;
  return `${t}.${scheduleToken(key)}`;
}

/** The dedup-id-like name of a debounced job's schedule subject: one subject per task and key. */
export const debounceScheduleName = (key: string): string => `debounce:${key}`;

/** A record of `qw_<stream>_unique`: the job holding the key. */
export interface UniqueRecord {
  id: string;
  /** Epoch ms of the claim. */
  at: number;
  /** The job was stored in the stream. */
  published: boolean;
}

/** Parse a record; null when the value is not one. Pure. */
export function parseUniqueRecord(text: string): UniqueRecord | null {
  try {
    const v = JSON.parse(text);
    if (v && typeof v.id === "string" && typeof v.at === "number" && typeof v.published === "boolean") return v;
  } catch { /* not a record */ }
  return null;
}

/**
 * Whether a key held by `record` still holds (`held`: the enqueue returns
 * that job's id) or is free to take over (`stale`): a value that is not a
 * record, a job whose result is final (its release was lost), or a claim
 * never marked published after {@linkcode UNIQUE_PUBLISH_GRACE_MS}. A job
 * retrying is not final: it still holds. Pure.
 */
export function uniqueHolder(record: UniqueRecord | null, resultState: string | null, now: number): "held" | "stale" {
  if (record === null) return "stale";
  if (resultState === "SUCCESS" || resultState === "FAILURE" || resultState === "REVOKED") return "stale";
  if (!record.published && now - record.at > UNIQUE_PUBLISH_GRACE_MS) return "stale";
  return "held";
}

/**
 * Whether a debounced job held by qw is superseded when it is due: the
 * latest id recorded for its key is another job's. No record (it expired, or
 * the bucket is gone) lets it run. Pure.
 */
export function isSuperseded(id: string, latest: string | null): boolean {
  return latest !== null && latest !== id;
}
