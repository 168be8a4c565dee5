/**
 * The life of one delivery of a job in one qw process, as a state machine.
 * Pure: a table of states and steps, and what each state means to the lease,
 * to revokes, to shutdown and to the counts operators see. The dispatcher,
 * the settler and the pool's callbacks move a job only through
 * {@linkcode step}, so "finished in its Web Worker but not reported yet" is a
 * state of its own rather than a combination of flags.
 *
 * ```
 * received -> gated -> queued -> running -> finished -> settling -> settled
 *     \          \         \         \          \
 *      +----------+---------+---------+----------+---> handed_back
 * ```
 *
 * - `received`: pulled and read; not yet given to the pool.
 * - `gated`: waiting for a rate-limit token in this process.
 * - `queued`: given to the pool; no Web Worker has claimed it.
 * - `running`: a Web Worker runs it.
 * - `finished`: its Web Worker finished it, and its outcome is on its way
 *   (results cross in batches). It ran: it must not be handed back as if it
 *   had not, and its lease is renewed until the outcome arrives.
 * - `settling`: the outcome is known (or decided without a run: revoked, an
 *   invalid message, the delivery cap) and what follows is being published.
 * - `settled`: acked, nacked or termed once; the job leaves the process.
 * - `handed_back`: given back to the stream without this process settling
 *   an outcome (not started, waited too long, shutdown, stall).
 *
 * @module
 */

/** Where one delivery of a job stands in this process. */
export type JobState =
  | "received"
  | "gated"
  | "queued"
  | "running"
  | "finished"
  | "settling"
  | "settled"
  | "handed_back";

/** What can happen to a held job. */
export type JobStep =
  /** It waits for a rate-limit token. */
  | "gate"
  /** It is given to the pool. */
  | "queue"
  /** A Web Worker started it. */
  | "start"
  /** Its Web Worker finished it; the outcome has not arrived yet. */
  | "finish"
  /** Its outcome arrived, or was decided without a run: what follows is published. */
  | "end"
  /** The one ack, nak or term of the delivery was sent. */
  | "settle"
  /** Given back to the stream unsettled. */
  | "hand_back";

const TABLE: Record<JobState, Partial<Record<JobStep, JobState>>> = {
  received: { gate: "gated", queue: "queued", end: "settling", hand_back: "handed_back" },
  gated: { queue: "queued", end: "settling", hand_back: "handed_back" },
  // A fast job can start and finish between two looks of the pool: queued -> finished.
  queued: { start: "running", finish: "finished", end: "settling", hand_back: "handed_back" },
  running: { finish: "finished", end: "settling", hand_back: "handed_back" },
  finished: { end: "settling", hand_back: "handed_back" },
  settling: { settle: "settled", hand_back: "handed_back" },
  settled: {},
  handed_back: {},
};

/** Every state, in the order of a job's life. */
export const JOB_STATES: readonly JobState[] = Object.keys(TABLE) as JobState[];

/** The state after `s` from `state`, or null when that step cannot happen there. Pure. */
export function step(state: JobState, s: JobStep): JobState | null {
  return TABLE[state][s] ?? null;
}

/** The job left this process: nothing more may be done with its message. Pure. */
export const isGone = (state: JobState): boolean => state === "settled" || state === "handed_back";

/** A Web Worker started it: it ran, or runs now (what an early ack waits for, what "running" counts). Pure. */
export const hasStarted = (state: JobState): boolean => state === "running" || state === "finished";

/** It has not started and nothing is settling it: it can still be withdrawn, revoked unrun or handed back. Pure. */
export const isWaiting = (state: JobState): boolean => state === "received" || state === "gated" || state === "queued";

/**
 * What the job's lease means now: `progress` (running, finished with its
 * outcome on the way, or settling: renewed however long it takes), `waiting`
 * (renewed only while the pool makes progress, then handed back), `none`
 * (gone). Pure.
 */
export function leaseKind(state: JobState): "progress" | "waiting" | "none" {
  if (isGone(state)) return "none";
  return isWaiting(state) ? "waiting" : "progress";
}
