/**
 * The numbers of the dashboard, from what the server already keeps (qw's
 * events are off by default): the work stream's per-subject counts and its
 * shared consumer (via inspect.ts), the dead-letter stream's per-subject
 * counts, and the worker records. Pure: the caller fetches and passes `now`.
 *
 * Per task:
 * - `waiting`: stored on `<stream>.<task>` and not running: not yet delivered,
 *   held by a worker but not started, or waiting for a retry's countdown
 *   (stored jobs minus the running ones not acked yet, acksLate).
 * - `delayed`: a countdown or eta not due: stored on `<stream>._delayed.<task>`,
 *   or held by the server as a schedule on `<stream>._sched.<task>.<token>`.
 * - `running`, `succeeded`, `failed`, `retried`: summed over the records of
 *   the workers online now (refreshed every 5 s), since each one started.
 * - `deadLettered`: stored on `<stream>_dlq.<task>` until replayed or purged.
 *
 * @module
 */

import type { InspectReport } from "../inspect.ts";
import type { WorkerRecord } from "../presence.ts";
import type { RatePoints } from "./rate.ts";
import type { ScheduleRow } from "./schedules.ts";

/** One task's row. */
export interface TaskRow {
  task: string;
  waiting: number;
  delayed: number;
  running: number;
  succeeded: number;
  failed: number;
  retried: number;
  deadLettered: number;
}

/** What `GET /api/overview` answers. */
export interface Overview {
  stream: string;
  /** What is paused now (`qw pause`): the whole stream (task null) and tasks; set by the source. */
  paused?: { task: string | null; until: string | null; by: string; at: string }[];
  /** ISO time of the snapshot. */
  at: string;
  totals: {
    /** The shared consumer's pending count: jobs no worker has received yet. */
    waiting: number;
    /** The shared consumer's ack pending: delivered, not acked. */
    inFlight: number;
    redelivered: number;
    delayed: number;
    deadLettered: number;
    /** Jobs running now, over the worker records. */
    running: number;
    succeeded: number;
    failed: number;
    retried: number;
    workers: number;
  };
  /** The dead-letter stream's last sequence: with `totals.deadLettered`, tells the page when to re-read the list. */
  deadLetterSeq: number;
  /** False while no worker ever ran on the stream. */
  consumerFound: boolean;
  tasks: TaskRow[];
  /** Waiting and in flight per priority level, highest first (see `qw inspect`). */
  priorities: InspectReport["priorities"];
  workers: WorkerRecord[];
  /** Null when the schedules bucket does not exist. */
  schedules: ScheduleRow[] | null;
  rate: RatePoints;
}

/** Dead letters per task from the per-subject counts of `<stream>_dlq.>`. Pure. */
export function deadLettersByTask(stream: string, subjects: Record<string, number> = {}): Map<string, number> {
  const prefix = `${stream}_dlq.`;
  const out = new Map<string, number>();
  for (const [subject, n] of Object.entries(subjects)) {
    if (subject.startsWith(prefix)) out.set(subject.slice(prefix.length), (out.get(subject.slice(prefix.length)) ?? 0) + n);
  }
  return out;
}

/** Build the overview. Pure. */
export function buildOverview(input: {
  report: InspectReport;
  dlqSubjects?: Record<string, number>;
  /** The dead-letter stream's last sequence. */
  dlqLastSeq?: number;
  schedules: ScheduleRow[] | null;
  rate: RatePoints;
}): Overview {
  const { report } = input;
  const rows = new Map<string, TaskRow>();
  const row = (task: string) =>
    rows.get(task) ?? rows.set(task, {
      task, waiting: 0, delayed: 0, running: 0, succeeded: 0, failed: 0, retried: 0, deadLettered: 0,
    }).get(task)!;
  const unacked = new Map<string, number>();
  for (const t of report.tasks) {
    row(t.task).waiting += t.queued;
    row(t.task).delayed += t.delayed;
  }
  for (const w of report.workers) {
    for (const [task, c] of Object.entries(w.tasks ?? {})) {
      const r = row(task);
      r.running += c.running;
      r.succeeded += c.done;
      r.failed += c.failed;
      r.retried += c.retried;
      unacked.set(task, (unacked.get(task) ?? 0) + c.unacked);
    }
  }
  for (const [task, n] of unacked) row(task).waiting = Math.max(0, row(task).waiting - n);
  for (const [task, n] of deadLettersByTask(report.stream, input.dlqSubjects)) row(task).deadLettered += n;
  const sumWorkers = (f: (w: WorkerRecord) => number) => report.workers.reduce((n, w) => n + f(w), 0);
  return {
    stream: report.stream,
    at: report.at,
    totals: {
      waiting: report.waiting,
      inFlight: report.inFlight,
      redelivered: report.redelivered,
      delayed: report.delayed,
      deadLettered: report.deadLettered,
      running: sumWorkers((w) => w.running.length),
      succeeded: sumWorkers((w) => w.done),
      failed: sumWorkers((w) => w.failed),
      retried: sumWorkers((w) => w.retried),
      workers: report.workers.length,
    },
    deadLetterSeq: input.dlqLastSeq ?? 0,
    consumerFound: report.consumerFound,
    tasks: [...rows.values()].sort((a, b) => (a.task < b.task ? -1 : a.task > b.task ? 1 : 0)),
    priorities: report.priorities,
    workers: report.workers,
    schedules: input.schedules,
    rate: input.rate,
  };
}
