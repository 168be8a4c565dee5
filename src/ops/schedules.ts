/**
 * What `qw schedule ls` shows: each stored schedule with its task, spec, time
 * zone, next fire time, last fired tick and that tick's state. Pure: the
 * command reads the schedules bucket and the results, this builds the rows.
 *
 * @module
 */

import { nextTick, parseSchedule, tickId } from "../core/schedule.ts";
import type { ScheduleRecord } from "../client/buckets/schedule_store.ts";
import { renderTable } from "./inspect.ts";

/** One schedule as listed. */
export interface ScheduleRow {
  task: string;
  index: number;
  /** `every 30s`, or the cron expression. */
  spec: string;
  tz: string;
  catchUp: string;
  args: unknown[];
  /** The next tick after now (or after the last fired tick, if that is later), as an ISO time; null if none. */
  next: string | null;
  /** The last tick fired, as an ISO time, and its job id; null if the schedule never fired. */
  lastTick: string | null;
  lastId: string | null;
  /** The state of the last tick's job (PENDING while no result is stored); null if it never fired. */
  state: string | null;
}

/** The row of a stored schedule; `state` is the last tick's state, if known. */
export function scheduleRow(r: ScheduleRecord, state: string | null, now: number): ScheduleRow {
  const last = r.lastTick === null ? null : Date.parse(r.lastTick);
  let next: number | null = null;
  try {
    const s = parseSchedule(r.task, r.index, { every: r.every, cron: r.cron, tz: r.tz, args: r.args, catchUp: r.catchUp }, now);
    next = nextTick(s, Math.max(now, last ?? -Infinity));
  } catch {
    // A record written by another version of qw: list it without a next time.
  }
  return {
    task: r.task,
    index: r.index,
    spec: r.every !== null ? `every ${r.every}s` : String(r.cron),
    tz: r.tz,
    catchUp: r.catchUp,
    args: r.args,
    next: next === null ? null : new Date(next).toISOString(),
    lastTick: r.lastTick,
    lastId: last === null ? null : tickId(r.task, r.index, last),
    state: last === null ? null : state ?? "PENDING",
  };
}

/** The rows as a table for a terminal. */
export function formatSchedules(rows: readonly ScheduleRow[]): string {
  if (rows.length === 0) return "No schedules: no worker with scheduled tasks has run on this stream yet\n";
  return renderTable(
    ["task", "schedule", "spec", "tz", "next", "last tick", "state"],
    rows.map((r) => [r.task, `${r.index}`, r.spec, r.tz, r.next ?? "never", r.lastTick ?? "never", r.state ?? "-"]),
  ) + "\n";
}
