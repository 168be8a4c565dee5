import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FEATURE_SINCE, serverFeatures, versionAtLeast } from "../../../src/core/server_features.ts";

describe("versionAtLeast()", () => {
  const cases: [string | undefined, number, number, boolean][] = [
    ["2.9.10", 2, 10, false],
    ["2.10.0", 2, 10, true],
    ["v2.11.0-beta.1", 2, 11, true],
    ["2.15.3", 2, 12, true],
    ["3.0.0", 2, 99, true],
    ["1.99.0", 2, 0, false],
    ["", 2, 0, false],
    [undefined, 2, 0, false],
    ["garbage", 0, 0, false],
  ];
  for (const [version, major, minor, want] of cases) {
    it(`versionAtLeast(${JSON.stringify(version)}, ${major}, ${minor}) is ${want}`, () => {
      assert.equal(versionAtLeast(version, major, minor), want);
    });
  }
});

describe("serverFeatures()", () => {
  it("serverFeatures() gives the oldest supported server (2.9.10) nothing newer", () => {
    assert.ok(Object.values(serverFeatures("2.9.10")).every((v) => v === false));
  });
  it("serverFeatures() gives 2.11 TTLs and pause but no batches or schedules", () => {
    const f = serverFeatures("2.11.4");
    assert.deepEqual(
      [f.termReason, f.messageTtl, f.kvKeyTtl, f.consumerPause, f.atomicBatch, f.scheduleAt, f.scheduleRepeat],
      [true, true, true, true, false, false, false],
    );
  });
  it("serverFeatures() gives 2.12 one-shot schedules but not repeating ones", () => {
    const f = serverFeatures("2.12.1");
    assert.equal(f.scheduleAt, true);
    assert.equal(f.atomicBatch, true);
    assert.equal(f.scheduleRepeat, false);
    assert.equal(f.inactiveKeepsPending, true);
    assert.equal(serverFeatures("2.11.9").inactiveKeepsPending, false);
  });
  it("serverFeatures() gives the newest tested server (2.15.3) everything in the table", () => {
    const f = serverFeatures("2.15.3");
    assert.deepEqual(Object.keys(f).sort(), Object.keys(FEATURE_SINCE).sort());
    assert.ok(Object.values(f).every((v) => v === true));
  });
  it("serverFeatures() assumes nothing of a server whose version it cannot read", () => {
    assert.ok(Object.values(serverFeatures(undefined)).every((v) => v === false));
  });
});
