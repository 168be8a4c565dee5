/**
 * The ack decision: what to tell JetStream, what to store and what to emit
 * after one execution of a job. Pure: no I/O, no clock, no `JsMsg`; the random
 * source for jitter is injected. The table in README "Reliability" is this
 * function, and tests/unit/ack_policy_test.ts pins every cell.
 *
 * @module
 */

import { type RandomSource, retryCountdown } from "./backoff.ts";
import type { ResolvedTaskOptions, SerializedError } from "../types.ts";
import { EXPIRED_REASON } from "./expiry.ts";

/** How one execution of a job ended, as the pool reports it. */
export type Outcome =
  | { kind: "success"; value?: unknown }
  | { kind: "error"; error: SerializedError; autoretry: boolean }
  | { kind: "retry"; countdown?: number; maxRetries?: number | null; exc?: SerializedError }
  | { kind: "reject"; requeue: boolean; reason: string }
  | { kind: "ignore" }
  | { kind: "worker_lost"; error: SerializedError }
  | { kind: "time_limit"; error: SerializedError }
  | { kind: "invalid"; reason: string }
  | { kind: "revoked"; reason: string }
  /** Not started by its expiry (epoch ms `at`): never runs. */
  | { kind: "expired"; at: number };

/** The task options the decision reads. */
export type AckPolicy = Pick<
  ResolvedTaskOptions,
  | "acksLate"
  | "rejectOnWorkerLost"
  | "acksOnFailureOrTimeout"
  | "maxRetries"
  | "defaultRetryDelay"
  | "retryBackoff"
  | "retryBackoffMax"
  | "retryJitter"
>;

/** What the decision knows about the message and the job. */
export interface DecisionContext {
  policy: AckPolicy;
  /** JetStream delivery count of this message (1 on first delivery). */
  deliveryCount: number;
  /** Retries that happened before this run. */
  retries: number;
  /** The delivery cap: a nak that would exceed it becomes a term. */
  maxDeliveries: number;
  random: RandomSource;
}

/** The broker action. `acked` means the job was acked when it was accepted (early ack). */
export type BrokerAction =
  | { op: "ack" }
  | { op: "acked" }
  | { op: "nak"; delayMs: number }
  | { op: "term"; reason: string };

/** The event an outcome emits. */
export type OutcomeEvent =
  | "job.succeeded"
  | "job.failed"
  | "job.retry_scheduled"
  | "job.requeued"
  | "job.rejected"
  | "job.ignored"
  | "job.revoked"
  | "job.expired";

/** The full decision for one execution. */
export interface Decision {
  broker: BrokerAction;
  /** The state to store, or null to store nothing. */
  state: "SUCCESS" | "FAILURE" | "RETRY" | "REVOKED" | null;
  event: OutcomeEvent;
  /** Schedule a new attempt: countdown in seconds and the retries count it carries. */
  retry?: { countdown: number; retries: number };
  /** The error to store and report with a FAILURE or RETRY. */
  error?: SerializedError;
  /** Copy the job to the dead letters with this reason. */
  deadLetter?: string;
  /** Something a user should know that the state does not say. */
  note?: string;
  /** Stored with a REVOKED record: why it did not run (`expired`). */
  reason?: string;
  /** The expiry (epoch ms) of an expired job. */
  expiresAt?: number;
}

const MAX_RETRIES_EXCEEDED: SerializedError = {
  name: "MaxRetriesExceededError",
  message: "Can't retry: no retries left",
};

/**
 * A message delivered more often than the cap is dead-lettered without running,
 * so a job that kills its worker process cannot loop forever.
 */
export function admitDelivery(deliveryCount: number, maxDeliveries: number): boolean {
  return deliveryCount <= maxDeliveries;
}

/** Why a job delivered for run `run`, over the cap, is not run again. Pure. */
export const capReason = (run: number, maxDeliveries: number): string =>
  `Delivered ${run} times, over the cap of 'maxDeliveries' (${maxDeliveries}): not run again`;

/** Decide the broker action, state and event for one outcome. */
export function decideAck(outcome: Outcome, ctx: DecisionContext): Decision {
  const d = decide(outcome, ctx);
  // The circuit breaker: never requeue past the delivery cap.
  if (d.broker.op === "nak" && ctx.deliveryCount >= ctx.maxDeliveries) {
    const reason = `Delivered ${ctx.deliveryCount} times, the cap of 'maxDeliveries' is ${ctx.maxDeliveries}`;
    const error = d.error ?? { name: "DeliveryCapExceeded", message: reason };
    return { ...d, broker: { op: "term", reason }, state: "FAILURE", event: "job.rejected", error, deadLetter: reason };
  }
  return d;
}

function decide(outcome: Outcome, ctx: DecisionContext): Decision {
  const { policy } = ctx;
  const late = policy.acksLate;
  const settled: BrokerAction = late ? { op: "ack" } : { op: "acked" };
  switch (outcome.kind) {
    case "success":
      return { broker: settled, state: "SUCCESS", event: "job.succeeded" };
    case "error":
      if (outcome.autoretry) {
        return retryOrFail(ctx, { automatic: true, error: outcome.error });
      }
      return failure(ctx, outcome.error);
    case "retry":
      return retryOrFail(ctx, {
        automatic: false,
        countdown: outcome.countdown,
        maxRetries: outcome.maxRetries,
        error: outcome.exc,
      });
    case "reject": {
      const error = { name: "Reject", message: outcome.reason };
      if (outcome.requeue) {
        if (!late) {
          return { broker: settled, state: null, event: "job.requeued", note: "Cannot requeue: the job was acked when it started (early ack)" };
        }
        return { broker: { op: "nak", delayMs: 0 }, state: null, event: "job.requeued" };
      }
      const broker: BrokerAction = late ? { op: "term", reason: outcome.reason } : settled;
      return { broker, state: "FAILURE", event: "job.rejected", error, deadLetter: outcome.reason };
    }
    case "ignore":
      return { broker: settled, state: null, event: "job.ignored" };
    case "worker_lost":
      return workerLost(ctx, outcome.error);
    case "time_limit": {
      if (!late) return { broker: settled, state: "FAILURE", event: "job.failed", error: outcome.error };
      const broker: BrokerAction = policy.acksOnFailureOrTimeout ? { op: "ack" } : { op: "nak", delayMs: 0 };
      return { broker, state: "FAILURE", event: "job.failed", error: outcome.error };
    }
    case "revoked":
      // Revoked: never runs again, whatever its ack mode; acked, not dead-lettered.
      return { broker: late ? { op: "ack" } : settled, state: "REVOKED", event: "job.revoked", note: outcome.reason };
    case "expired":
      // As a revoke: never runs, whatever its ack mode; acked, not dead-lettered.
      return {
        broker: late ? { op: "ack" } : settled,
        state: "REVOKED",
        event: "job.expired",
        reason: EXPIRED_REASON,
        expiresAt: outcome.at,
        note: `expired at ${new Date(outcome.at).toISOString()} before it started`,
      };
    case "invalid":
      return {
        broker: { op: "term", reason: outcome.reason },
        state: "FAILURE",
        event: "job.rejected",
        error: { name: "InvalidJobError", message: outcome.reason },
        deadLetter: outcome.reason,
      };
  }
}

function failure(ctx: DecisionContext, error: SerializedError): Decision {
  const { acksLate, acksOnFailureOrTimeout } = ctx.policy;
  if (!acksLate) return { broker: { op: "acked" }, state: "FAILURE", event: "job.failed", error };
  if (acksOnFailureOrTimeout) return { broker: { op: "ack" }, state: "FAILURE", event: "job.failed", error };
  const reason = `Task failed with ${error.name}: ${error.message}`;
  return { broker: { op: "term", reason }, state: "FAILURE", event: "job.failed", error, deadLetter: reason };
}

function retryOrFail(
  ctx: DecisionContext,
  r: { automatic: boolean; countdown?: number; maxRetries?: number | null; error?: SerializedError },
): Decision {
  const max = r.maxRetries === undefined ? ctx.policy.maxRetries : r.maxRetries;
  if (max !== null && ctx.retries >= max) {
    // Out of retries: the original error is the failure, as in Celery.
    return failure(ctx, r.error ?? MAX_RETRIES_EXCEEDED);
  }
  const countdown = retryCountdown(ctx.retries, {
    policy: ctx.policy,
    explicit: r.countdown,
    automatic: r.automatic,
    random: ctx.random,
  });
  return {
    broker: ctx.policy.acksLate ? { op: "ack" } : { op: "acked" },
    state: "RETRY",
    event: "job.retry_scheduled",
    retry: { countdown, retries: ctx.retries + 1 },
    error: r.error,
  };
}

function workerLost(ctx: DecisionContext, error: SerializedError): Decision {
  const { acksLate, rejectOnWorkerLost, acksOnFailureOrTimeout } = ctx.policy;
  if (!acksLate) return { broker: { op: "acked" }, state: "FAILURE", event: "job.failed", error };
  if (rejectOnWorkerLost) {
    if (ctx.deliveryCount <= 1) return { broker: { op: "nak", delayMs: 0 }, state: null, event: "job.requeued", error };
    const reason = "Web Worker lost twice: the job was already redelivered once";
    return { broker: { op: "term", reason }, state: "FAILURE", event: "job.rejected", error, deadLetter: reason };
  }
  if (acksOnFailureOrTimeout) return { broker: { op: "ack" }, state: "FAILURE", event: "job.failed", error };
  const reason = `Web Worker lost and 'acksOnFailureOrTimeout' is false`;
  return { broker: { op: "term", reason }, state: "FAILURE", event: "job.failed", error, deadLetter: reason };
}
