/**
 * The dashboard's and `qw inspect`'s counts that survive restarts: the
 * overview's per-task and total succeeded, failed and retried come from the
 * stats bucket (see stats_record.ts) instead of the records of the workers
 * online, and expired, revoked and dead-lettered-ever join them. Pure.
 *
 * @module
 */

import type { Overview, TaskRow } from "../dashboard/overview.ts";
import type { History } from "./stats_read.ts";
import { renderTable } from "../inspect.ts";
import { STAT_OUTCOMES, type StatCounts, zeroCounts } from "./stats_record.ts";

/** A task row with the counts since the stream's first job. */
export type HistoryRow = TaskRow & { expired: number; revoked: number; deadLetteredTotal: number };

/** The overview with its history. */
export type OverviewWithHistory = Omit<Overview, "tasks" | "totals"> & {
  tasks: HistoryRow[];
  totals: Overview["totals"] & { expired: number; revoked: number; deadLetteredTotal: number };
  /** Jobs ended per second over the last 10 minutes, from the stats bucket; `found` false while no worker wrote any. */
  history: { found: boolean; chart: History["chart"] };
};

/** Put the history's counts into an overview. Without stats (workers of older versions only), the workers' counts stay. Pure. */
export function withHistory(o: Overview, h: History): OverviewWithHistory {
  const rows = new Map<string, HistoryRow>(o.tasks.map((r) => [r.task, { ...r, expired: 0, revoked: 0, deadLetteredTotal: 0 }]));
  const apply = (row: HistoryRow | Overview["totals"] & HistoryExtra, c: StatCounts) => {
    row.succeeded = c.succeeded;
    row.failed = c.failed;
    row.retried = c.retried;
    row.expired = c.expired;
    row.revoked = c.revoked;
    row.deadLetteredTotal = c.deadLettered;
  };
  if (h.found) {
    for (const [task, c] of Object.entries(h.tasks)) {
      const row = rows.get(task) ??
        rows.set(task, {
          task, waiting: 0, delayed: 0, running: 0, succeeded: 0, failed: 0, retried: 0, deadLettered: 0, expired: 0, revoked: 0,
          deadLetteredTotal: 0,
        }).get(task)!;
      apply(row, c);
    }
  }
  const totals = { ...o.totals, expired: 0, revoked: 0, deadLetteredTotal: 0 };
  if (h.found) apply(totals, h.totals);
  const tasks = [...rows.values()].sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0));
  return { ...o, tasks, totals, history: { found: h.found, chart: h.chart } };
}

type HistoryExtra = { expired: number; revoked: number; deadLetteredTotal: number };

/** The history's counts per task as a text table for `qw inspect`. Pure. */
export function formatHistory(h: History): string {
  if (!h.found) return "History: no counts stored yet (no worker of this version ran on the stream)";
  const tasks = Object.keys(h.tasks).sort();
  const row = (name: string, c: StatCounts) => [name, ...STAT_OUTCOMES.map((o) => c[o])];
  return "Since the first job (kept across restarts):\n" + renderTable(
    ["task", "succeeded", "failed", "retried", "dead-lettered", "expired", "revoked"],
    [...tasks.map((t) => row(t, h.tasks[t] ?? zeroCounts())), row("(all)", h.totals)],
  );
}
