/**
 * The fault soup's pure half (tests/helpers/fault_soup_case.ts): the cases
 * the integration test pins, the faults a seed draws, and the verdict's rows
 * for revoked jobs and for results the store refused.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  ACKS_LATE,
  BEHAVIOURS,
  type Expected,
  expectedOf,
  matches,
  ORACLE,
  reached,
  REVOKED,
  resultMayBeLost,
  PAUSE_REACH_MS,
  type PauseWindow,
  type Seen,
  type SoupJob,
  soupCase,
  startsWhilePaused,
  verdict,
} from "../helpers/fault_soup_case.ts";

const seen = (s: Partial<Seen>): Seen => ({ runs: 1, state: "SUCCESS", deadLetters: 0, ...s });

describe("fault soup cases", () => {
  it("seed 195 is the case the integration test pins it for: a fast acksLate job in front of a busy loop at concurrency 1", () => {
    // With an ack wait of 1 s and two rolling restarts, the first 7 ms after qw starts pulling.
    const c = soupCase(195);
    assert.deepEqual(
      { concurrency: c.concurrency, kind: c.kind, ackWait: c.ackWait, restarts: c.restarts, jobs: c.jobs.map((j) => `${j.id} ${j.behaviour} ${j.phase}`) },
      {
        concurrency: 1,
        kind: "limits",
        ackWait: 1,
        restarts: [7, 616],
        jobs: [
          "j0 requeueOnce before", "j1 softLimit before", "j2 rejectDrop before", "j3 busySync during", "j4 throwsPlain during",
          "j5 softLimit during", "j6 spins before", "j7 spins during", "j8 retryOnce during",
        ],
      },
    );
  });

  it("a seed draws the same faults every time, and only over jobs the case has", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const c = soupCase(seed);
      assert.deepEqual(soupCase(seed), c);
      const byId = new Map(c.jobs.map((j) => [j.id, j]));
      for (const id of c.revokeDone) assert.equal(ORACLE[byId.get(id)!.behaviour].state, "SUCCESS", `seed ${seed} ${id}`);
      for (const id of c.revokeWaiting) {
        assert.equal(byId.get(id)!.phase, "during", `seed ${seed} ${id}`);
        assert.ok(!c.revokeDone.includes(id));
      }
      assert.deepEqual(c.restarts, [...c.restarts].sort((a, b) => a - b));
    }
  });

  it("every new fault turns up in some of the first 200 seeds", () => {
    const cases = Array.from({ length: 200 }, (_, i) => soupCase(i + 1));
    assert.ok(cases.filter((c) => c.restarts.length > 0).length >= 50);
    assert.ok(cases.filter((c) => c.outage !== null).length >= 50);
    assert.ok(cases.filter((c) => c.revokeDone.length > 0).length >= 50);
    assert.ok(cases.filter((c) => c.revokeWaiting.length > 0).length >= 50);
  });

  it("seed 325 is the case the integration test pins it for: restarts over running jobs, three revokes, then an outage", () => {
    const c = soupCase(325);
    assert.deepEqual([c.concurrency, c.kind, c.restarts], [1, "limits", [95, 778]]);
    assert.deepEqual([c.revokeDone, c.revokeWaiting], [["j0"], ["j4", "j1"]]);
    assert.ok(c.outage !== null && c.outage.atMs > c.restarts[1]);
    assert.ok(c.jobs.filter((j) => j.behaviour === "busySyncLate").length === 2);
  });

  it("a seed spreads its jobs over priorities 0-9 or keeps them all at 5, and pauses a task it has or the stream", () => {
    const cases = Array.from({ length: 200 }, (_, i) => soupCase(i + 1));
    const spread = cases.filter((c) => c.jobs.some((j) => j.priority !== 5));
    assert.ok(spread.length >= 50 && spread.length <= 150, `${spread.length} of 200 seeds spread their priorities`);
    assert.deepEqual(new Set(spread.flatMap((c) => c.jobs.map((j) => j.priority))), new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    for (const c of cases) for (const j of c.jobs) assert.ok(Number.isInteger(j.priority) && j.priority >= 0 && j.priority <= 9);
    const paused = cases.filter((c) => c.pauses.length > 0);
    assert.ok(paused.length >= 50, `${paused.length} of 200 seeds pause`);
    assert.ok(paused.some((c) => c.pauses.some((p) => p.task === null)), "some pause the stream");
    assert.ok(paused.some((c) => c.pauses.some((p) => p.task !== null)), "some pause a task");
    for (const c of paused) {
      for (const p of c.pauses) if (p.task !== null) assert.ok(c.jobs.some((j) => j.behaviour === p.task), `seed ${c.seed} pauses a task it has`);
      assert.deepEqual(c.pauses.map((p) => p.atMs), [...c.pauses.map((p) => p.atMs)].sort((a, b) => a - b));
    }
  });

  it("a job revoked before it was published expects no run and REVOKED; the others their oracle row", () => {
    const c = soupCase(3);
    assert.ok(c.revokeWaiting.length > 0);
    for (const j of c.jobs) assert.deepEqual(expectedOf(c, j), c.revokeWaiting.includes(j.id) ? REVOKED : ORACLE[j.behaviour]);
  });

  it("ACKS_LATE names exactly the fixture's tasks that set acksLate", () => {
    // Read from the fixture's source: it imports "qw", which only a worker resolves.
    const source = readFileSync(new URL("../fixtures/tasks/soup.ts", import.meta.url), "utf8");
    const late = [...source.matchAll(/export const (\w+) = task\(\{(?:[^{}]|\{[^{}]*\})*acksLate: true/g)].map((m) => m[1]);
    assert.ok(late.every((b) => (BEHAVIOURS as readonly string[]).includes(b)));
    assert.deepEqual(new Set(late), ACKS_LATE);
  });
});

describe("fault soup verdicts", () => {
  const outage = { start: 1_000, end: 2_000 };
  const table: Array<[string, boolean, boolean]> = [
    // [behaviour, last run (or publish) before the store answered again, result may be lost]
    ["succeed", true, true],
    ["succeed", false, false],
    ["succeedLate", true, false], // acksLate: retried while leased, acked once stored
    ["busySyncLate", true, false],
    ["throwsRetried", true, true],
  ];
  for (const [b, early, lost] of table) {
    it(`a ${b} job whose last run began ${early ? "before" : "after"} the outage ended ${lost ? "may" : "may not"} lack its result`, () => {
      const at = early ? 1_500 : 2_000;
      assert.equal(resultMayBeLost(b as keyof typeof ORACLE, at, outage), lost);
    });
  }

  it("no outage: no result may be lost; an outage not over yet excuses every early-ack job", () => {
    assert.equal(resultMayBeLost("succeed", 0, null), false);
    assert.equal(resultMayBeLost("succeed", 5_000, { start: 1_000, end: null }), true);
    assert.equal(resultMayBeLost("succeedLate", 5_000, { start: 1_000, end: null }), false);
  });

  const exp: Expected = ORACLE.throwsRetried; // 3 runs, FAILURE TypeError
  const rows: Array<[string, Seen, boolean, boolean, "ok" | "stuck" | "wrong"]> = [
    // [what, seen, result may be lost, held, verdict]
    ["as expected", seen({ runs: 3, state: "FAILURE", error: "TypeError" }), false, false, "ok"],
    ["nothing stored, not excused", seen({ runs: 3, state: "PENDING" }), false, false, "wrong"],
    ["nothing stored, excused", seen({ runs: 3, state: "PENDING" }), true, false, "ok"],
    ["an earlier RETRY left, excused", seen({ runs: 3, state: "RETRY" }), true, false, "ok"],
    ["another final state, excused or not", seen({ runs: 3, state: "SUCCESS" }), true, false, "wrong"],
    ["another error, excused or not", seen({ runs: 3, state: "FAILURE", error: "RangeError" }), true, false, "wrong"],
    ["a run too many, excused or not", seen({ runs: 4, state: "PENDING" }), true, false, "wrong"],
    ["a run short and held", seen({ runs: 2, state: "RETRY" }), true, true, "stuck"],
  ];
  for (const [what, s, lost, held, v] of rows) {
    it(`verdict of a throwsRetried job: ${what} -> ${v}`, () => {
      assert.equal(verdict(exp, s, held, lost), v);
    });
  }

  it("a revoked job matches only with no run, REVOKED and no dead letter", () => {
    assert.ok(matches(REVOKED, seen({ runs: 0, state: "REVOKED" })));
    assert.ok(!matches(REVOKED, seen({ runs: 1, state: "REVOKED" })));
    assert.ok(!matches(REVOKED, seen({ runs: 0, state: "FAILURE" })));
    assert.ok(!matches(REVOKED, seen({ runs: 0, state: "REVOKED", deadLetters: 1 })));
    assert.ok(!matches(REVOKED, seen({ runs: 0, state: "PENDING" })));
    assert.ok(matches(REVOKED, seen({ runs: 0, state: "PENDING" }), true));
  });

  it("a finished job revoked stays SUCCESS: a REVOKED or FAILURE in its place is wrong", () => {
    assert.equal(verdict(ORACLE.succeedLate, seen({ state: "REVOKED" }), false), "wrong");
    assert.equal(verdict(ORACLE.succeed, seen({ state: "FAILURE", error: "WorkerLostError" }), false), "wrong");
    assert.ok(reached(ORACLE.succeed, seen({})));
  });
});

describe("runs while paused", () => {
  const job = (behaviour: SoupJob["behaviour"]): SoupJob => ({ id: "j0", behaviour, args: [], phase: "before", gapMs: 0, priority: 5 });
  const stream: PauseWindow = { task: null, from: 10_000, to: 20_000 };
  const slow: PauseWindow = { task: "slow", from: 10_000, to: 20_000 };
  const cases: Array<[string, SoupJob, number[], PauseWindow[], number[]]> = [
    ["a start before the pause", job("succeed"), [9_000], [stream], []],
    ["a start within the pause's reach", job("succeed"), [10_000 + PAUSE_REACH_MS], [stream], []],
    ["a start after the reach, before the resume", job("succeed"), [10_000 + PAUSE_REACH_MS + 1], [stream], [11_001]],
    ["a start at the resume", job("succeed"), [20_000], [stream], []],
    ["a start in a pause not over yet", job("succeed"), [30_000], [{ task: null, from: 10_000, to: null }], [30_000]],
    ["a start of the paused task", job("slow"), [15_000], [slow], [15_000]],
    ["a start of another task", job("succeed"), [15_000], [slow], []],
    ["a retry in the pause, the first run before it", job("retryOnce"), [5_000, 12_000], [stream], [12_000]],
  ];
  for (const [what, j, starts, windows, want] of cases) {
    it(`startsWhilePaused(): ${what} -> ${want.length === 0 ? "none" : want.join(", ")}`, () => {
      assert.deepEqual(startsWhilePaused(j, starts, windows), want);
    });
  }

  it("verdict(): a job that started while paused is wrong even when it ended as the oracle says, and while work is held", () => {
    assert.equal(verdict(ORACLE.succeed, seen({ runsWhilePaused: 1 }), false), "wrong");
    assert.equal(verdict(ORACLE.succeed, seen({ runsWhilePaused: 1 }), true), "wrong");
    assert.equal(verdict(ORACLE.succeed, seen({ runsWhilePaused: 0 }), false), "ok");
  });
});
