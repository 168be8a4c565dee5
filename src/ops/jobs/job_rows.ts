/**
 * The job lists of the dashboard and `qw inspect --jobs STATE`, as rows:
 * running (from the worker records), failed, revoked and expired (from the
 * recent result records), waiting and delayed (from the messages stored in
 * the work stream). Pure: the reads are in job_reads.ts.
 *
 * @module
 */

import type { ResultRecord } from "../../client/buckets/result_store.ts";
import type { SerializedError } from "../../core/types.ts";
import type { WorkerRecord } from "../presence.ts";

/** The lists, in the order the page shows them. */
export const JOB_STATES = ["running", "failed", "waiting", "delayed", "revoked", "expired"] as const;
/** One list. */
export type JobListState = typeof JOB_STATES[number];
/** How many jobs a list shows at most (per priority for waiting). */
export const JOB_LIST_LIMIT = 100;

/** One job in a list; which fields are set depends on the list. */
export interface JobRow {
  id: string;
  task: string;
  /** Running: the worker; failed, revoked, expired: the worker that stored the record. */
  worker?: string;
  /** Epoch ms: when it started (running), ended (failed, revoked, expired). */
  startedAt?: number;
  finishedAt?: number;
  /** Running: the fraction reported last, 0 to 1. */
  progress?: number;
  deliveryCount?: number;
  retries?: number;
  error?: SerializedError;
  reason?: string;
  /** Waiting and delayed: the job's args (as stored), and its priority group. */
  args?: unknown;
  priority?: string;
  /** Delayed: when it is due (epoch ms), or null when it waits for a pause to end. */
  dueAt?: number | null;
  /** Failed: it can be enqueued again (its message was kept). */
  retryable?: boolean;
  seq?: number;
}

/** A list's filter: a task name and an id prefix, each empty for all. */
export interface JobFilter {
  task?: string;
  prefix?: string;
}

/** The one-line error for a list name that is not one. Null when it is one. Pure. */
export function jobStateProblem(state: string): string | null {
  return (JOB_STATES as readonly string[]).includes(state)
    ? null
    : `Cannot list jobs as STATE must be one of ${JOB_STATES.join(", ")}: current value is "${state}"`;
}

/** True when `row` passes the filter. Pure. */
export function matches(row: { id: string; task: string }, f: JobFilter): boolean {
  return (!f.task || row.task === f.task) && (!f.prefix || row.id.startsWith(f.prefix));
}

/** The running jobs of the worker records, newest start first, with the progress of their records. Pure. */
export function runningRows(workers: WorkerRecord[], progress: Map<string, number>, f: JobFilter): JobRow[] {
  const rows: JobRow[] = [];
  for (const w of workers) {
    const jobs = w.jobs ?? w.running.map((id) => ({ id, task: "?", startedAt: 0, deliveryCount: 0 }));
    for (const j of jobs) {
      if (!matches(j, f)) continue;
      const row: JobRow = { id: j.id, task: j.task, worker: w.name, startedAt: j.startedAt, deliveryCount: j.deliveryCount };
      const p = progress.get(j.id);
      if (p !== undefined) row.progress = p;
      rows.push(row);
    }
  }
  return rows.sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0)).slice(0, JOB_LIST_LIMIT);
}

/** Which list a result record belongs to: failed, revoked or expired; null for the others. Pure. */
export function recordList(r: ResultRecord): "failed" | "revoked" | "expired" | null {
  if (r.state === "FAILURE") return "failed";
  if (r.state === "REVOKED") return r.reason === "expired" ? "expired" : "revoked";
  return null;
}

/** The failed, revoked or expired jobs among result records, latest end first. Flow records (task "flow") are not jobs. Pure. */
export function recordRows(records: Iterable<ResultRecord>, state: "failed" | "revoked" | "expired", f: JobFilter): JobRow[] {
  const rows: JobRow[] = [];
  for (const r of records) {
    if (r.task === "flow" || recordList(r) !== state || !matches(r, f)) continue;
    const row: JobRow = { id: r.id, task: r.task, worker: r.worker, finishedAt: r.finishedAt, retries: r.retries, deliveryCount: r.deliveryCount };
    if (r.startedAt) row.startedAt = r.startedAt;
    if (r.error) row.error = r.error;
    if (r.reason ?? r.deadLetter) row.reason = r.reason ?? r.deadLetter;
    if (state === "failed") row.retryable = r.job !== undefined;
    rows.push(row);
  }
  return rows.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0)).slice(0, JOB_LIST_LIMIT);
}

/** A message stored in the work stream, as read. */
export interface StoredMessage {
  seq: number;
  subject: string;
  headers: [string, string][];
  data: Uint8Array;
}

const header = (m: StoredMessage, name: string) => m.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

/**
 * A stored job as a row: its task id (Qw-Id, else Nats-Msg-Id, else `<stream>:<seq>`), task, args,
 * priority group (`p<N>` of `<stream>.p<N>.<task>`, else "default") and, for a delayed job, when it is
 * due (Qw-Eta, or the server's `@at` schedule). Null for what is not a job (a flow's start). Pure.
 */
export function storedRow(stream: string, m: StoredMessage): JobRow | null {
  const parts = m.subject.slice(stream.length + 1).split(".");
  let task: string;
  let priority = "default";
  let dueAt: number | null | undefined;
  if (parts[0] === "_delayed") {
    task = parts[1];
    const eta = Number(header(m, "Qw-Eta"));
    dueAt = Number.isFinite(eta) && eta > 0 ? eta : null;
  } else if (parts[0] === "_sched") {
    task = parts[1];
    const at = /^@at (.+)$/.exec(header(m, "Nats-Schedule") ?? "")?.[1];
    dueAt = at === undefined ? null : Date.parse(at);
  } else if (parts[0].startsWith("_")) {
    return null;
  } else if (parts.length === 2 && /^p\d+$/.test(parts[0])) {
    priority = parts[0];
    task = parts[1];
  } else {
    task = parts.join(".");
  }
  const id = header(m, "Qw-Id") ?? header(m, "Nats-Msg-Id") ?? `${stream}:${m.seq}`;
  let args: unknown = null;
  try {
    args = JSON.parse(new TextDecoder().decode(m.data))?.args ?? null;
  } catch {
    args = "(not JSON)";
  }
  const row: JobRow = { id, task, args, seq: m.seq };
  if (dueAt !== undefined) row.dueAt = dueAt;
  else row.priority = priority;
  return row;
}

/** The priority of a group: N of `pN`, 5 for "default" (a job on `<stream>.<task>`). Pure. */
export const groupPriority = (g: string): number => (g === "default" ? 5 : Number(g.slice(1)));

/**
 * Waiting rows grouped by priority group, highest priority first (the order the workers serve them), each
 * in stream order and at most {@linkcode JOB_LIST_LIMIT}. Pure.
 */
export function groupWaiting(rows: JobRow[]): Record<string, JobRow[]> {
  const groups = new Map<string, JobRow[]>();
  for (const r of rows) {
    const g = groups.get(r.priority ?? "default") ?? groups.set(r.priority ?? "default", []).get(r.priority ?? "default")!;
    if (g.length < JOB_LIST_LIMIT) g.push(r);
  }
  return Object.fromEntries([...groups].sort(([a], [b]) => groupPriority(b) - groupPriority(a)));
}
