/**
 * The dashboard's reader of periodic schedules: the KV bucket
 * `qw_<stream>_schedules`, one JSON record per schedule with at least `task`
 * (and, as stored by the worker, `every` in seconds or `cron` with `tz`, and
 * `lastTick`). Kept in one place so it follows the record's shape. Values
 * that are not JSON objects with a `task` are skipped.
 *
 * @module
 */

import type { JetStreamManager } from "@nats-io/jetstream";
import { listKeys, openBucket } from "../../client/buckets/buckets.ts";

/** One schedule as the page shows it. */
export interface ScheduleRow {
  key: string;
  task: string;
  /** "every 60 s", "cron 0 * * * * (UTC)", or the stored `spec`. */
  spec: string;
  /** ISO time of the next tick; null when it cannot be told from the record (a cron without `next`). */
  next: string | null;
  lastTick: string | null;
}

/** A row from one stored value; null when it is not a schedule. Pure. */
export function scheduleRow(key: string, value: unknown, now: number): ScheduleRow | null {
  if (value === null || typeof value !== "object" || typeof (value as { task?: unknown }).task !== "string") return null;
  const v = value as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === "string" && x !== "" ? x : null);
  const every = typeof v.every === "number" && v.every > 0 ? v.every : null;
  const spec = every !== null
    ? `every ${every} s`
    : str(v.cron) !== null
    ? `cron ${v.cron} (${str(v.tz) ?? "UTC"})`
    : str(v.spec) ?? "-";
  let next = str(v.next);
  if (next === null && every !== null) {
    // Ticks fall on whole multiples of `every` since the Unix epoch.
    const ms = every * 1000;
    next = new Date((Math.floor(now / ms) + 1) * ms).toISOString();
  }
  return { key, task: v.task as string, spec, next, lastTick: str(v.lastTick) };
}

/** Every schedule of `stream`, by task; null when the bucket does not exist. */
export async function readSchedules(jsm: JetStreamManager, stream: string, now: number = Date.now()): Promise<ScheduleRow[] | null> {
  const kv = await openBucket(jsm, `qw_${stream}_schedules`);
  if (kv === null) return null;
  const rows: ScheduleRow[] = [];
  for (const key of await listKeys(kv)) {
    const e = await kv.get(key);
    if (e?.operation !== "PUT") continue;
    let value: unknown;
    try {
      value = e.json();
    } catch {
      continue;
    }
    const row = scheduleRow(key, value, now);
    if (row !== null) rows.push(row);
  }
  return rows.sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : a.key < b.key ? -1 : 1));
}
