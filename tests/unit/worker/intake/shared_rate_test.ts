import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SharedRate, type SharedRateOptions } from "../../../../src/worker/intake/shared_rate.ts";
import type { RateCounter } from "../../../../src/client/buckets/rate_counters.ts";

/** A counter kept in memory, as the server keeps it: one total per key. */
function memoryCounter(): RateCounter & { totals: Map<string, number>; claims: number } {
  const totals = new Map<string, number>();
  const c = {
    kind: "counter" as const,
    totals,
    claims: 0,
    claim(key: string, count: number) {
      c.claims++;
      const total = (totals.get(key) ?? 0) + count;
      totals.set(key, total);
      return Promise.resolve(total);
    },
  };
  return c;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

function limiter(counter: RateCounter | (() => Promise<RateCounter>), clock: { now: number }, extra: Partial<SharedRateOptions<string>> = {}) {
  const granted: [string, number][] = [];
  const deferred: [string, number][] = [];
  const errors: unknown[] = [];
  const rate = new SharedRate<string>({
    counter: typeof counter === "function" ? counter : () => Promise.resolve(counter),
    now: () => clock.now,
    claimTimeoutMs: 1_000,
    holdMaxMs: 2_000,
    granted: (h, at) => granted.push([h, at]),
    deferUntil: (h, at) => deferred.push([h, at]),
    local: () => clock.now,
    unreachable: (e) => errors.push(e),
    ...extra,
  });
  return { rate, granted, deferred, errors };
}

describe("SharedRate", () => {
  it("gives processes sharing a counter disjoint tokens, no more than the window holds", async () => {
    const counter = memoryCounter();
    const clock = { now: 10_000 };
    const a = limiter(counter, clock);
    const b = limiter(counter, clock);
    for (let i = 0; i < 15; i++) {
      assert.equal(a.rate.take(`a${i}`, "t", null, 10), null);
      assert.equal(b.rate.take(`b${i}`, "t", null, 10), null);
      await flush();
    }
    await flush();
    const starts = [...a.granted, ...b.granted].map(([, at]) => at);
    assert.equal(starts.length, 10, "10 tokens in a 10/s window, both processes together");
    assert.equal(new Set(starts).size, 10);
    assert.deepEqual([...starts].sort((x, y) => x - y), [10_000, 10_100, 10_200, 10_300, 10_400, 10_500, 10_600, 10_700, 10_800, 10_900]);
    assert.ok(a.granted.length > 0 && b.granted.length > 0, "both got tokens");
    // The other 10 wait for the next window.
    assert.equal(a.rate.drain().length + b.rate.drain().length, 20);
  });

  it("one process alone gets every token of the window, in few round trips", async () => {
    const counter = memoryCounter();
    const clock = { now: 20_000 };
    const a = limiter(counter, clock);
    for (let i = 0; i < 100; i++) a.rate.take(`j${i}`, "t", null, 100);
    for (let i = 0; i < 50; i++) await flush();
    assert.equal(a.granted.length, 100);
    assert.ok(counter.claims <= 100 / 2, `${counter.claims} claims for 100 jobs waiting`);
  });

  it("skips the tokens a window left unused instead of running them late", async () => {
    const counter = memoryCounter();
    const clock = { now: 30_500 }; // half of the 20/s window went by unused
    const a = limiter(counter, clock);
    a.rate.take("j", "t", null, 20);
    for (let i = 0; i < 5; i++) await flush();
    assert.equal(a.granted.length, 1);
    assert.ok(a.granted[0][1] >= 30_400, `token of slot ${a.granted[0][1]} at 30500`);
  });

  it("defers the waiting jobs without a token when the next window is further than it may hold", async () => {
    const counter = memoryCounter();
    const clock = { now: 0 };
    const a = limiter(counter, clock, { holdMaxMs: 100 });
    counter.totals.set("t.0", 1); // the window of "1/3s" holds 1 token: taken by another process
    a.rate.take("j", "t", null, 1 / 3);
    for (let i = 0; i < 5; i++) await flush();
    assert.deepEqual(a.granted, []);
    assert.deepEqual(a.deferred, [["j", 3_000]]);
  });

  it("falls back to the process's own bucket when the counter cannot be reached, and says so once", async () => {
    const clock = { now: 40_000 };
    const a = limiter(() => Promise.reject(new Error("timeout")), clock);
    a.rate.take("j1", "t", null, 10);
    a.rate.take("j2", "t", null, 10);
    for (let i = 0; i < 5; i++) await flush();
    assert.deepEqual(a.granted.map(([h]) => h), ["j1", "j2"]);
    assert.equal(a.errors.length, 1);
  });

  it("cancel() and drain() take jobs out of the queue", () => {
    const a = limiter(memoryCounter(), { now: 0 });
    a.rate.take("j1", "t", null, 10);
    a.rate.take("j2", "t", null, 10);
    assert.equal(a.rate.cancel("j1"), true);
    assert.equal(a.rate.cancel("j1"), false);
    assert.deepEqual(a.rate.drain(), ["j2"]);
  });
});
