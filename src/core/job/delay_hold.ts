/**
 * Who holds a delayed job (a countdown, an eta, a retry's backoff) until its
 * time: the server or qw.
 *
 * - `server`: on nats-server 2.12+ with a work stream that has
 *   `allow_msg_schedules`, the job is a schedule message (`Nats-Schedule: @at
 *   <time>`, ADR-51) on its own subject `<stream>._sched.<task>.<token>`; the
 *   server publishes it to `<stream>.<task>` at its time and removes the
 *   schedule. No qw process needs to run meanwhile and nothing is redelivered.
 * - `qw`: the job waits on `<stream>._delayed.<task>`, where qw's delayed
 *   consumer naks it until its eta and then moves it (every older server, and
 *   a stream created without the flag).
 *
 * Pure: the callers pass the server's version and the stream's flag.
 *
 * @module
 */

import { serverFeatures } from "../server_features.ts";

/** Who holds delayed jobs for one stream. */
export type DelayHolder = "server" | "qw";

/** How one job goes out: at once, held by the server, or held by qw. */
export type DelayForm = "now" | "server" | "qw";

/**
 * The longest schedule token (the job's dedup id, base64url): a schedule's
 * subject must fit in a publish's control line, so a job with a longer dedup
 * id waits the qw way.
 */
export const MAX_SCHEDULE_TOKEN = 512;

/**
 * Who holds the delayed jobs of a stream: the server when it has `@at`
 * schedules (2.12+) and the stream allows them (`allow_msg_schedules`), qw
 * otherwise. An unknown version or flag (`undefined`) means qw.
 */
export function delayHolder(version: string | undefined, allowMsgSchedules: boolean | undefined): DelayHolder {
  return serverFeatures(version).scheduleAt && allowMsgSchedules === true ? "server" : "qw";
}

/**
 * How a job with eta `etaMs` (null: none) goes out at `now` when `holder`
 * holds the stream's delays: `now` when it is due, else the holder's form,
 * but `qw` for a dedup id too long for a schedule's subject.
 */
export function delayForm(holder: DelayHolder, job: { etaMs: number | null; dedupId: string }, now: number): DelayForm {
  if (job.etaMs === null || !(job.etaMs > now)) return "now";
  if (holder === "server" && scheduleToken(job.dedupId).length <= MAX_SCHEDULE_TOKEN) return "server";
  return "qw";
}

/**
 * The last token of a schedule's subject: the job's dedup id in base64url
 * without padding (UTF-8 first). One subject per dedup id, as the server keeps
 * one schedule per subject: a repeated publish of the same job replaces its
 * own schedule, never another job's.
 */
export function scheduleToken(dedupId: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(dedupId)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The `Nats-Schedule` value of a job held by the server until `etaMs` (UTC, millisecond precision). */
export function atSchedule(etaMs: number): string {
  return `@at ${new Date(Math.round(etaMs)).toISOString()}`;
}

/**
 * The task and dedup id of a schedule subject `<stream>._sched.<task>.<token>`;
 * null for any other subject or a token that is not base64url of UTF-8.
 */
export function heldJobOf(stream: string, subject: string): { task: string; dedupId: string } | null {
  const m = /^([^.]+)\.([^.]+)$/.exec(subject.startsWith(`${stream}._sched.`) ? subject.slice(stream.length + 8) : "");
  if (!m || !/^[A-Za-z0-9_-]+$/.test(m[2])) return null;
  try {
    const bin = atob(m[2].replace(/-/g, "+").replace(/_/g, "/"));
    const dedupId = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    return { task: m[1], dedupId };
  } catch {
    return null;
  }
}

/**
 * The task ids a held job's dedup id can belong to: `<id>:eta` (a first
 * attempt), `<id>:<retries>:eta` (a retry), either with `:rl:<seq>` (pushed
 * back by a rate limit). An id may hold colons itself, so both readings of
 * `a:1:eta` (id `a:1`, or id `a` at retry 1) are given.
 */
export function heldJobIds(dedupId: string): string[] {
  const m = /^(.*):eta(?::rl:\d+)?$/.exec(dedupId);
  if (!m) return [];
  const retry = /^(.*):\d+$/.exec(m[1]);
  return retry ? [m[1], retry[1]] : [m[1]];
}
