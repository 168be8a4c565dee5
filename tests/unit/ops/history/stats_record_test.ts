import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  chartPoints, count, eventOutcome, isStale, mergeStats, SLOT_S, SLOTS_KEPT, type StatsRecord, subtractCounts, zeroCounts,
} from "../../../../src/ops/history/stats_record.ts";
import { historyOf } from "../../../../src/ops/history/stats_read.ts";
import { formatHistory, withHistory } from "../../../../src/ops/history/overview_history.ts";
import type { Overview } from "../../../../src/ops/dashboard/overview.ts";

const job = { id: "a", task: "add", retries: 0, deliveryCount: 1, seq: 1 };
const T0 = 1_700_000_000_000;
const fresh = (name = "w"): StatsRecord => ({ name, at: T0, tasks: {}, slots: [] });

describe("stats records", () => {
  it("eventOutcome() maps job events to outcomes and invalid subjects to their task", () => {
    assert.deepEqual(eventOutcome({ type: "job.succeeded", ms: 1, ...job }, "jobs"), { task: "add", outcome: "succeeded" });
    assert.deepEqual(eventOutcome({ type: "job.rejected", reason: "r", ...job }, "jobs"), { task: "add", outcome: "deadLettered" });
    assert.deepEqual(eventOutcome({ type: "job.expired", expiresAt: 1, ...job }, "jobs"), { task: "add", outcome: "expired" });
    assert.deepEqual(eventOutcome({ type: "job.invalid", seq: 3, subject: "jobs.nope", reason: "x" }, "jobs"), { task: "nope", outcome: "deadLettered" });
    assert.equal(eventOutcome({ type: "job.started", ...job }, "jobs"), null);
  });

  it("count() adds to the task and to the slot of now; a retry is not a point on the chart", () => {
    const r = fresh();
    count(r, "add", "succeeded", T0);
    count(r, "add", "succeeded", T0 + 1);
    count(r, "add", "failed", T0 + SLOT_S * 1000);
    count(r, "add", "retried", T0 + SLOT_S * 1000);
    assert.deepEqual(r.tasks.add, { ...zeroCounts(), succeeded: 2, failed: 1, retried: 1 });
    assert.equal(r.slots.length, 2);
    assert.deepEqual(r.slots.map((s) => [s[1], s[2]]), [[2, 0], [0, 1]]);
  });

  it("count() drops slots older than 10 minutes", () => {
    const r = fresh();
    count(r, "add", "succeeded", T0);
    count(r, "add", "succeeded", T0 + SLOTS_KEPT * SLOT_S * 1000);
    assert.equal(r.slots.length, 1);
  });

  it("mergeStats() adds counts per task and slot; subtractCounts() never goes below 0", () => {
    const a = fresh("a");
    const b = fresh("b");
    count(a, "add", "succeeded", T0);
    count(b, "add", "succeeded", T0);
    count(b, "mul", "revoked", T0);
    const m = mergeStats("m", T0, [a, b]);
    assert.equal(m.tasks.add.succeeded, 2);
    assert.equal(m.tasks.mul.revoked, 1);
    assert.deepEqual(m.slots.map((s) => s[1]), [2]);
    assert.deepEqual(subtractCounts(m.tasks, b.tasks).add.succeeded, 1);
    assert.deepEqual(subtractCounts(a.tasks, m.tasks).add.succeeded, 0);
  });

  it("chartPoints() gives 60 slots of jobs per second, empty ones as 0", () => {
    const r = fresh();
    for (let i = 0; i < 25; i++) count(r, "add", "succeeded", T0);
    const p = chartPoints(r.slots, T0);
    assert.equal(p.t.length, SLOTS_KEPT);
    assert.equal(p.succeeded.at(-1), 2.5);
    assert.equal(p.succeeded[0], 0);
  });

  it("isStale() after the stale age only", () => {
    assert.equal(isStale({ at: T0 }, T0 + 59_999, 60_000), false);
    assert.equal(isStale({ at: T0 }, T0 + 60_000, 60_000), true);
  });

  it("withHistory() replaces the workers' counts with the history's and adds tasks only the history knows", () => {
    const r = fresh();
    count(r, "add", "succeeded", T0);
    count(r, "old", "expired", T0);
    const h = historyOf([r], T0);
    const totals = { waiting: 0, inFlight: 0, redelivered: 0, delayed: 0, deadLettered: 0, running: 0, succeeded: 9, failed: 0, retried: 0, workers: 0 };
    const o = {
      stream: "jobs", at: "", totals, deadLetterSeq: 0, consumerFound: true, workers: [], schedules: null, rate: { t: [], enqueued: [], acked: [] }, priorities: [],
      tasks: [{ task: "add", waiting: 3, delayed: 0, running: 0, succeeded: 9, failed: 0, retried: 0, deadLettered: 0 }],
    } as Overview;
    const w = withHistory(o, h);
    assert.deepEqual(w.tasks.map((t) => [t.task, t.waiting, t.succeeded, t.expired]), [["add", 3, 1, 0], ["old", 0, 0, 1]]);
    assert.equal(w.totals.succeeded, 1);
    assert.equal(w.totals.expired, 1);
    assert.equal(withHistory(o, historyOf([], T0)).totals.succeeded, 9, "without stats the workers' counts stay");
    assert.match(formatHistory(h), /old\s+0\s+0\s+0\s+0\s+1\s+0/);
  });
});
