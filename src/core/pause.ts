/**
 * Pause and resume: what the pause records of a stream (one for the whole
 * stream, one per task, in the KV bucket `qw_<stream>_paused`) and the clock
 * say about a task, how a record is written and read, and how `--until` is
 * read. Pure: no clock, no NATS.
 *
 * @module
 */

import { readKvObject } from "./kv_record.ts";

/** One pause: of the whole stream (`task` null) or of one task. */
export interface PauseRecord {
  /** The paused task; null pauses the whole stream. */
  task: string | null;
  /** When the pause ends by itself (epoch ms); null: until resumed. */
  until: number | null;
  /** Who paused it (`user@host`, `dashboard`). */
  by: string;
  /** When it was paused (ISO 8601). */
  at: string;
}

/** Whether a task may start now, and if not, which pause holds it and until when. */
export type PauseDecision =
  | { paused: false }
  | { paused: true; scope: "stream" | "task"; until: number | null; by: string };

/** The key of the whole stream's pause. Task keys are `task.<encoded name>`, so no task name can clash with it. */
export const STREAM_PAUSE_KEY = "stream";

/** A pause that has not ended by `now`. Pure. */
export function isActive(r: PauseRecord, now: number): boolean {
  return r.until === null || r.until > now;
}

/**
 * May a job of `task` start now? The whole stream's pause wins over the
 * task's own; a pause whose `until` has passed holds nothing. Pure.
 */
export function pauseDecision(records: Iterable<PauseRecord>, task: string, now: number): PauseDecision {
  let own: PauseRecord | null = null;
  for (const r of records) {
    if (!isActive(r, now)) continue;
    if (r.task === null) return { paused: true, scope: "stream", until: r.until, by: r.by };
    if (r.task === task) own = r;
  }
  return own ? { paused: true, scope: "task", until: own.until, by: own.by } : { paused: false };
}

/** Whether the whole stream is paused now. Pure. */
export function streamPaused(records: Iterable<PauseRecord>, now: number): boolean {
  for (const r of records) if (r.task === null && isActive(r, now)) return true;
  return false;
}

/** The next time a pause ends by itself (epoch ms), or null: when a process must look again. Pure. */
export function nextPauseEnd(records: Iterable<PauseRecord>, now: number): number | null {
  let next: number | null = null;
  for (const r of records) if (r.until !== null && r.until > now && (next === null || r.until < next)) next = r.until;
  return next;
}

/**
 * How long a held job of a paused task stays on the server before it is
 * looked at again: the recheck interval, or less when the pause ends sooner;
 * 0 when it may go now (not paused, or only the whole stream is, whose jobs
 * wait in the stream instead). Pure.
 */
export function holdMs(d: PauseDecision, now: number, recheckMs: number): number {
  if (!d.paused || d.scope !== "task") return 0;
  return d.until === null ? recheckMs : Math.max(0, Math.min(recheckMs, d.until - now));
}

/** A pause as the bucket stores it. Pure. */
export function encodePause(r: PauseRecord): string {
  return JSON.stringify({ task: r.task, until: r.until === null ? null : new Date(r.until).toISOString(), by: r.by, at: r.at });
}

/** What one entry of the pauses bucket says: a pause, a resume (delete or purge), or a value that is not a pause. Pure. */
export type PauseEntry =
  | { kind: "pause"; key: string; record: PauseRecord }
  | { kind: "resume"; key: string }
  | { kind: "invalid"; key: string; reason: string };

/** Read one entry of the pauses bucket. Pure. */
export function pauseEntry(e: { key: string; operation: string; string(): string }): PauseEntry {
  const o = readKvObject(e);
  if (o.kind === "removed") return { kind: "resume", key: e.key };
  if (o.kind === "not_json") return { kind: "invalid", key: e.key, reason: o.reason };
  if (o.kind === "not_object") return { kind: "invalid", key: e.key, reason: "not a JSON object" };
  const r = o.value as { task?: unknown; until?: unknown; by?: unknown; at?: unknown };
  const task = r.task === null || r.task === undefined ? null : typeof r.task === "string" && r.task !== "" ? r.task : undefined;
  if (task === undefined) return { kind: "invalid", key: e.key, reason: `'task' must be a task name or null: ${JSON.stringify(r.task)}` };
  if ((task === null) !== (e.key === STREAM_PAUSE_KEY)) {
    return { kind: "invalid", key: e.key, reason: `'task' ${JSON.stringify(task)} does not match the key` };
  }
  const until = r.until === null || r.until === undefined ? null : typeof r.until === "string" ? Date.parse(r.until) : NaN;
  if (until !== null && Number.isNaN(until)) return { kind: "invalid", key: e.key, reason: `'until' is not a date: ${JSON.stringify(r.until)}` };
  return { kind: "pause", key: e.key, record: { task, until, by: String(r.by ?? ""), at: String(r.at ?? "") } };
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i;
const RELATIVE = /^\+?(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Read `--until`: an ISO 8601 date with a time zone (`2030-01-31T12:00:00Z`)
 * or a time from now (`90s`, `+15m`, `2h`, `1d`). Returns epoch ms, or a
 * one-line reason when it is not a date or not in the future. Pure.
 */
export function parseUntil(text: string, now: number): number | string {
  const t = text.trim();
  const rel = RELATIVE.exec(t);
  const at = rel ? now + Number(rel[1]) * UNIT_MS[rel[2]] : ISO_DATE.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(at)) {
    return `'--until' must be an ISO 8601 date with a time zone ("2030-01-31T12:00:00Z") or a time from now ("90s", "15m", "2h", "1d"): current value is ${JSON.stringify(text)}`;
  }
  if (at <= now) return `'--until' must be in the future: current value is ${JSON.stringify(text)}`;
  return Math.round(at);
}

/** How far ahead a pause without an end pauses the server's consumer (2.11+): 100 years. */
export const INDEFINITE_MS = 100 * 365 * 86_400_000;
