/** The dashboard's numbers from canned inspect reports, dead-letter subjects and worker records. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildOverview, deadLettersByTask } from "../../../../src/ops/dashboard/overview.ts";
import { buildReport } from "../../../../src/ops/inspect.ts";
import type { WorkerRecord } from "../../../../src/ops/presence.ts";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const rate = { t: [], enqueued: [], acked: [] };

function worker(name: string, o: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    name, host: "h", pid: 1, version: "0.1.0", concurrency: 2, ready: 2, startedAt: "2030-01-01T11:00:00Z",
    done: 0, failed: 0, retried: 0, running: [], draining: false, at: "2030-01-01T12:00:00Z", ...o,
  };
}

function report(workers: WorkerRecord[], subjects: Record<string, number>) {
  const consumer = {
    name: "qw_jobs", config: { filter_subject: "jobs.*" }, delivered: { stream_seq: 9 }, ack_floor: { stream_seq: 3 },
    num_pending: 4, num_ack_pending: 2, num_redelivered: 1, num_waiting: 0,
  };
  return buildReport({
    stream: "jobs", consumer: "qw_jobs", streamInfo: { state: { messages: 9, subjects } },
    dlqInfo: { state: { messages: 3 } }, consumers: [consumer], workers, now: NOW,
  });
}

describe("buildOverview()", () => {
  test("per task: stored jobs minus unacked running ones wait; workers' per-task counts add up; dead letters by subject", () => {
    const workers = [
      worker("a", { done: 5, failed: 1, retried: 2, running: ["x", "y"], tasks: {
        add: { done: 5, failed: 0, retried: 0, running: 1, unacked: 0 },
        mail: { done: 0, failed: 1, retried: 2, running: 1, unacked: 1 },
      } }),
      worker("b", { done: 1, tasks: { add: { done: 1, failed: 0, retried: 0, running: 0, unacked: 0 } } }),
    ];
    const o = buildOverview({
      report: report(workers, { "jobs.add": 4, "jobs.mail": 3, "jobs._delayed.mail": 2 }),
      dlqSubjects: { "jobs_dlq.mail": 2, "jobs_dlq._invalid": 1 },
      dlqLastSeq: 12,
      schedules: null,
      rate,
    });
    assert.deepEqual(o.tasks, [
      { task: "_invalid", waiting: 0, delayed: 0, running: 0, succeeded: 0, failed: 0, retried: 0, deadLettered: 1 },
      { task: "add", waiting: 4, delayed: 0, running: 1, succeeded: 6, failed: 0, retried: 0, deadLettered: 0 },
      { task: "mail", waiting: 2, delayed: 2, running: 1, succeeded: 0, failed: 1, retried: 2, deadLettered: 2 },
    ]);
    assert.deepEqual(o.totals, {
      waiting: 4, inFlight: 2, redelivered: 1, delayed: 2, deadLettered: 3, running: 2, succeeded: 6, failed: 1, retried: 2, workers: 2,
    });
    assert.equal(o.stream, "jobs");
    assert.equal(o.consumerFound, true);
    assert.equal(o.deadLetterSeq, 12);
    assert.equal(o.at, "2030-01-01T12:00:00.000Z");
  });

  test("records of older workers without per-task counts still give totals; waiting never goes below 0", () => {
    const o = buildOverview({
      report: report([worker("old", { done: 3 }), worker("new", { tasks: { add: { done: 0, failed: 0, retried: 0, running: 2, unacked: 2 } } })], { "jobs.add": 1 }),
      schedules: [],
      rate,
    });
    assert.equal(o.totals.succeeded, 3);
    assert.deepEqual(o.tasks.map((t) => [t.task, t.waiting, t.running]), [["add", 0, 2]]);
  });

  test("deadLettersByTask() reads only this stream's dead-letter subjects", () => {
    assert.deepEqual([...deadLettersByTask("jobs", { "jobs_dlq.a": 2, "other_dlq.a": 5, "jobs_dlq.b": 1 })], [["a", 2], ["b", 1]]);
    assert.deepEqual([...deadLettersByTask("jobs")], []);
  });
});
