// The network-fault checker (scripts/net/checker.ts) on small hand-made
// histories: clean runs pass, and each broken promise is named.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { check, type History, unconfirmedOf } from "../../scripts/net/checker.ts";
import type { Execution } from "../../scripts/_harness.ts";

const ex = (kind: string, id: string, at: number, pid = 100, delivery = 1): Execution => ({
  kind,
  id,
  delivery,
  pid,
  worker: "w",
  at,
});
const ran = (id: string, at: number, pid = 100, delivery = 1) => [ex("S", id, at, pid, delivery), ex("E", id, at + 5, pid, delivery)];

function history(over: Partial<History> = {}): History {
  return {
    published: [{ id: "a", mode: "late" }, { id: "b", mode: "late" }, { id: "c", mode: "early" }],
    execs: [...ran("a", 1_000), ...ran("b", 1_100), ...ran("c", 1_200)],
    deadIds: [],
    faults: [{ name: "cut", from: 10_000, to: 20_000, victims: [100] }],
    ackWaitMs: 5_000,
    final: { messages: 0, pending: 0, ackPending: 0 },
    drainedAt: 25_000,
    qwExits: [],
    ...over,
  };
}

describe("check()", () => {
  it("passes a clean history and measures the recovery after the heal", () => {
    const h = history({ execs: [...ran("a", 1_000), ...ran("b", 21_000, 200), ...ran("c", 22_000)] });
    const r = check(h);
    assert.deepEqual(r.violations, []);
    assert.equal(r.done, 3);
    assert.equal(r.lost, 0);
    // The victim (pid 100) finished its first run 2.005 s after the heal, whoever ran before.
    assert.equal(r.recoverSeconds, 2.005);
    assert.equal(r.drainSeconds, 5);
  });

  it("fails a run that lost an acksLate job", () => {
    const r = check(history({ execs: [...ran("a", 1_000), ex("S", "b", 1_100), ...ran("c", 1_200)] }));
    assert.equal(r.lost, 1);
    assert.match(r.violations.join(";"), /lost 1 acksLate jobs, e\.g\. b/);
  });

  it("counts a dead-lettered job as settled, not lost", () => {
    const r = check(history({ execs: [...ran("a", 1_000), ...ran("c", 1_200)], deadIds: ["b"] }));
    assert.deepEqual(r.violations, []);
    assert.equal(r.dead, 1);
  });

  it("counts acksLate duplicates without failing (at least once)", () => {
    const r = check(history({ execs: [...ran("a", 1_000), ...ran("a", 9_000, 200, 2), ...ran("b", 1_100), ...ran("c", 1_200)] }));
    assert.equal(r.duplicates, 1);
    assert.deepEqual(r.violations, []);
  });

  it("fails an early-ack job run twice outside a fault window", () => {
    const r = check(history({ execs: [...ran("a", 1_000), ...ran("b", 1_100), ...ran("c", 1_200), ...ran("c", 2_000, 200, 2)] }));
    assert.equal(r.earlyTwice, 1);
    assert.match(r.violations.join(";"), /1 early-ack jobs ran twice outside a fault window, e\.g\. c/);
  });

  it("counts apart an early-ack job whose superseded delivery ran after its redelivery started", () => {
    // Delivery 2 starts at 30 s on pid 200; delivery 1, held by the network, starts at 30.1 s on pid 100.
    const r = check(history({ execs: [...ran("a", 1_000), ...ran("b", 1_100), ...ran("c", 30_000, 200, 2), ...ran("c", 30_100, 100, 1)] }));
    assert.equal(r.earlyTwice, 1);
    assert.equal(r.staleRuns, 1);
    assert.deepEqual(r.violations, []);
  });

  it("allows an early-ack job run twice when its first run started in a fault window", () => {
    const r = check(history({ execs: [...ran("a", 1_000), ...ran("b", 1_100), ...ran("c", 12_000), ...ran("c", 30_000, 200, 2)] }));
    assert.equal(r.earlyTwice, 1);
    assert.deepEqual(r.violations, []);
  });

  it("fails an early-ack job that never started, and tolerates one interrupted by a fault", () => {
    const never = check(history({ execs: [...ran("a", 1_000), ...ran("b", 1_100)] }));
    assert.match(never.violations.join(";"), /1 early-ack jobs never ran, e\.g\. c/);
    const interrupted = check(history({ execs: [...ran("a", 1_000), ...ran("b", 1_100), ex("S", "c", 1_200)] }));
    assert.equal(interrupted.lost, 1);
    assert.deepEqual(interrupted.violations, []);
  });

  it("counts apart an early-ack job dropped because its ack was not confirmed in a fault window, and fails one outside it", () => {
    const execs = [...ran("a", 1_000), ...ran("b", 1_100)];
    const dropped = check(history({ execs, unconfirmed: [{ id: "c", at: 12_000 }] }));
    assert.equal(dropped.lost, 1);
    assert.equal(dropped.unconfirmedDropped, 1);
    assert.deepEqual(dropped.violations, []);
    const outside = check(history({ execs, unconfirmed: [{ id: "c", at: 1_300 }] }));
    assert.equal(outside.unconfirmedDropped, 0);
    assert.match(outside.violations.join(";"), /1 early-ack jobs never ran, e\.g\. c/);
  });

  it("unconfirmedOf() reads the jobs a process did not run from its log's confirm_ack lines", () => {
    const lines = [
      "2026-12-07T05:47:40.762Z ERROR   confirm_ack: Cannot confirm the ack of 'j428' (timeout): not run here",
      "2026-12-07T05:47:41.000Z ERROR   results: Cannot store the result of 'j9'",
      "not a log line",
    ];
    assert.deepEqual(unconfirmedOf(lines), [{ id: "j428", at: Date.parse("2026-12-07T05:47:40.762Z") }]);
  });

  it("fails an acksLate job that finished without a stored result, with results on", () => {
    const results = new Map<string, string | null>([["a", "SUCCESS"], ["b", null], ["c", "SUCCESS"]]);
    const r = check(history({ results }));
    assert.equal(r.resultsMissing, 1);
    assert.match(r.violations.join(";"), /1 acksLate jobs ran without a stored final result, e\.g\. b/);
  });

  it("counts an early-ack job without a stored result apart, without failing", () => {
    const results = new Map<string, string | null>([["a", "SUCCESS"], ["b", "FAILURE"], ["c", null]]);
    const r = check(history({ results }));
    assert.equal(r.resultsMissing, 0);
    assert.equal(r.earlyResultsMissing, 1);
    assert.deepEqual(r.violations, []);
  });

  it("measures the recovery from a run started after the heal, not one that was frozen before it", () => {
    // The victim finishes at 20.5 s a run started before the heal (it was frozen), then runs anew from 23 s.
    const execs = [...ran("a", 1_000), ex("S", "b", 9_000), ex("E", "b", 20_500), ...ran("c", 23_000)];
    assert.equal(check(history({ execs })).recoverSeconds, 3.005);
  });

  it("fails when jobs are still held at the end or qw exited on its own", () => {
    const r = check(history({ final: { messages: 1, pending: 0, ackPending: 1 }, qwExits: ["qw 7 exited code 1"] }));
    assert.equal(r.held, 2);
    assert.equal(r.violations.length, 2);
    assert.match(r.violations[1], /qw needed a restart: qw 7 exited code 1/);
  });

  it("has no recovery figure before a heal", () => {
    const r = check(history({ faults: [{ name: "cut", from: 10_000, to: null, victims: [] }] }));
    assert.equal(r.recoverSeconds, null);
  });
});

describe("check() recovery", () => {
  it("ignores a run's end before the heal even when the same id, process and delivery start again after it", () => {
    // A job released again by the delayed releaser starts over at delivery 1 on the same process.
    const execs = [...ran("a", 1_000), ex("S", "b", 15_000), ex("E", "b", 16_000), ...ran("b", 21_000), ...ran("c", 22_000)];
    const r = check(history({ execs }));
    assert.equal(r.recoverSeconds, 1.005);
  });
});
