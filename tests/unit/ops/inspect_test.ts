/** The numbers and table of `qw inspect`, from canned stream and consumer info. */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  activeAt,
  buildReport,
  type ConsumerInfoLike,
  consumerReport,
  formatAgo,
  formatReport,
  renderTable,
  taskCounts,
} from "../../../src/ops/inspect.ts";

const NOW = Date.parse("2030-01-01T12:00:00Z");
const ZERO_TIME = "0001-01-01T00:00:00Z";
const streamInfo = { state: { messages: 12, subjects: { "jobs.add": 9, "jobs._delayed.add": 3 } } };

function consumer(name: string, o: Partial<ConsumerInfoLike> = {}): ConsumerInfoLike {
  return {
    name,
    config: { filter_subject: "jobs.*" },
    delivered: { stream_seq: 10, last_active: "2030-01-01T11:59:50Z" },
    ack_floor: { stream_seq: 8, last_active: "2030-01-01T11:58:00Z" },
    num_pending: 7,
    num_ack_pending: 2,
    num_redelivered: 1,
    num_waiting: 3,
    ...o,
  };
}

describe("taskCounts()", () => {
  test("splits per-subject counts into queued and delayed jobs per task, sorted by name", () => {
    const subjects = { "jobs.add": 4, "jobs._delayed.add": 2, "jobs.resize": 1, "jobs._delayed.email": 5 };
    assert.deepEqual(taskCounts("jobs", subjects), [
      { task: "add", queued: 4, delayed: 2 },
      { task: "email", queued: 0, delayed: 5 },
      { task: "resize", queued: 1, delayed: 0 },
    ]);
  });

  test("counts the schedules the server holds (one subject each) as delayed jobs of their task", () => {
    const subjects = { "jobs.add": 1, "jobs._sched.add.aW1nLTQyOmV0YQ": 1, "jobs._sched.add.b3JkZXI6MTpldGE": 1, "jobs._delayed.add": 1, "jobs._sched.email.eA": 1 };
    assert.deepEqual(taskCounts("jobs", subjects), [
      { task: "add", queued: 1, delayed: 3 },
      { task: "email", queued: 0, delayed: 1 },
    ]);
  });

  test("counts the jobs on a task's key subjects (waiting or running) as queued jobs of their task", () => {
    const subjects = { "jobs.sync": 1, "jobs._key.sync.dDE": 3, "jobs._key.sync._": 2, "jobs._key.add.dDI": 1 };
    assert.deepEqual(taskCounts("jobs", subjects), [
      { task: "add", queued: 1, delayed: 0 },
      { task: "sync", queued: 6, delayed: 0 },
    ]);
  });

  test("ignores subjects of other streams and copes with no subjects", () => {
    assert.deepEqual(taskCounts("jobs", { "jobsx.add": 1, "other.add": 2 }), []);
    assert.deepEqual(taskCounts("jobs"), []);
  });
});

describe("activeAt()", () => {
  test("reads ISO times and nanoseconds, and treats absent and zero times as never", () => {
    assert.equal(activeAt("2030-01-01T11:59:50.123456789Z"), "2030-01-01T11:59:50.123Z");
    assert.equal(activeAt(NOW * 1e6), "2030-01-01T12:00:00.000Z");
    assert.equal(activeAt(undefined), null);
    assert.equal(activeAt(ZERO_TIME), null);
    assert.equal(activeAt(0), null);
  });
});

describe("consumerReport()", () => {
  test("maps the info fields and takes the later time as the last activity", () => {
    assert.deepEqual(consumerReport(consumer("qw_jobs")), {
      name: "qw_jobs",
      filter: "jobs.*",
      pending: 7,
      ackPending: 2,
      redelivered: 1,
      waitingPulls: 3,
      lastDelivered: "2030-01-01T11:59:50.000Z",
      lastAcked: "2030-01-01T11:58:00.000Z",
      lastActive: "2030-01-01T11:59:50.000Z",
    });
    const idle = consumerReport(
      consumer("c", { delivered: { stream_seq: 0 }, ack_floor: { stream_seq: 0, last_active: ZERO_TIME } }),
    );
    assert.deepEqual([idle.lastDelivered, idle.lastAcked, idle.lastActive], [null, null, null]);
  });
});

describe("buildReport()", () => {
  test("takes waiting, in flight and redelivered from the shared consumer", () => {
    const r = buildReport({
      stream: "jobs",
      consumer: "qw_jobs",
      streamInfo,
      dlqInfo: { state: { messages: 4 } },
      consumers: [consumer("qw_jobs_delayed", { num_pending: 0, num_ack_pending: 3 }), consumer("qw_jobs")],
      now: NOW,
    });
    assert.deepEqual(
      { ...r, tasks: undefined, consumers: undefined, priorities: undefined },
      {
        stream: "jobs",
        consumer: "qw_jobs",
        at: "2030-01-01T12:00:00.000Z",
        messages: 12,
        priorities: undefined,
        waiting: 7,
        inFlight: 2,
        redelivered: 1,
        delayed: 3,
        deadLettered: 4,
        consumerFound: true,
        tasks: undefined,
        consumers: undefined,
        workers: [],
      },
    );
    assert.deepEqual(r.consumers.map((c) => c.name), ["qw_jobs", "qw_jobs_delayed"]);
  });

  test("adds the jobs on key subjects: those delivered by their key's consumer are in flight, the others waiting", () => {
    const keyed = { state: { messages: 17, subjects: { ...streamInfo.state.subjects, "jobs._key.sync.dDE": 4, "jobs._key.sync.dDI": 1 } } };
    const key = consumer("qw_jobs_key_sync_dDE", { config: { filter_subject: "jobs._key.sync.dDE" }, num_pending: 2, num_ack_pending: 2 });
    const r = buildReport({ stream: "jobs", consumer: "qw_jobs", streamInfo: keyed, dlqInfo: null, consumers: [consumer("qw_jobs"), key], now: NOW });
    assert.deepEqual([r.waiting, r.inFlight], [7 + 5 - 2, 2 + 2]);
  });

  test("adds every priority level's consumer to waiting and in flight, and lists the levels highest first", () => {
    const r = buildReport({
      stream: "jobs",
      consumer: "qw_jobs",
      streamInfo,
      dlqInfo: null,
      consumers: [
        consumer("qw_jobs"),
        consumer("qw_jobs_p9", { num_pending: 1, num_ack_pending: 1 }),
        consumer("qw_jobs_p0", { num_pending: 50, num_ack_pending: 0 }),
        consumer("qw_jobs_delayed", { num_pending: 4, num_ack_pending: 4 }),
        consumer("qw_jobs_px", { num_pending: 9, num_ack_pending: 9 }),
      ],
      now: NOW,
    });
    assert.deepEqual(r.priorities, [
      { priority: 9, waiting: 1, inFlight: 1 },
      { priority: 5, waiting: 7, inFlight: 2 },
      { priority: 0, waiting: 50, inFlight: 0 },
    ]);
    assert.equal(r.waiting, 58);
    assert.equal(r.inFlight, 3);
    assert.match(formatReport(r, NOW), /^Waiting by priority: 9: 1, 5: 7, 0: 50$/m);
  });

  test("reads a job on <stream>.p<N>.<task> as its task's", () => {
    assert.deepEqual(taskCounts("jobs", { "jobs.p9.send": 2, "jobs.send": 3, "jobs.p1": 1 }), [
      { task: "p1", queued: 1, delayed: 0 },
      { task: "send", queued: 5, delayed: 0 },
    ]);
  });

  test("counts stored ready jobs as waiting when no worker created the consumer yet", () => {
    const r = buildReport({ stream: "jobs", consumer: "qw_jobs", streamInfo, dlqInfo: null, consumers: [], now: NOW });
    assert.deepEqual([r.waiting, r.inFlight, r.redelivered, r.deadLettered, r.consumerFound], [9, 0, 0, 0, false]);
  });
});

describe("formatAgo()", () => {
  test("says how long ago in the largest whole unit", () => {
    const ago = (s: number) => formatAgo(new Date(NOW - s * 1000).toISOString(), NOW);
    assert.deepEqual([0.5, 5, 125, 7200, 3 * 86400].map(ago), ["now", "5 s ago", "2 min ago", "2 h ago", "3 d ago"]);
    assert.equal(formatAgo(null, NOW), "never");
  });
});

describe("renderTable()", () => {
  test("pads text left and numbers right, two spaces apart, without trailing spaces", () => {
    assert.equal(renderTable(["name", "n"], [["a", 1], ["long", 100]]), "name    n\na       1\nlong  100");
  });
});

describe("formatReport()", () => {
  test("shows the totals, the tasks and the consumers", () => {
    const r = buildReport({
      stream: "jobs",
      consumer: "qw_jobs",
      streamInfo,
      dlqInfo: null,
      consumers: [consumer("qw_jobs")],
      now: NOW,
    });
    const text = formatReport(r, NOW);
    assert.match(text, /^Stream 'jobs' at 2030-01-01T12:00:00.000Z\n/);
    assert.match(text, /\nwaiting +7\n/);
    assert.match(text, /\ndelivered, not acked +2\n/);
    assert.match(text, /\(delivered, not acked: held by a worker, running with acksLate or not started yet; the server cannot tell which\)/);
    assert.doesNotMatch(text, /in flight/);
    assert.match(text, /\nredelivered +1\n/);
    assert.match(text, /\ndelayed +3\n/);
    assert.match(text, /\ndead-lettered +0\n/);
    assert.match(text, /\nadd +9 +3\n/);
    assert.match(text, /\nqw_jobs +7 +2 +1 +3 +10 s ago +2 min ago\n/);
    assert.ok(!text.includes("not found"));
    const empty = formatReport(
      buildReport({
        stream: "jobs",
        consumer: "qw_jobs",
        streamInfo: { state: { messages: 0 } },
        dlqInfo: null,
        consumers: [],
        now: NOW,
      }),
      NOW,
    );
    assert.match(empty, /Consumer 'qw_jobs' not found/);
    assert.match(empty, /Tasks: no jobs stored/);
    assert.match(empty, /Consumers: none/);
    assert.match(empty, /Workers: none running/);
  });

  test("shows each worker with its counts, running jobs and whether it drains", () => {
    const w = {
      name: "h1:42", host: "h1", pid: 42, version: "0.1.0", concurrency: 2, ready: 2, startedAt: "2030-01-01T11:59:00.000Z",
      done: 10, failed: 1, retried: 2, running: ["a", "b"], draining: false, at: "2030-01-01T11:59:58.000Z",
    };
    const r = buildReport({ stream: "jobs", consumer: "qw_jobs", streamInfo, dlqInfo: null, consumers: [], workers: [w], now: NOW });
    assert.deepEqual(r.workers, [w]);
    assert.match(formatReport(r, NOW), /\nh1:42 +h1 +42 +0\.1\.0 +2\/2 +10 +1 +2 +a,b +1 min ago +running\n/);
  });
});
