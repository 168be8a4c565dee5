/**
 * Periodic tasks as pure functions: checking a task's schedules, the tick
 * times of a schedule, and which ticks to fire now. No clock and no I/O: every
 * function takes the time it works on, so a table of ticks (daylight-saving
 * changes included) is tested with fixed times.
 *
 * Every qw process computes the same tick times: `every` ticks fall on whole
 * multiples of `every` seconds since the Unix epoch, and cron ticks come from
 * croner, in the schedule's time zone. A tick's id names it, so the stream's
 * deduplication keeps one job per tick however many processes publish it.
 *
 * @module
 */

import { Cron } from "croner";
import type { CatchUp, ScheduleSpec } from "./types.ts";

/** The most missed ticks `catchUp: "all"` fires; older ones are skipped. */
export const MAX_CATCH_UP = 100;
/** How far apart the clocks of two qw hosts may be; the stream's duplicate window must be at least this long. */
export const CLOCK_SKEW_ALLOWANCE_MS = 10_000;
/** Cron ticks counted at most when reporting how many were skipped. */
const MAX_COUNT = 1000;
const CATCH_UPS: readonly CatchUp[] = ["latest", "none", "all"];

/** One checked schedule of one task, able to compute its ticks. */
export interface TaskSchedule {
  readonly task: string;
  /** Position in the task's `schedule` list; part of every tick's id. */
  readonly index: number;
  readonly spec: ScheduleSpec;
  /** `every` in whole milliseconds, or null for cron. */
  readonly everyMs: number | null;
  /** The first tick strictly after `t`, or null when there is none. */
  after(t: number): number | null;
  /** Up to `n` most recent ticks at or before `t`, oldest first. */
  recent(t: number, n: number): number[];
}

/** `every 30s` or `cron 0 3 * * * (Europe/Berlin)`: the schedule as people read it. */
export function describeSchedule(spec: ScheduleSpec): string {
  return spec.every !== null ? `every ${spec.every}s` : `cron ${spec.cron} (${spec.tz})`;
}

/** The task id and `Nats-Msg-Id` of a tick: `<task>@<index>@<ISO time>`. */
export function tickId(task: string, index: number, tick: number): string {
  return `${task}@${index}@${new Date(tick).toISOString()}`;
}

/** The tick an id names, or null when the id is not a tick's. Pure. */
export function parseTickId(id: string): { task: string; index: number; tick: number } | null {
  const m = /^(.+)@(\d+)@(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/.exec(id);
  if (m === null) return null;
  const tick = Date.parse(m[3]);
  return Number.isNaN(tick) ? null : { task: m[1], index: Number(m[2]), tick };
}

const show = (v: unknown): string => {
  if (typeof v !== "object" || v === null) return JSON.stringify(String(v));
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
};

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Check one schedule and make it computable. Throws a one-line `TypeError`
 * or `RangeError` naming the task and the schedule. `now` only serves to
 * reject a cron expression that never fires again.
 */
export function parseSchedule(task: string, index: number, spec: ScheduleSpec, now: number): TaskSchedule {
  const fail = (Kind: typeof TypeError, field: string, must: string, value: unknown) =>
    new Kind(`Cannot start worker as task '${task}' schedule ${index}${field ? ` '${field}'` : ""} must be ${must}: current value is ${show(value)}`);
  const { every, cron, tz, args, catchUp } = spec;
  if ((every === null) === (cron === null)) {
    throw fail(TypeError, "", "an object with either 'every' or 'cron'", { every: every ?? undefined, cron: cron ?? undefined });
  }
  if (typeof tz !== "string" || !isTimeZone(tz)) throw fail(RangeError, "tz", `an IANA time zone such as "Europe/Berlin"`, tz);
  if (!Array.isArray(args)) throw fail(TypeError, "args", "an array", args);
  try {
    JSON.stringify(args);
  } catch {
    throw fail(TypeError, "args", "JSON-serializable", "<not serializable>");
  }
  if (!CATCH_UPS.includes(catchUp)) throw fail(RangeError, "catchUp", `"latest", "none" or "all"`, catchUp);
  const base = { task, index, spec: { every, cron, tz, args: [...args], catchUp } };
  if (every !== null) {
    if (typeof every !== "number" || !Number.isFinite(every) || every < 1) {
      throw fail(every === undefined || typeof every !== "number" ? TypeError : RangeError, "every", "a number of seconds >= 1", every);
    }
    const ms = Math.round(every * 1000);
    return {
      ...base,
      everyMs: ms,
      after: (t) => (Math.floor(t / ms) + 1) * ms,
      recent: (t, n) => {
        const hi = Math.floor(t / ms);
        const out: number[] = [];
        for (let k = hi - n + 1; k <= hi; k++) out.push(k * ms);
        return out;
      },
    };
  }
  const must = "a cron expression of 5 fields, or 6 with seconds first";
  if (typeof cron !== "string") throw fail(TypeError, "cron", must, cron);
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) throw fail(RangeError, "cron", must, cron);
  let c: Cron;
  try {
    c = new Cron(cron, { timezone: tz, mode: "5-or-6-parts" });
    c.nextRun(new Date(now));
  } catch (e) {
    const why = String((e as Error)?.message ?? e).split("\n")[0].replace(/^Cron\w*: /, "").replace(/\.$/, "");
    throw fail(RangeError, "cron", `${must} (${why})`, cron);
  }
  if (c.nextRun(new Date(now)) === null) throw fail(RangeError, "cron", `${must} that fires again`, cron);
  return {
    ...base,
    everyMs: null,
    after: (t) => c.nextRun(new Date(t))?.getTime() ?? null,
    // previousRuns() looks strictly before its reference: a tick at t itself counts, so look before t + 1 ms.
    recent: (t, n) => c.previousRuns(n, new Date(t + 1)).map((d) => d.getTime()).reverse(),
  };
}

/** Check the schedules of every task (as the Web Worker reports them); throws on the first bad one. */
export function parseSchedules(
  tasks: Readonly<Record<string, { schedules?: readonly ScheduleSpec[] }>>,
  now: number,
): TaskSchedule[] {
  const out: TaskSchedule[] = [];
  for (const [task, options] of Object.entries(tasks)) {
    (options.schedules ?? []).forEach((spec, index) => out.push(parseSchedule(task, index, spec, now)));
  }
  return out;
}

/** The first tick strictly after `t`, or null. */
export function nextTick(s: TaskSchedule, t: number): number | null {
  return s.after(t);
}

/** The most recent tick at or before `t`, or null. */
export function latestTick(s: TaskSchedule, t: number): number | null {
  return s.recent(t, 1)[0] ?? null;
}

/** The ticks in (a, b], oldest first; only the `limit` most recent when there are more. */
export function ticksBetween(s: TaskSchedule, a: number, b: number, limit = MAX_CATCH_UP): number[] {
  if (b <= a) return [];
  return s.recent(b, limit).filter((t) => t > a);
}

/** How many ticks fall in (a, b]: exact for `every`, counted up to 1000 for cron. */
export function countTicks(s: TaskSchedule, a: number, b: number): number {
  if (b <= a) return 0;
  if (s.everyMs !== null) return Math.floor(b / s.everyMs) - Math.floor(a / s.everyMs);
  let n = 0;
  for (let t = s.after(a); t !== null && t <= b && n < MAX_COUNT; t = s.after(t)) n++;
  return n;
}

/** What a process knows when it decides what to fire. */
export interface FiringState {
  /** The last tick any process fired (the schedules bucket); null if the schedule never fired. */
  last: number | null;
  /** The time up to which this process handled ticks; null before its first decision. */
  cursor: number | null;
}

/** Which ticks to publish now, how many missed ticks are skipped, and the new cursor. */
export interface Due {
  fire: number[];
  skipped: number;
  cursor: number;
}

/**
 * Which ticks to fire at `now`. Ticks after both the last fired tick and the
 * cursor are due. At start (no cursor) they were all missed: "latest" fires
 * the most recent once, "none" skips them, "all" fires each (the 100 most
 * recent); a schedule that never fired starts at its next tick. A running
 * process fires the most recent due tick, which it was waiting for, and treats
 * older ones (it was stalled or suspended) as missed. Pure.
 */
export function dueTicks(s: TaskSchedule, state: FiringState, now: number): Due {
  const known = [state.last, state.cursor].filter((t): t is number => t !== null);
  if (known.length === 0) return { fire: [], skipped: 0, cursor: now };
  const from = Math.max(...known);
  const cursor = Math.max(from, now);
  const ticks = ticksBetween(s, from, now, MAX_CATCH_UP);
  if (ticks.length === 0) return { fire: [], skipped: 0, cursor };
  const total = ticks.length < MAX_CATCH_UP ? ticks.length : countTicks(s, from, now);
  const running = state.cursor !== null;
  let fire: number[];
  switch (s.spec.catchUp) {
    case "all":
      fire = ticks;
      break;
    case "latest":
      fire = ticks.slice(-1);
      break;
    case "none":
      fire = running ? ticks.slice(-1) : [];
      break;
  }
  return { fire, skipped: Math.max(0, total - fire.length), cursor };
}

/** The bounds of a firing request's timeout, ms: the connection's request timeout at most, a second at least. */
export const FIRING_TIMEOUT_MS = { min: 1_000, max: 5_000 } as const;

/**
 * How long the firing loop waits for an answer to one of its requests (read
 * the last tick, publish one, record it): the shortest gap between two ticks
 * of `schedules` after `now`, within FIRING_TIMEOUT_MS. A request lost in a
 * leader change is given up before the next tick is due, so a schedule every
 * second is not held for the full request timeout after the cluster answers
 * again; a late answer is harmless (the tick's id deduplicates it). Pure.
 */
export function firingTimeoutMs(schedules: readonly TaskSchedule[], now: number): number {
  let gap: number = FIRING_TIMEOUT_MS.max;
  for (const s of schedules) {
    const a = s.after(now);
    const b = a === null ? null : s.after(a);
    if (a !== null && b !== null) gap = Math.min(gap, b - a);
  }
  return Math.max(FIRING_TIMEOUT_MS.min, gap);
}
