import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  claimSize,
  grantedSlots,
  maxClaim,
  rateCounterKey,
  rateKeyToken,
  rateWindow,
  staleBehind,
  tokenStart,
  tokenUsable,
  windowStart,
} from "../../../../src/core/rate/rate_window.ts";

describe("rateWindow()", () => {
  const cases: [number, { windowMs: number; tokens: number; intervalMs: number }][] = [
    [100, { windowMs: 1000, tokens: 100, intervalMs: 10 }],
    [20, { windowMs: 1000, tokens: 20, intervalMs: 50 }],
    [1, { windowMs: 1000, tokens: 1, intervalMs: 1000 }],
    [100 / 60, { windowMs: 1200, tokens: 2, intervalMs: 600 }], // "100/m"
    [1000 / 3600, { windowMs: 3600, tokens: 1, intervalMs: 3600 }], // "1000/h"
    [1 / 3600, { windowMs: 3_600_000, tokens: 1, intervalMs: 3_600_000 }], // "1/h"
    [2.5, { windowMs: 1200, tokens: 3, intervalMs: 400 }],
  ];
  for (const [perSecond, want] of cases) {
    it(`rateWindow(${perSecond.toFixed(4)}) holds ${want.tokens} tokens in ${want.windowMs} ms`, () => {
      assert.deepEqual(rateWindow(perSecond), want);
    });
  }

  it("a window's tokens over its length is the rate, within rounding", () => {
    for (const r of [0.3, 1.7, 7, 33.3, 250, 1000]) {
      const w = rateWindow(r);
      assert.ok(Math.abs(w.tokens / (w.windowMs / 1000) - r) / r < 0.01, `rate ${r}`);
    }
  });
});

describe("windowStart()", () => {
  const w = rateWindow(20);
  const cases: [number, number][] = [[0, 0], [999, 0], [1000, 1000], [12_345, 12_000]];
  for (const [now, want] of cases) {
    it(`windowStart(1 s, ${now}) is ${want}`, () => assert.equal(windowStart(w, now), want));
  }
});

describe("claimSize()", () => {
  const cases: [number, number, number, number][] = [
    // perSecond, waiting, used last window, claim
    [100, 1, 0, 1],
    [100, 3, 0, 3],
    [100, 0, 100, 10], // a busy lone process claims a tenth of the window ahead
    [100, 50, 0, 10], // never more than a tenth of the window
    [100, 1, 25, 3], // one of four busy processes
    [20, 1, 20, 2],
    [1, 5, 1, 1],
    [0.5, 3, 0, 1],
  ];
  for (const [rate, waiting, used, want] of cases) {
    it(`claimSize(${rate}/s, waiting ${waiting}, used ${used}) is ${want}`, () => {
      assert.equal(claimSize(rateWindow(rate), waiting, used), want);
    });
  }
  it("maxClaim() is at least one token", () => assert.equal(maxClaim(rateWindow(0.1)), 1));
});

describe("grantedSlots()", () => {
  const w = rateWindow(20); // 50 ms apart, stale 100 ms after their slot
  const cases: [string, number, number, number, number[]][] = [
    // name, total after the claim, count, now, slots
    ["the first claim of a window gets its first tokens", 2, 2, 10_000, [10_000, 10_050]],
    ["a later claim gets the tokens after the others'", 7, 3, 10_100, [10_200, 10_250, 10_300]],
    ["a claim across the end of the window gets what fits", 21, 3, 10_800, [10_900, 10_950]],
    ["a claim in a full window gets nothing", 25, 2, 10_800, []],
    ["a claim of one gets one", 1, 1, 10_000, [10_000]],
    ["tokens up to 100 ms behind the clock still start", 3, 3, 10_200, [10_100]],
    ["a claim behind the clock gets no stale tokens", 4, 4, 10_500, []],
  ];
  for (const [name, total, count, now, want] of cases) {
    it(`grantedSlots(): ${name}`, () => assert.deepEqual(grantedSlots(w, 10_000, { total, count, now }), want));
  }

  it("processes claiming in turn get disjoint tokens that together are the window's", () => {
    let total = 0;
    const all: number[] = [];
    for (const count of [3, 1, 4, 1, 5, 9, 2, 6]) {
      total += count;
      all.push(...grantedSlots(w, 0, { total, count, now: 0 }));
    }
    assert.equal(all.length, 20);
    assert.equal(new Set(all).size, 20);
  });
});

describe("staleBehind()", () => {
  const w = rateWindow(20);
  const cases: [string, number, number, number][] = [
    // name, total, now (window starts at 0), behind
    ["a counter at the clock is not behind", 10, 500, 0],
    ["a counter ahead of the clock is not behind", 15, 500, 0],
    ["a fresh window at its start is not behind", 0, 0, 0],
    ["an unused half window is 8 tokens behind", 0, 500, 8],
    ["a counter 4 tokens short of the stale edge", 4, 500, 4],
    ["never more than the window's tokens", 0, 5_000, 20],
  ];
  for (const [name, total, now, want] of cases) {
    it(`staleBehind(): ${name}`, () => assert.equal(staleBehind(w, 0, total, now), want));
  }
  it("a catch-up claim of count + behind gets fresh tokens", () => {
    const behind = staleBehind(w, 0, 4, 500);
    assert.deepEqual(grantedSlots(w, 0, { total: 4 + behind + 2, count: behind + 2, now: 500 }), [400, 450]);
  });
});

describe("tokenStart() and tokenUsable()", () => {
  const w = rateWindow(10); // 100 ms apart
  const cases: [string, number, number, number, number][] = [
    ["a future slot waits for its slot", 1_500, 0, 1_000, 1_500],
    ["a past slot starts now", 1_000, 0, 1_200, 1_200],
    ["a past slot waits an interval after the last start", 1_000, 1_150, 1_200, 1_250],
    ["a future slot after a recent start keeps its slot", 1_400, 1_150, 1_200, 1_400],
  ];
  for (const [name, slot, last, now, want] of cases) {
    it(`tokenStart(): ${name}`, () => assert.equal(tokenStart(w, slot, last, now), want));
  }
  it("a token is usable until its window ends", () => {
    assert.equal(tokenUsable(w, 1_000, 1_999), true);
    assert.equal(tokenUsable(w, 1_000, 2_000), false);
  });
});

describe("rateCounterKey()", () => {
  it("names a window's counter by task, then key, then window start", () => {
    assert.equal(rateCounterKey("send_mail", null, 17_000), "send_mail.17000");
    assert.equal(rateCounterKey("send_mail", "acme", 17_000), "send_mail.acme.17000");
  });
  it("encodes names a subject or KV key cannot hold", () => {
    assert.equal(rateKeyToken("a.b"), "b64_YS5i");
    assert.match(rateKeyToken("$task"), /^b64_[-_A-Za-z0-9]+$/);
    assert.match(rateCounterKey("t", "user@example.com/x y", 0), /^t\.b64_[-_A-Za-z0-9]+\.0$/);
  });
});
