/**
 * Autoretry and explicit retries in the pure decision `decideAck()`, with
 * Celery's numbers: maxRetries 3 means 4 runs and the original error is the
 * failure, `null` retries forever, an explicit retry's countdown, maxRetries
 * and exc. (Which errors autoretry, `dontAutoretryFor` winning, is decided in
 * the Web Worker by `matchesError()`: task_test.ts.)
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type AckPolicy, decideAck, type Decision, type Outcome } from "../../../../src/core/job/ack_policy.ts";

import { ctx, plain } from "../../../helpers/ack.ts";
const ERR = { name: "Error", message: "boom" };
const acked = { op: "acked" } as const;
const ack = { op: "ack" } as const;
const term = (reason: string) => ({ op: "term", reason }) as const;

describe("decideAck(): autoretry and explicit retries", () => {
  /** Run a job that fails every time until the decision stops retrying; returns every decision. */
  function runUntilSettled(policy: Partial<AckPolicy>, outcome: (run: number) => Outcome, limit = 100): Decision[] {
    const decisions: Decision[] = [];
    let retries = 0;
    for (let run = 1; run <= limit; run++) {
      const d = decideAck(outcome(run), ctx(policy, { retries }));
      decisions.push(d);
      if (!d.retry) break;
      assert.equal(d.retry.retries, retries + 1, "each retry carries retries one higher");
      retries = d.retry.retries;
    }
    return decisions;
  }
  const failingRun = (run: number): Outcome => ({
    kind: "error",
    error: { name: "TypeError", message: `network down (run ${run})` },
    autoretry: true,
  });

  for (const acksLate of [false, true]) {
    it(`decideAck() with maxRetries 3 runs 4 times and fails with the original error (acksLate ${acksLate ? "on" : "off"})`, () => {
      const ds = runUntilSettled({ acksLate }, failingRun);
      assert.equal(ds.length, 4);
      assert.deepEqual(ds.map((d) => d.state), ["RETRY", "RETRY", "RETRY", "FAILURE"]);
      assert.deepEqual(ds.map((d) => d.event), [
        "job.retry_scheduled",
        "job.retry_scheduled",
        "job.retry_scheduled",
        "job.failed",
      ]);
      assert.deepEqual(ds.map((d) => d.broker.op), Array(4).fill(acksLate ? "ack" : "acked"));
      assert.deepEqual(ds.at(-1)!.error, { name: "TypeError", message: "network down (run 4)" });
      assert.equal(ds.at(-1)!.retry, undefined);
    });
  }

  it("decideAck() out of retries with acksLate and acksOnFailureOrTimeout=false terms and dead-letters the original error", () => {
    const d = decideAck(failingRun(4), ctx({ acksLate: true, acksOnFailureOrTimeout: false }, { retries: 3 }));
    assert.deepEqual(plain(d), {
      broker: term("Task failed with TypeError: network down (run 4)"),
      state: "FAILURE",
      event: "job.failed",
      error: { name: "TypeError", message: "network down (run 4)" },
      deadLetter: "Task failed with TypeError: network down (run 4)",
    });
  });

  it("decideAck() with maxRetries 0 runs once", () => {
    assert.equal(runUntilSettled({ maxRetries: 0 }, failingRun).length, 1);
  });

  it("decideAck() with maxRetries null retries forever", () => {
    assert.equal(runUntilSettled({ maxRetries: null }, failingRun, 500).length, 500);
    const d = decideAck(failingRun(1), ctx({ maxRetries: null }, { retries: 1_000_000 }));
    assert.deepEqual(d.retry, { countdown: 180, retries: 1_000_001 });
  });

  it("decideAck() autoretry uses the exponential backoff when retryBackoff is set", () => {
    const ds = runUntilSettled({ retryBackoff: 1, retryJitter: false }, failingRun);
    assert.deepEqual(ds.slice(0, 3).map((d) => d.retry!.countdown), [1, 2, 4]);
    const jittered = decideAck(failingRun(1), ctx({ retryBackoff: 2 }, { retries: 2, random: () => 0.999 }));
    assert.equal(jittered.retry!.countdown, 8);
  });

  it("decideAck() explicit retry honours its countdown, over the backoff", () => {
    const d = decideAck({ kind: "retry", countdown: 7 }, ctx({ retryBackoff: 1, retryJitter: false }, { retries: 2 }));
    assert.deepEqual(d.retry, { countdown: 7, retries: 3 });
  });

  it("decideAck() explicit retry without countdown waits defaultRetryDelay, never the backoff", () => {
    const d = decideAck({ kind: "retry" }, ctx({ retryBackoff: 1, defaultRetryDelay: 30 }, { retries: 2 }));
    assert.deepEqual(d.retry, { countdown: 30, retries: 3 });
  });

  it("decideAck() explicit retry's maxRetries overrides the task's, both ways", () => {
    const more = decideAck({ kind: "retry", maxRetries: 5 }, ctx({ maxRetries: 3 }, { retries: 3 }));
    assert.equal(more.state, "RETRY");
    const forever = decideAck({ kind: "retry", maxRetries: null }, ctx({ maxRetries: 0 }, { retries: 50 }));
    assert.equal(forever.state, "RETRY");
    const fewer = decideAck({ kind: "retry", maxRetries: 1 }, ctx({ maxRetries: 3 }, { retries: 1 }));
    assert.equal(fewer.state, "FAILURE");
  });

  it("decideAck() explicit retry out of retries fails with its exc", () => {
    const exc = { name: "SyntaxError", message: "gave up" };
    const d = decideAck({ kind: "retry", maxRetries: 1, exc }, ctx({}, { retries: 1 }));
    assert.deepEqual(plain(d), { broker: acked, state: "FAILURE", event: "job.failed", error: exc });
  });

  it("decideAck() explicit retry out of retries without exc fails with MaxRetriesExceededError", () => {
    const d = decideAck({ kind: "retry", maxRetries: 1 }, ctx({ acksLate: true }, { retries: 1 }));
    assert.deepEqual(plain(d), {
      broker: ack,
      state: "FAILURE",
      event: "job.failed",
      error: { name: "MaxRetriesExceededError", message: "Can't retry: no retries left" },
    });
  });

  it("decideAck() explicit retry reports its exc while retrying", () => {
    const exc = { name: "SyntaxError", message: "later" };
    const d = decideAck({ kind: "retry", countdown: 1, exc }, ctx());
    assert.deepEqual(d.error, exc);
  });

  it("decideAck() an error that is not autoretried fails at once, even with retries left", () => {
    const d = decideAck({ kind: "error", error: ERR, autoretry: false }, ctx({ maxRetries: null }));
    assert.equal(d.state, "FAILURE");
    assert.equal(d.retry, undefined);
  });
});
