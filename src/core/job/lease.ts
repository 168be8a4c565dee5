/**
 * Leases follow progress, not possession. While qw holds an unacked message
 * it may renew its lease (`working()`) so the server does not give it to
 * someone else; this decides, per held job, whether to renew, to let the
 * lease be, or to hand the job back (`nak`) so another process can run it.
 * Pure: the caller passes every time as a duration.
 *
 * - A job running in a live Web Worker, finished there with its outcome on
 *   the way, or being settled (its retry, dead letter or result being
 *   written), is progress: renewed every third of the ack wait, however long
 *   it takes.
 * - A job waiting in the pool is renewed only while the pool makes progress
 *   (a job started or finished, or a Web Worker came up, within a third of
 *   the ack wait), and never for longer than {@linkcode handBackAfterMs}:
 *   then it goes back to the server, where any process can take it. With an
 *   ack wait under 1.5 s that is later than the lease lasts, so it is renewed
 *   until then whatever the pool does.
 *
 * @module
 */

import { type JobState, leaseKind } from "./job_life.ts";

/** What the lease decision knows about one held job. */
export interface HeldJob {
  /** Where it stands (core/job_life.ts): running, finished and settling are progress. */
  state: JobState;
  /** Milliseconds since qw received it. */
  heldMs: number;
  /** Milliseconds since its lease was last renewed (or since it was received). */
  sinceTouchMs: number;
}

/** What to do with one held job's lease now. */
export type LeaseAction = "renew" | "keep" | "hand_back";

/**
 * How long a job may wait in qw's hands without starting: two thirds of the
 * ack wait (at least 1 s), so it is handed back before the lease qw gave it
 * could run out and the server redelivered it on its own (below 1.5 s of ack
 * wait, {@linkcode leaseAction} renews it until then). Pure.
 */
export function handBackAfterMs(ackWaitMs: number): number {
  return Math.max(1000, (ackWaitMs * 2) / 3);
}

/** Decide one held job's lease. Pure. */
export function leaseAction(job: HeldJob, pool: { sinceProgressMs: number }, ackWaitMs: number): LeaseAction {
  const due = job.sinceTouchMs >= ackWaitMs / 3;
  const kind = leaseKind(job.state);
  if (kind === "none") return "keep";
  if (kind === "progress") return due ? "renew" : "keep";
  const handBackAt = handBackAfterMs(ackWaitMs);
  if (job.heldMs >= handBackAt) return "hand_back";
  const progressing = pool.sinceProgressMs < ackWaitMs / 3;
  // Under 1.5 s of ack wait the hand-back (at least 1 s) comes after the lease qw was given runs out, and the
  // server would redeliver the job while qw still holds it and hands back a copy: renewed until handed back.
  const outlivesLease = handBackAt > (ackWaitMs * 2) / 3;
  return due && (progressing || outlivesLease) ? "renew" : "keep";
}
