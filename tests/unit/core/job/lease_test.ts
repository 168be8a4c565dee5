// The lease decision and the stall decision: tables, no NATS, no clock.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { handBackAfterMs, type HeldJob, type LeaseAction, leaseAction } from "../../../../src/core/job/lease.ts";
import { type PoolProgress, type StallState, stallState } from "../../../../src/core/stall.ts";

const ACK_WAIT = 30_000;
const job = (o: Partial<HeldJob>): HeldJob => ({ state: "queued", heldMs: 0, sinceTouchMs: 0, ...o });

describe("leaseAction()", () => {
  const rows: [string, HeldJob, number, LeaseAction][] = [
    ["renews a running job due for renewal, whatever the pool does", job({ state: "running", heldMs: 3_600_000, sinceTouchMs: 10_000 }), 3_600_000, "renew"],
    ["keeps a running job renewed less than a third of the ack wait ago", job({ state: "running", sinceTouchMs: 9_999 }), 0, "keep"],
    ["renews a job being settled (its retry, dead letter or result in flight)", job({ state: "settling", heldMs: 60_000, sinceTouchMs: 10_000 }), 60_000, "renew"],
    ["renews a job its Web Worker finished while its outcome is on the way, however long", job({ state: "finished", heldMs: 600_000, sinceTouchMs: 10_000 }), 600_000, "renew"],
    ["never hands back a finished job whose outcome is on the way (it ran)", job({ state: "finished", heldMs: 600_000, sinceTouchMs: 1 }), 600_000, "keep"],
    ["does nothing for a job that is gone", job({ state: "settled", heldMs: 600_000, sinceTouchMs: 600_000 }), 0, "keep"],
    ["renews a waiting job while the pool makes progress", job({ heldMs: 15_000, sinceTouchMs: 10_000 }), 9_999, "renew"],
    ["lets a waiting job's lease be while the pool makes no progress", job({ heldMs: 15_000, sinceTouchMs: 10_000 }), 10_000, "keep"],
    ["keeps a waiting job not yet due", job({ heldMs: 5_000, sinceTouchMs: 5_000 }), 0, "keep"],
    ["hands back a job that waited two thirds of the ack wait, though the pool progresses", job({ heldMs: 20_000, sinceTouchMs: 10_000 }), 0, "hand_back"],
    ["hands back a job that waited two thirds of the ack wait in a pool that stopped", job({ heldMs: 25_000, sinceTouchMs: 25_000 }), 25_000, "hand_back"],
  ];
  for (const [name, j, sinceProgressMs, want] of rows) {
    it(`leaseAction() ${name}`, () => assert.equal(leaseAction(j, { sinceProgressMs }, ACK_WAIT), want));
  }

  it("handBackAfterMs() is two thirds of the ack wait, at least 1 s", () => {
    assert.equal(handBackAfterMs(30_000), 20_000);
    assert.equal(handBackAfterMs(3_000), 2_000);
    assert.equal(handBackAfterMs(600), 1_000);
  });

  it("leaseAction() renews a waiting job in a stopped pool when its hand-back (at least 1 s) would come after a 1 s lease ran out", () => {
    assert.equal(leaseAction(job({ heldMs: 400, sinceTouchMs: 400 }), { sinceProgressMs: 400 }, 1_000), "renew");
    assert.equal(leaseAction(job({ heldMs: 400, sinceTouchMs: 100 }), { sinceProgressMs: 400 }, 1_000), "keep");
    assert.equal(leaseAction(job({ heldMs: 1_000, sinceTouchMs: 400 }), { sinceProgressMs: 1_000 }, 1_000), "hand_back");
  });

  it("leaseAction(), passed every third of the ack wait over a job waiting in a stopped pool, hands it back with a third of its lease left", () => {
    for (const ackWait of [300, 600, 1_000, 1_400, 1_500, 2_000, 30_000, 300_000]) {
      let touched = 0;
      for (let pass = 1;; pass++) {
        const t = (pass * ackWait) / 3;
        const a = leaseAction(job({ heldMs: t, sinceTouchMs: t - touched }), { sinceProgressMs: t }, ackWait);
        if (a === "renew") touched = t;
        if (a !== "hand_back") continue;
        assert.ok(touched + ackWait - t >= ackWait / 3 - 1e-6, `ack wait ${ackWait}: handed back at ${t} ms, lease renewed at ${touched}`);
        break;
      }
    }
  });

  it("leaseAction() hands a waiting job back before the lease it was given can run out", () => {
    for (const ackWait of [600, 1_000, 2_000, 30_000, 300_000]) {
      const at = handBackAfterMs(ackWait);
      assert.ok(at <= Math.max(1_000, ackWait), `${ackWait}: ${at}`);
      assert.equal(leaseAction(job({ heldMs: at, sinceTouchMs: at }), { sinceProgressMs: at }, ackWait), "hand_back");
    }
  });
});

describe("stallState()", () => {
  const T = 30_000;
  const p = (o: Partial<PoolProgress>): PoolProgress => ({ running: 0, waiting: 3, sinceProgressMs: 0, ...o });
  const rows: [string, PoolProgress, StallState][] = [
    ["an idle pool is not stalled, however long it has been idle", p({ waiting: 0, sinceProgressMs: 10 * T }), "ok"],
    ["a long task running in a live Web Worker is progress", p({ running: 1, sinceProgressMs: 10 * T }), "ok"],
    ["waiting jobs are fine while the pool reported lately", p({ sinceProgressMs: T - 1 }), "ok"],
    ["waiting jobs with nothing running or reporting for the timeout: stalled", p({ sinceProgressMs: T }), "stalled"],
    ["stalled for twice the timeout: beyond recovery", p({ sinceProgressMs: 2 * T }), "fatal"],
    ["every task paused: waiting for a resume is not a stall", p({ paused: true, sinceProgressMs: 10 * T }), "ok"],
    ["not paused: the same pool is beyond recovery", p({ paused: false, sinceProgressMs: 10 * T }), "fatal"],
  ];
  for (const [name, input, want] of rows) {
    it(`stallState(): ${name}`, () => assert.equal(stallState(input, T), want));
  }
});
