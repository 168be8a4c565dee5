/**
 * The table of issue 3 ("Reliability" in the README), cell by cell, against the
 * pure decision `decideAck()`: broker action (+ delay), stored state, event and
 * dead letter. Then the delivery cap and `admitDelivery()`. Autoretry and
 * explicit retries: ack_policy_retry_test.ts.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type AckPolicy,
  admitDelivery,
  decideAck,
  type Decision,
  type Outcome,
} from "../../../../src/core/job/ack_policy.ts";
import type { SerializedError } from "../../../../src/core/types.ts";

import { ctx, plain } from "../../../helpers/ack.ts";

const ERR: SerializedError = { name: "Error", message: "boom" };
const LOST: SerializedError = {
  name: "WorkerLostError",
  message: "Task 't' was running when its Web Worker exited with code 3",
};
const TLE: SerializedError = { name: "TimeLimitExceeded", message: "Task 't' exceeded its time limit" };

const O = {
  success: { kind: "success", value: 42 },
  error: { kind: "error", error: ERR, autoretry: false },
  autoretry: { kind: "error", error: ERR, autoretry: true },
  retry: { kind: "retry", countdown: 10 },
  requeue: { kind: "reject", requeue: true, reason: "not now" },
  reject: { kind: "reject", requeue: false, reason: "bad input" },
  ignore: { kind: "ignore" },
  lost: { kind: "worker_lost", error: LOST },
  timeLimit: { kind: "time_limit", error: TLE },
  invalid: { kind: "invalid", reason: "Unknown task 'nope'" },
  revoked: { kind: "revoked", reason: "revoked before it started" },
  expired: { kind: "expired", at: 1767225602000 },
} satisfies Record<string, Outcome>;

const EARLY_REQUEUE_NOTE = "Cannot requeue: the job was acked when it started (early ack)";
const LOST_TWICE = "Web Worker lost twice: the job was already redelivered once";
const LOST_NO_ACK = "Web Worker lost and 'acksOnFailureOrTimeout' is false";

interface Row {
  cell: string;
  outcome: Outcome;
  policy?: Partial<AckPolicy>;
  deliveryCount?: number;
  expect: Decision;
}

const acked = { op: "acked" } as const;
const ack = { op: "ack" } as const;
const nak = { op: "nak", delayMs: 0 } as const;
const term = (reason: string) => ({ op: "term", reason }) as const;

/** Worker lost: every combination of rejectOnWorkerLost x acksOnFailureOrTimeout x redelivered, per acksLate. */
function workerLostRows(): Row[] {
  const rows: Row[] = [];
  for (const rejectOnWorkerLost of [false, true]) {
    for (const acksOnFailureOrTimeout of [true, false]) {
      for (const deliveryCount of [1, 2]) {
        const opts = `rejectOnWorkerLost=${rejectOnWorkerLost} acksOnFailureOrTimeout=${acksOnFailureOrTimeout}`;
        const when = deliveryCount > 1 ? "redelivered" : "first delivery";
        const early = D(acked, "FAILURE", "job.failed", { error: LOST });
        rows.push({
          cell: `worker lost, acksLate off, ${opts}, ${when}: already acked; FAILURE`,
          outcome: O.lost,
          policy: { rejectOnWorkerLost, acksOnFailureOrTimeout },
          deliveryCount,
          expect: early,
        });
        const expect = rejectOnWorkerLost && deliveryCount === 1
          ? D(nak, null, "job.requeued", { error: LOST })
          : rejectOnWorkerLost
          ? D(term(LOST_TWICE), "FAILURE", "job.rejected", { error: LOST, deadLetter: LOST_TWICE })
          : acksOnFailureOrTimeout
          ? D(ack, "FAILURE", "job.failed", { error: LOST })
          : D(term(LOST_NO_ACK), "FAILURE", "job.failed", { error: LOST, deadLetter: LOST_NO_ACK });
        rows.push({
          cell: `worker lost, acksLate on, ${opts}, ${when}: ${expect.broker.op}; ${expect.state ?? "nothing stored"}`,
          outcome: O.lost,
          policy: { acksLate: true, rejectOnWorkerLost, acksOnFailureOrTimeout },
          deliveryCount,
          expect,
        });
      }
    }
  }
  return rows;
}

const FAILED = "Task failed with Error: boom";
const REJECTED = { name: "Reject", message: "bad input" };
const INVALID = "Unknown task 'nope'";
const late = { acksLate: true };
const lateNoAck = { acksLate: true, acksOnFailureOrTimeout: false };

/** A decision as the table writes it. */
const D = (
  broker: Decision["broker"],
  state: Decision["state"],
  event: Decision["event"],
  extra: Partial<Decision> = {},
) => ({ broker, state, event, ...extra }) as Decision;
const row = (cell: string, outcome: Outcome, policy: Partial<AckPolicy>, expect: Decision): Row => ({
  cell,
  outcome,
  policy,
  expect,
});

const TABLE: Row[] = [
  row("success, acksLate off: acked at accept; SUCCESS", O.success, {}, D(acked, "SUCCESS", "job.succeeded")),
  row("success, acksLate on: ack after the run; SUCCESS", O.success, late, D(ack, "SUCCESS", "job.succeeded")),
  row("error, acksLate off: acked at accept; FAILURE", O.error, {}, D(acked, "FAILURE", "job.failed", { error: ERR })),
  row(
    "error, acksLate off, acksOnFailureOrTimeout=false: still acked at accept; FAILURE",
    O.error,
    { acksOnFailureOrTimeout: false },
    D(acked, "FAILURE", "job.failed", { error: ERR }),
  ),
  row(
    "error, acksLate on, acksOnFailureOrTimeout=true: ack; FAILURE",
    O.error,
    late,
    D(ack, "FAILURE", "job.failed", { error: ERR }),
  ),
  row(
    "error, acksLate on, acksOnFailureOrTimeout=false: term; FAILURE; dead-lettered",
    O.error,
    lateNoAck,
    D(term(FAILED), "FAILURE", "job.failed", { error: ERR, deadLetter: FAILED }),
  ),
  row(
    "Retry, acksLate off: already acked; a new attempt is scheduled",
    O.retry,
    {},
    D(acked, "RETRY", "job.retry_scheduled", { retry: { countdown: 10, retries: 1 } }),
  ),
  row(
    "Retry, acksLate on: new attempt scheduled, then the original acked",
    O.retry,
    late,
    D(ack, "RETRY", "job.retry_scheduled", { retry: { countdown: 10, retries: 1 } }),
  ),
  row(
    "autoretry, acksLate off: already acked; a new attempt after defaultRetryDelay",
    O.autoretry,
    {},
    D(acked, "RETRY", "job.retry_scheduled", { retry: { countdown: 180, retries: 1 }, error: ERR }),
  ),
  row(
    "autoretry, acksLate on: new attempt scheduled, then the original acked",
    O.autoretry,
    late,
    D(ack, "RETRY", "job.retry_scheduled", { retry: { countdown: 180, retries: 1 }, error: ERR }),
  ),
  row(
    "Reject(requeue=true), acksLate off: already acked, nothing to requeue, noted",
    O.requeue,
    {},
    D(acked, null, "job.requeued", { note: EARLY_REQUEUE_NOTE }),
  ),
  row(
    "Reject(requeue=true), acksLate on: nak without delay; nothing stored",
    O.requeue,
    late,
    D(nak, null, "job.requeued"),
  ),
  row(
    "Reject(requeue=false), acksLate off: already acked; FAILURE; dead-lettered",
    O.reject,
    {},
    D(acked, "FAILURE", "job.rejected", { error: REJECTED, deadLetter: "bad input" }),
  ),
  row(
    "Reject(requeue=false), acksLate on: term; FAILURE; dead-lettered",
    O.reject,
    late,
    D(term("bad input"), "FAILURE", "job.rejected", { error: REJECTED, deadLetter: "bad input" }),
  ),
  row("Ignore, acksLate off: acked; nothing stored", O.ignore, {}, D(acked, null, "job.ignored")),
  row("Ignore, acksLate on: ack; nothing stored", O.ignore, late, D(ack, null, "job.ignored")),
  ...workerLostRows(),
  row(
    "time limit, acksLate off: already acked; FAILURE",
    O.timeLimit,
    {},
    D(acked, "FAILURE", "job.failed", { error: TLE }),
  ),
  row(
    "time limit, acksLate off, acksOnFailureOrTimeout=false: already acked; FAILURE",
    O.timeLimit,
    { acksOnFailureOrTimeout: false },
    D(acked, "FAILURE", "job.failed", { error: TLE }),
  ),
  row(
    "time limit, acksLate on, acksOnFailureOrTimeout=true: ack; FAILURE",
    O.timeLimit,
    late,
    D(ack, "FAILURE", "job.failed", { error: TLE }),
  ),
  row(
    "time limit, acksLate on, acksOnFailureOrTimeout=false: nak; FAILURE",
    O.timeLimit,
    lateNoAck,
    D(nak, "FAILURE", "job.failed", { error: TLE }),
  ),
  ...[false, true].map((acksLate) =>
    row(
      `invalid message, acksLate ${acksLate ? "on" : "off"}: term with the reason; dead-lettered; FAILURE stored so its id says why`,
      O.invalid,
      { acksLate },
      D(term(INVALID), "FAILURE", "job.rejected", {
        error: { name: "InvalidJobError", message: INVALID },
        deadLetter: INVALID,
      }),
    )
  ),
  row("revoked, early ack: acked (at once if not yet); REVOKED", O.revoked, {}, D(acked, "REVOKED", "job.revoked", { note: "revoked before it started" })),
  row("revoked, acksLate on: ack, never requeued; REVOKED", O.revoked, late, D(ack, "REVOKED", "job.revoked", { note: "revoked before it started" })),
  ...[false, true].map((acksLate) =>
    row(
      `expired, acksLate ${acksLate ? "on" : "off"}: acked, not dead-lettered; REVOKED with reason 'expired'`,
      O.expired,
      { acksLate },
      D(acksLate ? ack : acked, "REVOKED", "job.expired", {
        reason: "expired",
        expiresAt: 1767225602000,
        note: "expired at 2026-01-01T00:00:02.000Z before it started",
      }),
    )
  ),
];

describe("decideAck(): the table of issue 3, one row per cell", () => {
  for (const row of TABLE) {
    it(`decideAck() ${row.cell}`, () => {
      const d = decideAck(row.outcome, ctx(row.policy, { deliveryCount: row.deliveryCount ?? 1 }));
      assert.deepEqual(plain(d), row.expect);
    });
  }

  it("decideAck() covers every outcome kind with acksLate off and on", () => {
    const kinds = new Set(TABLE.map((r) => `${r.outcome.kind}/${r.policy?.acksLate === true}`));
    for (const kind of ["success", "error", "retry", "reject", "ignore", "worker_lost", "time_limit", "invalid", "revoked", "expired"]) {
      assert.ok(kinds.has(`${kind}/false`) && kinds.has(`${kind}/true`), kind);
    }
  });

  it("decideAck() ignores redelivery and rejectOnWorkerLost for every outcome but a lost worker", () => {
    for (const outcome of Object.values(O).filter((o) => o.kind !== "worker_lost")) {
      for (const acksLate of [false, true]) {
        for (const acksOnFailureOrTimeout of [false, true]) {
          const base = plain(decideAck(outcome, ctx({ acksLate, acksOnFailureOrTimeout })));
          for (const rejectOnWorkerLost of [false, true]) {
            for (const deliveryCount of [1, 2, 4]) {
              const d = decideAck(
                outcome,
                ctx({ acksLate, acksOnFailureOrTimeout, rejectOnWorkerLost }, { deliveryCount }),
              );
              assert.deepEqual(plain(d), base, `${outcome.kind} acksLate=${acksLate} dc=${deliveryCount}`);
            }
          }
        }
      }
    }
  });
});

describe("decideAck(): the delivery cap", () => {
  it("decideAck() naks below maxDeliveries and terms at it", () => {
    assert.deepEqual(decideAck(O.requeue, ctx(late, { deliveryCount: 4, maxDeliveries: 5 })).broker, nak);
    const reason = "Delivered 5 times, the cap of 'maxDeliveries' is 5";
    assert.deepEqual(plain(decideAck(O.requeue, ctx(late, { deliveryCount: 5, maxDeliveries: 5 }))), {
      broker: term(reason),
      state: "FAILURE",
      event: "job.rejected",
      error: { name: "DeliveryCapExceeded", message: reason },
      deadLetter: reason,
    });
  });

  it("decideAck() terms a timed-out job after maxDeliveries instead of requeueing it again", () => {
    const d = decideAck(
      O.timeLimit,
      ctx({ acksLate: true, acksOnFailureOrTimeout: false }, { deliveryCount: 3, maxDeliveries: 3 }),
    );
    const reason = "Delivered 3 times, the cap of 'maxDeliveries' is 3";
    assert.deepEqual(plain(d), {
      broker: term(reason),
      state: "FAILURE",
      event: "job.rejected",
      error: TLE,
      deadLetter: reason,
    });
  });

  it("decideAck() terms a lost worker's first delivery when the cap is 1", () => {
    const d = decideAck(
      O.lost,
      ctx({ acksLate: true, rejectOnWorkerLost: true }, { deliveryCount: 1, maxDeliveries: 1 }),
    );
    assert.equal(d.broker.op, "term");
    assert.equal(d.deadLetter, "Delivered 1 times, the cap of 'maxDeliveries' is 1");
  });

  it("decideAck() leaves acks and terms alone at the cap", () => {
    for (const outcome of [O.success, O.error, O.ignore, O.reject, O.invalid]) {
      for (const acksLate of [false, true]) {
        const below = decideAck(outcome, ctx({ acksLate }, { deliveryCount: 1, maxDeliveries: 5 }));
        const at = decideAck(outcome, ctx({ acksLate }, { deliveryCount: 9, maxDeliveries: 5 }));
        assert.deepEqual(plain(at), plain(below), outcome.kind);
      }
    }
  });

  it("admitDelivery() admits up to maxDeliveries deliveries and refuses the next", () => {
    assert.equal(admitDelivery(1, 5), true);
    assert.equal(admitDelivery(5, 5), true);
    assert.equal(admitDelivery(6, 5), false);
    assert.equal(admitDelivery(2, 1), false);
  });
});
