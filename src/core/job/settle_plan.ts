/**
 * Settlement as a plan: the effects a decision (core/ack_policy.ts) needs, in
 * the order they must happen, and what to do when one fails. Pure: the
 * settler runs the plan, one effect after the other, with this one failure
 * policy.
 *
 * The order keeps the promises: what must exist before a message may go
 * (the flow's next steps, a retry, a dead letter; with acksLate, the result)
 * is stored first; then the one ack, nak or term; then what may follow it
 * (an early-acked job's result) and the event.
 *
 * @module
 */

import type { BrokerAction, Decision } from "./ack_policy.ts";

/** One effect of settling a job. */
export type Effect =
  /** Publish the flow's next steps (or fail the flow) before the step is settled. */
  | { kind: "advance_flow" }
  | { kind: "publish_retry" }
  | { kind: "dead_letter" }
  /** Store the result; `before` when the message may only be settled once it is stored (acksLate). */
  | { kind: "write_result"; before: boolean }
  | { kind: "broker"; action: BrokerAction }
  /** Free the job's unique key: it ended for good (README "Unique jobs and debounce"). */
  | { kind: "release_unique" }
  | { kind: "event" };

/** What the plan knows about the job besides the decision. */
export interface PlanContext {
  acksLate: boolean;
  /** Its message was acked already (early ack). */
  acked: boolean;
  /** It is a step of a flow that has not advanced yet. */
  flow: boolean;
  /** A result is stored for it (results on, and not `ignoreResult`). */
  results: boolean;
  /** It carries a unique key (`Qw-Unique`). */
  unique?: boolean;
}

/** The effects of settling a decision, in order. Pure. */
export function planSettlement(d: Decision, c: PlanContext): Effect[] {
  const plan: Effect[] = [];
  if (c.flow && !d.retry && d.broker.op !== "nak") plan.push({ kind: "advance_flow" });
  if (d.retry) plan.push({ kind: "publish_retry" });
  if (d.deadLetter !== undefined) plan.push({ kind: "dead_letter" });
  const write = c.results && d.state !== null;
  // acksLate: the result is stored before the job is acked, so a crash in
  // between runs the job again rather than losing its result.
  const before = write && c.acksLate && !c.acked;
  if (before) plan.push({ kind: "write_result", before: true });
  plan.push({ kind: "broker", action: d.broker });
  if (write && !before) plan.push({ kind: "write_result", before: false });
  // After the ack: a key freed before it could let a second job in while this one may still run again.
  if (c.unique && !d.retry && d.broker.op !== "nak") plan.push({ kind: "release_unique" });
  plan.push({ kind: "event" });
  return plan;
}

/** What to do when an effect fails. */
export type OnFailure =
  /** Give the message back for another run after a pause (it is not acked: nothing is lost). */
  | "requeue"
  /** Try the same effect again while the lease is held (the job ran; its side effects must not run again). */
  | "retry_effect"
  /** The message was acked before: record the failure (dead letter and FAILURE) so the job leaves a trace. */
  | "record_failure"
  /** Report it and go on with the rest of the plan. */
  | "report";

/** The failure policy: what a failed effect means, given whether the message was acked. Pure. */
export function onFailure(effect: Effect["kind"], acked: boolean): OnFailure {
  switch (effect) {
    case "advance_flow":
    case "dead_letter":
      return acked ? "report" : "requeue";
    case "publish_retry":
      return acked ? "record_failure" : "requeue";
    case "write_result":
      return acked ? "report" : "retry_effect";
    case "broker":
    case "release_unique":
    case "event":
      return "report";
  }
}
