import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { groupWaiting, jobStateProblem, recordRows, runningRows, storedRow } from "../../../../src/ops/jobs/job_rows.ts";
import { retryMessage } from "../../../../src/ops/jobs/job_lists.ts";
import { formatJobList } from "../../../../src/ops/jobs/job_text.ts";
import type { ResultRecord } from "../../../../src/client/buckets/result_store.ts";
import type { WorkerRecord } from "../../../../src/ops/presence.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const rec = (o: Partial<ResultRecord>): ResultRecord => ({
  id: "a", task: "t", state: "FAILURE", retries: 0, deliveryCount: 1, worker: "w", finishedAt: 1, ...o,
});

describe("job rows", () => {
  it("jobStateProblem() names the lists", () => {
    assert.equal(jobStateProblem("failed"), null);
    assert.equal(jobStateProblem("done"), 'Cannot list jobs as STATE must be one of running, failed, waiting, delayed, revoked, expired: current value is "done"');
  });

  it("storedRow() reads id, task, args and priority; due time of a delayed job; nothing for a flow start", () => {
    assert.deepEqual(storedRow("jobs", { seq: 4, subject: "jobs.add", headers: [["Nats-Msg-Id", "x1"]], data: enc('{"args":[1,2]}') }),
      { id: "x1", task: "add", args: [1, 2], seq: 4, priority: "default" });
    assert.deepEqual(storedRow("jobs", { seq: 5, subject: "jobs.p1.add", headers: [], data: enc('{"args":[]}') }),
      { id: "jobs:5", task: "add", args: [], seq: 5, priority: "p1" });
    assert.equal(storedRow("jobs", { seq: 6, subject: "jobs._delayed.add", headers: [["Qw-Id", "d"], ["Qw-Eta", "1000"]], data: enc("{}") })?.dueAt, 1000);
    const sched = storedRow("jobs", { seq: 7, subject: "jobs._sched.add.tok", headers: [["Nats-Schedule", "@at 2030-01-01T00:00:00.000Z"]], data: enc("{}") });
    assert.equal(sched?.dueAt, Date.parse("2030-01-01T00:00:00.000Z"));
    assert.equal(sched?.task, "add");
    assert.equal(storedRow("jobs", { seq: 8, subject: "jobs._flow", headers: [], data: enc("{}") }), null);
    assert.equal(storedRow("jobs", { seq: 9, subject: "jobs.add", headers: [], data: enc("nope") })?.args, "(not JSON)");
  });

  it("groupWaiting() keeps at most 100 per priority group", () => {
    const rows = Array.from({ length: 150 }, (_, i) => ({ id: `${i}`, task: "t", priority: i % 3 === 0 ? "p1" : "default" }));
    const g = groupWaiting(rows);
    assert.equal(g.default.length, 100);
    assert.equal(g.p1.length, 50);
    assert.deepEqual(Object.keys(groupWaiting([{ id: "a", task: "t", priority: "p1" }, { id: "b", task: "t", priority: "default" }, { id: "c", task: "t", priority: "p9" }])), ["p9", "default", "p1"], "highest priority first");
  });

  it("recordRows() lists failures, revokes and expiries apart, filtered, latest first; flows are not jobs", () => {
    const records = [
      rec({ id: "o-1", finishedAt: 1, job: { subject: "jobs.t", body: "{}", headers: [] } }),
      rec({ id: "o-2", finishedAt: 2 }),
      rec({ id: "x-1", task: "u", finishedAt: 3 }),
      rec({ id: "f", task: "flow" }),
      rec({ id: "r", state: "REVOKED" }),
      rec({ id: "e", state: "REVOKED", reason: "expired" }),
    ];
    assert.deepEqual(recordRows(records, "failed", { task: "t", prefix: "o-" }).map((r) => [r.id, r.retryable]), [["o-2", false], ["o-1", true]]);
    assert.deepEqual(recordRows(records, "revoked", {}).map((r) => r.id), ["r"]);
    assert.deepEqual(recordRows(records, "expired", {}).map((r) => r.id), ["e"]);
  });

  it("runningRows() lists the workers' jobs with progress, newest start first", () => {
    const w = { name: "w1", running: ["a", "b"], jobs: [{ id: "a", task: "t", startedAt: 1, deliveryCount: 1 }, { id: "b", task: "u", startedAt: 2, deliveryCount: 2 }] } as WorkerRecord;
    const rows = runningRows([w], new Map([["a", 0.5]]), {});
    assert.deepEqual(rows.map((r) => [r.id, r.worker, r.progress]), [["b", "w1", undefined], ["a", "w1", 0.5]]);
    assert.deepEqual(runningRows([w], new Map(), { task: "t" }).map((r) => r.id), ["a"]);
  });

  it("retryMessage() re-enqueues a kept failure as the next retry; refuses the rest with one line", () => {
    const m = retryMessage(rec({ retries: 2, job: { subject: "jobs.t", body: '{"args":[1]}', headers: [["Qw-Id", "a"], ["Qw-Retries", "2"], ["X", "1"]] } }), "a");
    assert.deepEqual(m, { subject: "jobs.t", body: '{"args":[1]}', headers: [["X", "1"], ["Qw-Id", "a"], ["Qw-Retries", "3"]], msgId: "a:again:3" });
    assert.match(retryMessage(rec({ state: "SUCCESS" }), "a") as string, /did not fail: its state is SUCCESS/);
    assert.match(retryMessage(null, "a") as string, /has no record/);
    assert.match(retryMessage(rec({ deadLetter: "rejected" }), "a") as string, /replay it from the dead letters/);
  });

  it("formatJobList() prints a table per priority group for waiting jobs", () => {
    const jobs = [{ id: "a", task: "t", args: [1], seq: 1, priority: "default" }, { id: "b", task: "t", args: [2], seq: 2, priority: "p1" }];
    const text = formatJobList({ state: "waiting", jobs, groups: groupWaiting(jobs) }, 0);
    assert.match(text, /priority 5 \(default\):\nseq\s+id\s+task\s+args\n\s*1\s+a\s+t\s+\[1\]/);
    assert.match(text, /priority 1:/);
    assert.ok(text.indexOf("priority 5") < text.indexOf("priority 1:"));
    assert.equal(formatJobList({ state: "failed", jobs: [] }, 0), "Jobs failed: none\n");
  });
});
