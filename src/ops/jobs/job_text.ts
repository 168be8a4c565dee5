/**
 * A job list as text for `qw inspect --jobs STATE`: one table (per priority
 * group for waiting), the error's first line for failed jobs. Pure.
 *
 * @module
 */

import { formatAgo, renderTable } from "../inspect.ts";
import type { JobList } from "./job_lists.ts";
import { groupPriority, type JobRow } from "./job_rows.ts";

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
const short = (v: unknown, n = 60) => {
  const s = JSON.stringify(v) ?? "";
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
};

function table(state: JobList["state"], rows: JobRow[], now: number): string {
  switch (state) {
    case "running":
      return renderTable(["id", "task", "worker", "started", "delivery", "progress"], rows.map((r) => [
        r.id, r.task, r.worker ?? "-", formatAgo(iso(r.startedAt), now), r.deliveryCount ?? 0,
        r.progress === undefined ? "-" : `${Math.round(r.progress * 100)}%`,
      ]));
    case "failed":
      return renderTable(["id", "task", "ended", "retries", "error", "retry"], rows.map((r) => [
        r.id, r.task, formatAgo(iso(r.finishedAt), now), r.retries ?? 0,
        r.error ? `${r.error.name}: ${r.error.message}`.split("\n")[0].slice(0, 80) : r.reason ?? "-", r.retryable ? "yes" : "no",
      ]));
    case "revoked":
    case "expired":
      return renderTable(["id", "task", "when", "reason"], rows.map((r) => [r.id, r.task, formatAgo(iso(r.finishedAt), now), r.reason ?? "revoked"]));
    case "waiting":
      return renderTable(["seq", "id", "task", "args"], rows.map((r) => [r.seq ?? 0, r.id, r.task, short(r.args)]));
    case "delayed":
      return renderTable(["id", "task", "due", "args"], rows.map((r) => [
        r.id, r.task, r.dueAt === null || r.dueAt === undefined ? "when resumed" : new Date(r.dueAt).toISOString(), short(r.args),
      ]));
  }
}

/** The list as text. */
export function formatJobList(list: JobList, now: number): string {
  if (list.jobs.length === 0) return `Jobs ${list.state}: none\n`;
  if (list.state === "waiting" && list.groups && Object.keys(list.groups).length > 1) {
    return Object.entries(list.groups)
      .map(([g, rows]) => `Jobs waiting, priority ${groupPriority(g)}${g === "default" ? " (default)" : ""}:\n${table("waiting", rows, now)}\n`)
      .join("\n");
  }
  return `Jobs ${list.state}:\n${table(list.state, list.jobs, now)}\n`;
}
