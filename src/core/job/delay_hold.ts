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
