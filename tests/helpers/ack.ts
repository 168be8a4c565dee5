/** Shared builders for the tests of the pure ack decision. */
import type { AckPolicy, Decision, DecisionContext } from "../../src/core/job/ack_policy.ts";

/** The task defaults the decision reads, as resolved for a task with no options. */
export const DEFAULTS: AckPolicy = {
  acksLate: false,
  rejectOnWorkerLost: false,
  acksOnFailureOrTimeout: true,
  maxRetries: 3,
  defaultRetryDelay: 180,
  retryBackoff: 0,
  retryBackoffMax: 600,
  retryJitter: true,
};

/** A decision context: first delivery, no retries, cap 5, random 0.5, unless overridden. */
export function ctx(policy: Partial<AckPolicy> = {}, o: Partial<Omit<DecisionContext, "policy">> = {}): DecisionContext {
  return {
    policy: { ...DEFAULTS, ...policy },
    deliveryCount: 1,
    retries: 0,
    maxDeliveries: 5,
    random: () => 0.5,
    ...o,
  };
}

/** The decision as plain data: fields set to undefined are dropped. */
export const plain = (d: Decision): Decision => JSON.parse(JSON.stringify(d));
