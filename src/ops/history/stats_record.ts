/**
 * Job counts that survive restarts: what each qw process writes to the KV
 * bucket `qw_<stream>_stats` (its cumulative counts per task, and the jobs
 * that ended per 10-second slot over the last 10 minutes for the chart), and
 * how readers add the records up. Pure: counting, merging and summing; the
 * KV side is in stats_writer.ts and stats_read.ts.
 *
 * @module
 */

import type { QwEvent } from "../../core/events.ts";

/** The outcomes counted per task. */
export const STAT_OUTCOMES = ["succeeded", "failed", "retried", "deadLettered", "expired", "revoked"] as const;
/** One counted outcome. */
export type StatOutcome = typeof STAT_OUTCOMES[number];
/** Counts per outcome. */
export type StatCounts = Record<StatOutcome, number>;

/** Seconds per chart slot. */
export const SLOT_S = 10;
/** Slots kept: 10 minutes. */
export const SLOTS_KEPT = 60;
/** The key of the record that holds the counts of processes gone (no process name maps to it: see keyFor). */
export const BASE_KEY = "=base";

/** One chart slot: its start (epoch seconds), jobs that succeeded and jobs that ended otherwise in it. */
export type Slot = [start: number, succeeded: number, failed: number];

/** What one process (or the base) stores. */
export interface StatsRecord {
  /** The process name, or "base". */
  name: string;
  /** When it was written (epoch ms). */
  at: number;
  tasks: Record<string, StatCounts>;
  slots: Slot[];
}

/** Zero counts. */
export const zeroCounts = (): StatCounts => ({ succeeded: 0, failed: 0, retried: 0, deadLettered: 0, expired: 0, revoked: 0 });

/** The outcome an event counts as, with its task; null for events that are not an outcome. Pure. */
export function eventOutcome(e: QwEvent, stream: string): { task: string; outcome: StatOutcome } | null {
  switch (e.type) {
    case "job.succeeded":
      return { task: e.task, outcome: "succeeded" };
    case "job.failed":
      return { task: e.task, outcome: "failed" };
    case "job.retry_scheduled":
      return { task: e.task, outcome: "retried" };
    case "job.rejected":
      return { task: e.task, outcome: "deadLettered" };
    case "job.expired":
      return { task: e.task, outcome: "expired" };
    case "job.revoked":
      return { task: e.task, outcome: "revoked" };
    case "job.invalid": {
      const prefix = `${stream}.`;
      return { task: e.subject.startsWith(prefix) ? e.subject.slice(prefix.length) : e.subject, outcome: "deadLettered" };
    }
    default:
      return null;
  }
}

/** Add one outcome at `now` (epoch ms) to a record, in place; old slots are dropped. Pure but for the record. */
export function count(r: StatsRecord, task: string, outcome: StatOutcome, now: number): void {
  (r.tasks[task] ??= zeroCounts())[outcome]++;
  if (outcome === "retried") return; // a retry did not end the job: not a point on the chart
  const start = Math.floor(now / 1000 / SLOT_S) * SLOT_S;
  let last = r.slots.at(-1);
  if (last === undefined || last[0] < start) r.slots.push(last = [start, 0, 0]);
  else if (last[0] > start) last = r.slots.find((s) => s[0] === start) ?? last;
  last[outcome === "succeeded" ? 1 : 2]++;
  pruneSlots(r.slots, now);
}

/** Drop slots older than {@linkcode SLOTS_KEPT} slots before `now`, in place. */
export function pruneSlots(slots: Slot[], now: number): void {
  const oldest = Math.floor(now / 1000 / SLOT_S) * SLOT_S - (SLOTS_KEPT - 1) * SLOT_S;
  let drop = 0;
  while (drop < slots.length && slots[drop][0] < oldest) drop++;
  if (drop > 0) slots.splice(0, drop);
}

/** `a + b` per task and slot, as a new record named `name`. Pure. */
export function mergeStats(name: string, at: number, records: StatsRecord[]): StatsRecord {
  const tasks: Record<string, StatCounts> = {};
  const slots = new Map<number, Slot>();
  for (const r of records) {
    for (const [task, c] of Object.entries(r.tasks ?? {})) {
      const t = (tasks[task] ??= zeroCounts());
      for (const o of STAT_OUTCOMES) t[o] += c[o] ?? 0;
    }
    for (const [start, ok, bad] of r.slots ?? []) {
      const s = slots.get(start) ?? slots.set(start, [start, 0, 0]).get(start)!;
      s[1] += ok;
      s[2] += bad;
    }
  }
  const out: StatsRecord = { name, at, tasks, slots: [...slots.values()].sort((a, b) => a[0] - b[0]) };
  pruneSlots(out.slots, at);
  return out;
}

/** `a - b` per task (never below 0): what a process counted since `b` was folded away. Pure. */
export function subtractCounts(a: Record<string, StatCounts>, b: Record<string, StatCounts>): Record<string, StatCounts> {
  const out: Record<string, StatCounts> = {};
  for (const [task, c] of Object.entries(a)) {
    const t = (out[task] = zeroCounts());
    for (const o of STAT_OUTCOMES) t[o] = Math.max(0, c[o] - (b[task]?.[o] ?? 0));
  }
  return out;
}

/** The chart's columns: slot start times (epoch s), succeeded/s and failed/s per slot, empty slots as 0. Pure. */
export function chartPoints(slots: Slot[], now: number): { t: number[]; succeeded: number[]; failed: number[] } {
  const out = { t: [] as number[], succeeded: [] as number[], failed: [] as number[] };
  const current = Math.floor(now / 1000 / SLOT_S) * SLOT_S;
  const by = new Map(slots.map((s) => [s[0], s]));
  for (let start = current - (SLOTS_KEPT - 1) * SLOT_S; start <= current; start += SLOT_S) {
    const s = by.get(start);
    out.t.push(start);
    out.succeeded.push(s ? Math.round((s[1] / SLOT_S) * 100) / 100 : 0);
    out.failed.push(s ? Math.round((s[2] / SLOT_S) * 100) / 100 : 0);
  }
  return out;
}

/** True when a process record was not rewritten for `staleMs`: its process is gone, and it may be folded into the base. Pure. */
export function isStale(r: Pick<StatsRecord, "at">, now: number, staleMs: number): boolean {
  return now - r.at >= staleMs;
}
