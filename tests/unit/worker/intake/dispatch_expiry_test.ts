/**
 * The dispatcher and a job's expiry, without NATS: a job met after its expiry
 * is never handed to the pool; it is acked (never termed, never
 * dead-lettered), stored REVOKED with reason `expired` and reported as
 * `job.expired`. One not yet expired goes to the pool with its expiry, for
 * the Web Worker's last check. A task's own `expires` counts from when the
 * server stored the message.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsMsg } from "@nats-io/jetstream";
import type { Held } from "../../../../src/worker/intake/dispatch.ts";
import { testDispatcher } from "../../../helpers/dispatcher.ts";
import { Emitter, type QwEvent } from "../../../../src/core/events.ts";
import { MemoryResultStore } from "../../../../src/client/buckets/result_store.ts";
import { resolveTaskOptions } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";
import type { PoolJob } from "../../../../src/worker/pool/pool.ts";

const NOW = 1_767_225_600_000;
const STORED = NOW - 5_000;

function message(seq: number, task: string, headers: [string, string][]): JsMsg & { ops: string[] } {
  const ops: string[] = [];
  const block = new TextEncoder().encode(headers.length ? "NATS/1.0\r\n" + headers.map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n" : "");
  const body = new TextEncoder().encode('{"args":[]}');
  const raw = new Uint8Array(block.length + body.length);
  raw.set(block);
  raw.set(body, block.length);
  return {
    ops,
    subject: `jobs.${task}`,
    reply: `$JS.ACK.jobs.qw_jobs.1.${seq}.${seq}.${STORED}000000.0`,
    data: body,
    seq,
    info: { streamSequence: seq, deliveryCount: 1, timestampNanos: STORED * 1e6 },
    msg: { _msg: { hdr: block.length }, _rdata: raw },
    ack: () => void ops.push("ack"),
    nak: () => void ops.push("nak"),
    term: () => void ops.push("term"),
    working: () => {},
  } as unknown as JsMsg & { ops: string[] };
}

function setUp() {
  const store = new MemoryResultStore();
  const events: QwEvent[] = [];
  const emitter = new Emitter();
  emitter.on((e) => events.push(e));
  const submitted: PoolJob<Held>[] = [];
  const dead: string[] = [];
  const tasks = {
    add: resolveTaskOptions({}, DEFAULT_TASK_DEFAULTS),
    late: resolveTaskOptions({ acksLate: true }, DEFAULT_TASK_DEFAULTS),
    brief: resolveTaskOptions({ expires: 2 }, DEFAULT_TASK_DEFAULTS),
  };
  const d = testDispatcher({
    tasks: () => tasks,
    submit: (job) => submitted.push(job),
    sink: { deadLetter: (_h, reason) => (dead.push(reason), Promise.resolve()) },
    store,
    emitter,
    now: () => NOW,
  });
  const settled = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { d, store, events, submitted, dead, settled };
}

describe("the dispatcher and a job's expiry", () => {
  for (const task of ["add", "late"]) {
    it(`a ${task === "late" ? "acksLate " : ""}job met after its expiry is acked, stored REVOKED (expired) and never reaches the pool`, async () => {
      const t = setUp();
      const m = message(1, task, [["Qw-Id", "x1"], ["Qw-Expires", String(NOW - 1)]]);
      t.d.onMessage(m);
      await t.settled();
      assert.deepEqual(t.submitted, []);
      assert.deepEqual(m.ops, ["ack"]);
      assert.deepEqual(t.dead, []);
      const r = t.store.records.get("x1")!;
      assert.equal(r.state, "REVOKED");
      assert.equal(r.reason, "expired");
      const e = t.events.find((x) => x.type === "job.expired");
      assert.deepEqual(e, { type: "job.expired", expiresAt: NOW - 1, id: "x1", task, retries: 0, deliveryCount: 1, seq: 1 });
      assert.equal(t.d.held.size, 0);
    });
  }

  it("a job not yet expired goes to the pool with its expiry as the time it must start by", async () => {
    const t = setUp();
    t.d.onMessage(message(2, "add", [["Qw-Id", "x2"], ["Qw-Expires", String(NOW + 1)]]));
    await t.settled();
    assert.deepEqual(t.submitted.map((j) => [j.id, j.startBy]), [["x2", NOW + 1]]);
    t.d.onMessage(message(3, "add", [["Qw-Id", "x3"]]));
    assert.deepEqual(t.submitted.map((j) => j.startBy), [NOW + 1, 0], "no expiry: 0");
  });

  it("the pool's expired outcome settles like the one at receipt: acked, REVOKED (expired), not started", async () => {
    const t = setUp();
    const m = message(4, "add", [["Qw-Id", "x4"], ["Qw-Expires", String(NOW + 1)]]);
    t.d.onMessage(m);
    t.d.onResult(t.submitted[0].ref, { kind: "expired", at: NOW + 1 }, 0);
    await t.settled();
    assert.deepEqual(m.ops, ["ack"]);
    assert.equal(t.store.records.get("x4")?.reason, "expired");
    assert.ok(!t.events.some((e) => e.type === "job.started"));
  });

  it("a task's own expires counts from when the server stored the job; the job's own header wins", async () => {
    const t = setUp();
    // Stored 5 s ago with a 2 s task expiry: expired.
    t.d.onMessage(message(5, "brief", [["Qw-Id", "x5"]]));
    // Its own expiry, later: it runs.
    t.d.onMessage(message(6, "brief", [["Qw-Id", "x6"], ["Qw-Expires", String(NOW + 60_000)]]));
    await t.settled();
    assert.equal(t.store.records.get("x5")?.reason, "expired");
    assert.deepEqual(t.submitted.map((j) => [j.id, j.startBy]), [["x6", NOW + 60_000]]);
  });

  it("a bad Qw-Expires is an invalid job: dead-lettered with the reason", async () => {
    const t = setUp();
    t.d.onMessage(message(7, "add", [["Qw-Id", "x7"], ["Qw-Expires", "soon"]]));
    await t.settled();
    assert.deepEqual(t.submitted, []);
    assert.match(t.dead[0], /^Header 'Qw-Expires' must be epoch milliseconds/);
  });
});
