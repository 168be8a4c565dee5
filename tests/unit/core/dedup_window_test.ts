// The stream's duplicate window must outlast what qw republishes with an id
// while it holds a job (twice the ack wait), and the clock skew between hosts
// when this process fires schedules.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dedupWindowShortfall } from "../../../src/core/dedup_window.ts";

describe("dedupWindowShortfall()", () => {
  const rows: [string, number, number, string[], number | null, number][] = [
    // name, window ms, ack wait ms, schedules, needed seconds (null: fine), reasons
    ["the defaults are fine (120 s, 30 s)", 120_000, 30_000, [], null, 0],
    ["exactly twice the ack wait is fine", 60_000, 30_000, ["ping@0"], null, 0],
    ["shorter than twice the ack wait", 59_000, 30_000, [], 60, 1],
    ["a long ack wait on the default window", 120_000, 90_000, [], 180, 1],
    ["schedules alone: shorter than the clock-skew allowance", 5_000, 2_000, ["ping@0"], 10, 1],
    ["both, the larger wins", 5_000, 30_000, ["ping@0", "nightly@0"], 60, 2],
    ["no schedules: the allowance does not matter", 5_000, 2_000, [], null, 0],
  ];
  for (const [name, windowMs, ackWaitMs, schedules, needed, reasons] of rows) {
    it(name, () => {
      const r = dedupWindowShortfall(windowMs, { ackWaitMs, schedules });
      assert.equal(r?.neededSeconds ?? null, needed);
      assert.equal(r?.reasons.length ?? 0, reasons);
      if (r) assert.equal(r.windowSeconds, windowMs / 1000);
    });
  }

  it("names the schedules and the ack wait", () => {
    const r = dedupWindowShortfall(1_000, { ackWaitMs: 30_000, schedules: ["ping@0"] });
    assert.match(r!.reasons[0], /ack wait of 30 s/);
    assert.match(r!.reasons[1], /ping@0/);
  });
});
