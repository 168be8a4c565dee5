// The flow and schedule part of the network-fault checker
// (scripts/net/checker_flows.ts) on small hand-made histories.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkFlows, checkTicks, type TickRange, tickTime } from "../../scripts/net/checker_flows.ts";
import { check } from "../../scripts/net/checker.ts";
import type { FaultSpan } from "../../scripts/net/checker.ts";
import type { Execution } from "../../scripts/_harness.ts";

const ex = (kind: string, id: string, at: number, pid = 100, delivery = 1): Execution => ({ kind, id, delivery, pid, worker: "w", at });
const ran = (id: string, at: number, pid = 100, delivery = 1) => [ex("S", id, at, pid, delivery), ex("E", id, at + 5, pid, delivery)];
const T0 = Date.parse("2026-12-07T01:00:00.000Z");
const tick = (ms: number) => `tick@0@${new Date(ms).toISOString()}`;
const range: TickRange = { task: "tick", from: T0, to: T0 + 9_000, everyMs: 1_000, graceMs: 5_000 };
const everyTick = (skip: number[] = []) =>
  Array.from({ length: 10 }, (_, i) => i).filter((i) => !skip.includes(i)).flatMap((i) => ran(tick(T0 + i * 1_000), T0 + i * 1_000 + 20));
const qwFault: FaultSpan = { name: "cut", from: T0 + 2_000, to: T0 + 4_000, victims: [100] };
const serverFault: FaultSpan = { name: "kill", from: T0 + 2_000, to: T0 + 4_000, victims: [] };

describe("checkFlows()", () => {
  it("passes flows that ended right with each chord body enqueued once", () => {
    const r = checkFlows([{ id: "f0", state: "SUCCESS", right: true }, { id: "f1", state: "SUCCESS", right: true }], [...ran("f0.0.0", 1), ...ran("f0.0.body", 2)]);
    assert.deepEqual(r.violations, []);
    assert.equal(r.flowsDone, 2);
  });

  it("fails a stalled flow, a failed one and a wrong result", () => {
    const r = checkFlows([{ id: "f0", state: null, right: false }, { id: "f1", state: "FAILURE", right: false }, { id: "f2", state: "SUCCESS", right: false }], []);
    assert.equal(r.flowsStalled, 1);
    assert.equal(r.flowsWrong, 1);
    assert.match(r.violations.join(";"), /1 flows stalled, e\.g\. f0;1 flows failed, e\.g\. f1;1 flows with a wrong result, e\.g\. f2/);
  });

  it("fails a chord body that started twice as a first delivery, and counts a redelivered one apart", () => {
    const flows = [{ id: "f0", state: "SUCCESS", right: true }, { id: "f2", state: "SUCCESS", right: true }];
    const r = checkFlows(flows, [...ran("f0.0.body", 1), ...ran("f0.0.body", 9, 200), ...ran("f2.0.body", 1), ...ran("f2.0.body", 9, 200, 2)]);
    assert.equal(r.bodiesTwice, 1);
    assert.equal(r.bodiesRedelivered, 1);
    assert.match(r.violations.join(";"), /1 chord bodies enqueued twice, e\.g\. f0\.0\.body/);
  });
});

describe("checkTicks()", () => {
  it("reads a tick's time from its job id", () => {
    assert.equal(tickTime(tick(T0), "tick"), T0);
    assert.equal(tickTime("j1", "tick"), null);
    assert.equal(tickTime(`other@0@${new Date(T0).toISOString()}`, "tick"), null);
  });

  it("passes one run per tick", () => {
    const r = checkTicks(range, everyTick(), [qwFault]);
    assert.deepEqual(r.violations, []);
    assert.equal(r.ticks, 10);
    assert.equal(r.ticksRun, 10);
  });

  it("fails a tick missed while one qw process was cut off: the others fire it", () => {
    const r = checkTicks(range, everyTick([3]), [qwFault]);
    assert.equal(r.ticksMissed, 1);
    assert.match(r.violations.join(";"), /1 schedule ticks missed outside a server fault, e\.g\. 2026-12-07T01:00:03\.000Z/);
  });

  it("excuses ticks missed during a server fault and its grace after the heal, not later", () => {
    const inside = checkTicks(range, everyTick([2, 3, 8]), [serverFault]);
    assert.equal(inside.ticksExcused, 3);
    assert.deepEqual(inside.violations, []);
    const after = checkTicks({ ...range, graceMs: 1_000 }, everyTick([8]), [serverFault]);
    assert.equal(after.ticksMissed, 1);
  });

  it("fails a tick published twice, and not one redelivered", () => {
    const twice = checkTicks(range, [...everyTick(), ...ran(tick(T0 + 5_000), T0 + 5_100, 200)], []);
    assert.equal(twice.ticksDoubled, 1);
    const redelivered = checkTicks(range, [...everyTick(), ...ran(tick(T0 + 5_000), T0 + 11_000, 200, 2)], []);
    assert.equal(redelivered.ticksDoubled, 0);
    assert.deepEqual(redelivered.violations, []);
  });
});

describe("check() with flows and ticks", () => {
  it("adds their figures and broken promises to the run's report", () => {
    const r = check({
      published: [{ id: "a", mode: "late" }],
      execs: [...ran("a", T0), ...everyTick([4])],
      deadIds: [],
      faults: [qwFault],
      ackWaitMs: 5_000,
      final: { messages: 0, pending: 0, ackPending: 0 },
      drainedAt: T0 + 10_000,
      qwExits: [],
      flows: [{ id: "f0", state: null, right: false }],
      ticks: range,
      refused: 7,
    });
    assert.equal(r.flowsStalled, 1);
    assert.equal(r.ticksMissed, 1);
    assert.equal(r.refused, 7);
    assert.equal(r.violations.length, 2);
  });
});

describe("checkTicks() after a server fault", () => {
  it("excuses ticks until the stream accepted the harness's publishes again, when that came after the grace", () => {
    const late = { ...serverFault, refusedUntil: T0 + 8_000 };
    const r = checkTicks({ ...range, graceMs: 1_000 }, everyTick([2, 3, 4, 5, 6, 7, 8]), [late]);
    assert.equal(r.ticksExcused, 7);
    assert.deepEqual(r.violations, []);
    const qwOnly = checkTicks(range, everyTick([8]), [{ ...qwFault, refusedUntil: T0 + 9_000 }]);
    assert.equal(qwOnly.ticksMissed, 1);
  });

  it("a split healed at 2 s whose probe was last refused at 6.5 s: ticks to 7 s excused, a tick at 8 s missed", () => {
    // split-leader: a server fault (no qw victim); the cluster refused the probe 4.5 s after the heal.
    const split: FaultSpan = { name: "split-leader", from: T0 + 1_000, to: T0 + 2_000, victims: [], refusedUntil: T0 + 6_500 };
    const short = { ...range, graceMs: 1_000 }; // the grace alone ends at 3 s
    const r = checkTicks(short, everyTick([1, 2, 3, 4, 5, 6, 7]), [split]);
    assert.equal(r.ticksExcused, 7);
    assert.deepEqual(r.violations, []);
    const late = checkTicks(short, everyTick([8]), [split]);
    assert.equal(late.ticksMissed, 1);
  });
});
