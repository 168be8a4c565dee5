// The work consumer is shared by every qw process: a worker start never
// changes an existing one's ack wait (it uses the consumer's), `qw init` does.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ackWaitPlan, workStreamFlags } from "../../../src/client/topology.ts";
import { serverFeatures } from "../../../src/core/server_features.ts";

const S = 1e9;

describe("ackWaitPlan()", () => {
  const cases: [string, number | null, number, boolean, ReturnType<typeof ackWaitPlan>][] = [
    ["creates with the requested one", null, 10 * S, false, { use: 10 * S, update: false, differs: false }],
    ["creates with the requested one (init)", null, 10 * S, true, { use: 10 * S, update: false, differs: false }],
    ["keeps an equal one", 60 * S, 60 * S, false, { use: 60 * S, update: false, differs: false }],
    ["a worker start keeps the consumer's and says it differs", 60 * S, 10 * S, false, { use: 60 * S, update: false, differs: true }],
    ["a worker start keeps a shorter one too", 10 * S, 60 * S, false, { use: 10 * S, update: false, differs: true }],
    ["qw init changes it", 60 * S, 10 * S, true, { use: 10 * S, update: true, differs: false }],
  ];
  for (const [name, current, requested, set, want] of cases) {
    it(name, () => assert.deepEqual(ackWaitPlan(current, requested, { set }), want));
  }
});

describe("workStreamFlags()", () => {
  const all = { allow_msg_ttl: true, allow_msg_schedules: true, allow_atomic: true };
  const cases: [string, object][] = [["2.9.10", {}], ["2.10.7", {}], ["2.11.4", { allow_msg_ttl: true }], ["2.12.0", all], ["2.15.3", all]];
  for (const [version, want] of cases) {
    it(`workStreamFlags() for a new stream on ${version} is ${JSON.stringify(want)}`, () => {
      assert.deepEqual(workStreamFlags(serverFeatures(version)), want);
    });
  }
});
