import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  batchHeaders,
  batchSequences,
  fanoutMode,
  MAX_ATOMIC_BATCH,
  splitBatches,
} from "../../../../src/core/job/atomic_batch.ts";

describe("splitBatches()", () => {
  const cases: [number, number, [number, number][]][] = [
    [0, 1000, []],
    [1, 1000, [[0, 1]]],
    [1000, 1000, [[0, 1000]]],
    [1001, 1000, [[0, 1000], [1000, 1001]]],
    [2500, 1000, [[0, 1000], [1000, 2000], [2000, 2500]]],
    [5, 2, [[0, 2], [2, 4], [4, 5]]],
  ];
  for (const [count, max, want] of cases) {
    it(`splitBatches(${count}, ${max}) gives ${want.length} batches`, () => {
      assert.deepEqual(splitBatches(count, max), want);
    });
  }
  it("splitBatches() never makes a batch larger than the server's default of 1,000", () => {
    for (const n of [999, 1000, 1001, 4321]) {
      const batches = splitBatches(n);
      assert.ok(batches.every(([s, e]) => e - s <= MAX_ATOMIC_BATCH && e > s));
      assert.equal(batches.reduce((sum, [s, e]) => sum + e - s, 0), n);
    }
  });
  it("splitBatches() rejects a negative count or a max below 1", () => {
    assert.throws(() => splitBatches(-1), RangeError);
    assert.throws(() => splitBatches(3, 0), RangeError);
  });
});

describe("batchHeaders()", () => {
  it("batchHeaders() numbers members from 1 and commits only the last", () => {
    assert.deepEqual(batchHeaders("b", 0, 3), [["Nats-Batch-Id", "b"], ["Nats-Batch-Sequence", "1"]]);
    assert.deepEqual(batchHeaders("b", 1, 3), [["Nats-Batch-Id", "b"], ["Nats-Batch-Sequence", "2"]]);
    assert.deepEqual(batchHeaders("b", 2, 3), [
      ["Nats-Batch-Id", "b"],
      ["Nats-Batch-Sequence", "3"],
      ["Nats-Batch-Commit", "1"],
    ]);
  });
});

describe("batchSequences()", () => {
  it("batchSequences() counts back from the commit's sequence", () => {
    assert.deepEqual(batchSequences(10, 3), [8, 9, 10]);
    assert.deepEqual(batchSequences(1, 1), [1]);
  });
});

describe("fanoutMode()", () => {
  const cases: [boolean, boolean | undefined, number, string][] = [
    [true, true, 2, "atomic"],
    [true, true, 1, "one_by_one"],
    [true, false, 10, "one_by_one"],
    [true, undefined, 10, "one_by_one"],
    [false, true, 10, "one_by_one"],
    [false, undefined, 10, "one_by_one"],
  ];
  for (const [atomicBatch, allowAtomic, count, want] of cases) {
    it(`fanoutMode() is ${want} for a server with atomicBatch ${atomicBatch}, allow_atomic ${allowAtomic}, ${count} jobs`, () => {
      assert.equal(fanoutMode({ atomicBatch, allowAtomic, count }), want);
    });
  }
});
