/**
 * Job expiry as data: the expiry a producer writes, the one a worker reads
 * (header, else the task's option from the time the server stored the job),
 * when it counts as expired, when a delayed job is released, and the server's
 * per-message TTL, which lags the expiry by a grace period.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  EXPIRY_TTL_GRACE_S,
  expiryOf,
  isExpired,
  jobExpiry,
  messageTtlSeconds,
  parseExpiresHeader,
  releaseAt,
} from "../../../../src/core/job/expiry.ts";

const NOW = 1_767_225_600_000;

describe("expiryOf()", () => {
  const ok: [string, number | Date, number][] = [
    ["2 seconds", 2, NOW + 2000],
    ["a fraction of a second, rounded to the millisecond", 0.0015, NOW + 2],
    ["a Date, as it is", new Date(NOW + 60_000), NOW + 60_000],
    ["a Date in the past, as it is (the job is recorded expired)", new Date(NOW - 1), NOW - 1],
  ];
  for (const [name, expires, want] of ok) {
    it(`expiryOf() takes ${name}`, () => assert.equal(expiryOf("enqueue job", expires, NOW), want));
  }
  const bad: [string, unknown, typeof TypeError, RegExp][] = [
    ["zero seconds", 0, RangeError, /'expires' must be > 0 seconds: current value is "0"/],
    ["negative seconds", -5, RangeError, /current value is "-5"/],
    ["Infinity", Infinity, RangeError, /current value is "Infinity"/],
    ["NaN", NaN, TypeError, /must be seconds \(a number > 0\) or a Date: current value is "NaN"/],
    ["a string", "10", TypeError, /current value is "10"/],
    ["an invalid Date", new Date("nope"), TypeError, /must be a valid Date/],
  ];
  for (const [name, expires, Kind, message] of bad) {
    it(`expiryOf() refuses ${name} with a one-line ${Kind.name}`, () => {
      assert.throws(() => expiryOf("enqueue job", expires as number, NOW), (e: Error) => {
        assert.ok(e instanceof Kind, `${e.name}: ${e.message}`);
        assert.match(e.message, /^Cannot enqueue job as /);
        assert.match(e.message, message);
        assert.ok(!e.message.includes("\n"));
        return true;
      });
    });
  }
});

describe("parseExpiresHeader()", () => {
  const cases: [string | null, number | null, boolean][] = [
    [null, null, false],
    ["", null, false],
    ["1767225602000", 1767225602000, false],
    ["0", 0, false],
    ["-1", null, true],
    ["1.5", null, true],
    ["soon", null, true],
    ["99999999999999999999", null, true],
  ];
  for (const [value, at, invalid] of cases) {
    it(`parseExpiresHeader(${JSON.stringify(value)}) is ${invalid ? "invalid" : at}`, () => {
      const r = parseExpiresHeader(value);
      assert.equal(r.at, at);
      assert.equal(r.invalid !== null, invalid);
      if (invalid) assert.match(r.invalid!, /^Header 'Qw-Expires' must be epoch milliseconds/);
    });
  }
});

describe("jobExpiry() and isExpired()", () => {
  const rows: [string, number | null, number | null, number | null][] = [
    ["no header and no task option: never expires", null, null, null],
    ["the header wins over the task's option", NOW + 5000, 60, NOW + 5000],
    ["without a header, the task's seconds count from when the server stored the job", null, 2, NOW + 2000],
    ["a task option of 0 gives none", null, 0, null],
  ];
  for (const [name, header, task, want] of rows) {
    it(`jobExpiry(): ${name}`, () => assert.equal(jobExpiry(header, task, NOW), want));
  }

  const table: [string, number | null, number, boolean][] = [
    ["no expiry never expires", null, NOW + 1e12, false],
    ["a millisecond before the expiry it may start", NOW, NOW - 1, false],
    ["at the expiry it may not", NOW, NOW, true],
    ["after the expiry it may not", NOW, NOW + 3000, true],
  ];
  for (const [name, at, now, want] of table) {
    it(`isExpired(): ${name}`, () => assert.equal(isExpired(at, now), want));
  }
});

describe("releaseAt()", () => {
  const rows: [string, number | null, number | null, number | null][] = [
    ["no expiry: at its eta", NOW + 10_000, null, NOW + 10_000],
    ["an expiry after the eta: at its eta", NOW + 10_000, NOW + 60_000, NOW + 10_000],
    ["an expiry before the eta: at the expiry, to be recorded expired then", NOW + 60_000, NOW + 2000, NOW + 2000],
    ["no eta: now", null, NOW + 2000, null],
  ];
  for (const [name, eta, expires, want] of rows) {
    it(`releaseAt(): ${name}`, () => assert.equal(releaseAt(eta, expires), want));
  }
});

describe("messageTtlSeconds()", () => {
  it("messageTtlSeconds() is the time left, rounded up, plus the grace", () => {
    assert.equal(messageTtlSeconds(NOW + 2000, NOW), 2 + EXPIRY_TTL_GRACE_S);
    assert.equal(messageTtlSeconds(NOW + 1001, NOW, 60), 62);
  });
  it("messageTtlSeconds() of an expiry already past is the grace alone, at least 1 s", () => {
    assert.equal(messageTtlSeconds(NOW - 5000, NOW, 60), 60);
    assert.equal(messageTtlSeconds(NOW - 5000, NOW, 0), 1);
  });
  it("the grace is long enough for a worker started seconds later to record the job expired", () => {
    assert.ok(messageTtlSeconds(NOW + 2000, NOW) * 1000 > 2000 + 3000 + 60_000);
  });
});
