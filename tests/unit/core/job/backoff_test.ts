/**
 * Celery's retry delays: `get_exponential_backoff_interval` and the countdown
 * choice (explicit countdown > backoff > defaultRetryDelay), with an injected
 * random source.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type CountdownPolicy, exponentialBackoff, retryCountdown } from "../../../../src/core/job/backoff.ts";

const never = (): number => {
  throw new Error("random must not be drawn without jitter");
};
const backoff = (
  retries: number,
  factor: number,
  o: { maximum?: number; jitter?: boolean; random?: () => number } = {},
) =>
  exponentialBackoff(retries, {
    factor,
    maximum: o.maximum ?? 600,
    jitter: o.jitter ?? false,
    random: o.random ?? never,
  });

describe("exponentialBackoff()", () => {
  it("exponentialBackoff() with retryBackoff true (factor 1) gives Celery's 1, 2, 4, 8", () => {
    assert.deepEqual([0, 1, 2, 3].map((r) => backoff(r, 1)), [1, 2, 4, 8]);
  });

  it("exponentialBackoff() with factor 2 gives Celery's 2, 4, 8, 16", () => {
    assert.deepEqual([0, 1, 2, 3].map((r) => backoff(r, 2)), [2, 4, 8, 16]);
  });

  it("exponentialBackoff() caps at retryBackoffMax", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((r) => backoff(r, 1, { maximum: 5 })), [1, 2, 4, 5, 5, 5]);
    assert.equal(backoff(9, 1), 512);
    assert.equal(backoff(10, 1), 600, "the default retryBackoffMax is 600");
    assert.equal(backoff(60, 3), 600);
  });

  it("exponentialBackoff() with jitter draws 0 when random gives 0", () => {
    for (const r of [0, 1, 2, 3, 12]) assert.equal(backoff(r, 1, { jitter: true, random: () => 0 }), 0);
  });

  it("exponentialBackoff() with jitter draws the maximum when random gives 0.999", () => {
    assert.deepEqual([0, 1, 2, 3].map((r) => backoff(r, 1, { jitter: true, random: () => 0.999 })), [1, 2, 4, 8]);
    assert.deepEqual([0, 1, 2, 3].map((r) => backoff(r, 2, { jitter: true, random: () => 0.999 })), [2, 4, 8, 16]);
    assert.equal(backoff(12, 1, { jitter: true, random: () => 0.999 }), 600);
    assert.equal(backoff(12, 1, { maximum: 5, jitter: true, random: () => 0.999 }), 5);
  });

  it("exponentialBackoff() with jitter gives a whole number in [0, n], every one of them", () => {
    for (
      const [retries, factor, maximum] of [[0, 1, 600], [3, 1, 600], [2, 2, 600], [5, 1, 20], [0, 0.5, 600], [
        2,
        1.5,
        600,
      ]]
    ) {
      const n = Math.min(maximum, factor * 2 ** retries);
      const seen = new Map<number, number>();
      const steps = 1000;
      for (let i = 0; i < steps; i++) {
        const v = backoff(retries, factor, { maximum, jitter: true, random: () => i / steps });
        assert.ok(Number.isInteger(v) && v >= 0 && v <= n, `${v} in [0, ${n}]`);
        seen.set(v, (seen.get(v) ?? 0) + 1);
      }
      const whole = Math.floor(n);
      assert.equal(seen.size, whole + 1, `every whole number in [0, ${whole}] is drawn`);
      for (const count of seen.values()) assert.ok(Math.abs(count - steps / (whole + 1)) <= 1, "uniformly");
    }
  });
});

describe("retryCountdown()", () => {
  const policy: CountdownPolicy = { defaultRetryDelay: 180, retryBackoff: 0, retryBackoffMax: 600, retryJitter: true };

  it("retryCountdown() waits the default 180 s when there is no backoff", () => {
    for (const automatic of [true, false]) {
      assert.equal(retryCountdown(0, { policy, automatic, random: never }), 180);
      assert.equal(retryCountdown(7, { policy, automatic, random: never }), 180);
    }
    assert.equal(
      retryCountdown(0, { policy: { ...policy, defaultRetryDelay: 0.5 }, automatic: true, random: never }),
      0.5,
    );
  });

  it("retryCountdown() backs off exponentially for autoretry, with the injected random", () => {
    const p = { ...policy, retryBackoff: 1, retryJitter: false };
    assert.deepEqual([0, 1, 2, 3].map((r) => retryCountdown(r, { policy: p, automatic: true, random: never })), [
      1,
      2,
      4,
      8,
    ]);
    const jittered = { ...p, retryJitter: true };
    assert.equal(retryCountdown(3, { policy: jittered, automatic: true, random: () => 0 }), 0);
    assert.equal(retryCountdown(3, { policy: jittered, automatic: true, random: () => 0.999 }), 8);
    assert.equal(retryCountdown(3, { policy: jittered, automatic: true, random: () => 0.5 }), 4);
  });

  it("retryCountdown() ignores the backoff for an explicit retry", () => {
    const p = { ...policy, retryBackoff: 2 };
    assert.equal(retryCountdown(3, { policy: p, automatic: false, random: never }), 180);
  });

  it("retryCountdown() lets an explicit countdown win", () => {
    const p = { ...policy, retryBackoff: 1 };
    for (const automatic of [true, false]) {
      assert.equal(retryCountdown(5, { policy: p, explicit: 7, automatic, random: never }), 7);
      assert.equal(retryCountdown(5, { policy: p, explicit: 0, automatic, random: never }), 0);
      assert.equal(retryCountdown(5, { policy: p, explicit: 0.25, automatic, random: never }), 0.25);
      assert.equal(retryCountdown(5, { policy: p, explicit: -3, automatic, random: never }), 0, "never negative");
    }
  });
});
