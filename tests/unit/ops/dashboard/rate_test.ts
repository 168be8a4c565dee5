/** Jobs per second from samples of the work stream's state. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RateHistory } from "../../../../src/ops/dashboard/rate.ts";

describe("RateHistory", () => {
  test("rates between samples: stored per second and left the stream per second", () => {
    const r = new RateHistory();
    r.add({ at: 10_000, lastSeq: 100, messages: 10 });
    r.add({ at: 11_000, lastSeq: 150, messages: 40 }); // 50 stored, 20 left
    r.add({ at: 13_000, lastSeq: 160, messages: 0 }); // 10 stored, 50 left, over 2 s
    assert.deepEqual(r.points(), { t: [11, 13], enqueued: [50, 5], acked: [20, 25] });
  });

  test("a purge or a recreated stream gives 0, never a negative rate; samples out of order are ignored", () => {
    const r = new RateHistory();
    r.add({ at: 1000, lastSeq: 100, messages: 50 });
    r.add({ at: 500, lastSeq: 1, messages: 1 });
    r.add({ at: 2000, lastSeq: 3, messages: 3 });
    assert.deepEqual(r.points(), { t: [2], enqueued: [0], acked: [0] });
  });

  test("keeps the last N samples", () => {
    const r = new RateHistory(3);
    for (let i = 1; i <= 10; i++) r.add({ at: i * 1000, lastSeq: i, messages: 0 });
    assert.deepEqual(r.points().t, [9, 10]);
  });
});
