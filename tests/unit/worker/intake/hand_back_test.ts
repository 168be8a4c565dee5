/**
 * Hand-backs are not runs: a job handed back without running goes back as a
 * copy carrying the runs before it (`Qw-Runs`), so the delivery cap and
 * rejectOnWorkerLost's requeue-once count runs. Dispatcher and settler with
 * a fake server that delivers each copy the sink publishes; no NATS.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsMsg } from "@nats-io/jetstream";
import type { Held } from "../../../../src/worker/intake/dispatch.ts";
import { testDispatcher } from "../../../helpers/dispatcher.ts";
import { Emitter, type QwEvent } from "../../../../src/core/events.ts";
import { resolveTaskOptions } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";

interface Sent {
  ops: string[];
}

function msg(seq: number, deliveryCount: number, headers: Record<string, string>): JsMsg & Sent {
  const ops: string[] = [];
  return {
    ops,
    reply: `$JS.ACK.jobs.c.${deliveryCount}.${seq}.${seq}.0.0`,
    subject: "jobs.t",
    data: new TextEncoder().encode('{"args":[]}'),
    headers: { get: (k: string) => headers[k] ?? "", [Symbol.iterator]: () => Object.entries(headers).map(([k, v]) => [k, [v]])[Symbol.iterator]() },
    info: { streamSequence: seq, deliveryCount },
    ack: () => void ops.push("ack"),
    nak: () => void ops.push("nak"),
    term: () => void ops.push("term"),
    working: () => {},
  } as unknown as JsMsg & Sent;
}

function setUp(options: Record<string, unknown>) {
  const copies: { id: string; runsBefore: number }[] = [];
  const queued: Held[] = [];
  const events: QwEvent[] = [];
  const emitter = new Emitter();
  emitter.on((e) => events.push(e));
  const ok = () => Promise.resolve();
  const d = testDispatcher({
    tasks: () => ({ t: resolveTaskOptions(options, DEFAULT_TASK_DEFAULTS) }),
    submit: (job) => queued.push(job.ref),
    withdraw: (h) => queued.splice(queued.indexOf(h), 1).length === 1,
    sink: {
      retry: ok,
      deadLetter: ok,
      defer: ok,
      handBack: (h, runsBefore) => {
        copies.push({ id: h.id, runsBefore });
        return ok();
      },
    },
    emitter,
  });
  return { d, copies, queued, events };
}

const tick = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("hand-backs are not runs", () => {
  it("a job handed back six times without running still runs: never dead-lettered as 'delivered 6 times'", async () => {
    const { d, copies, queued, events } = setUp({});
    let m = msg(1, 1, { "Qw-Id": "a" });
    for (let i = 0; i < 6; i++) {
      d.onMessage(m);
      d.handBack(queued.pop()!, "not started before shutdown");
      await tick();
      assert.deepEqual(m.ops, ["ack"], "the original is acked once its copy is stored, never naked");
      // The server delivers the copy: a new message, delivery 1, carrying the runs before it.
      const c = copies.at(-1)!;
      m = msg(10 + i, 1, { "Qw-Id": c.id, ...(c.runsBefore > 0 ? { "Qw-Runs": String(c.runsBefore) } : {}) });
    }
    assert.deepEqual(copies.map((c) => c.runsBefore), [0, 0, 0, 0, 0, 0]);
    d.onMessage(m);
    assert.equal(queued.length, 1, "the seventh delivery runs");
    assert.ok(!events.some((e) => e.type === "job.rejected"));
  });

  it("a copy keeps the runs before it: a job that ran twice and was then handed back carries Qw-Runs 2", async () => {
    const { d, copies, queued } = setUp({ acksLate: true });
    d.onMessage(msg(1, 3, { "Qw-Id": "b" }));
    d.handBack(queued.pop()!, "not started before shutdown");
    await tick();
    assert.deepEqual(copies, [{ id: "b", runsBefore: 2 }]);
  });

  it("rejectOnWorkerLost after a hand-back: requeued once (nak), not termed as lost twice", async () => {
    const { d, copies, queued } = setUp({ acksLate: true, rejectOnWorkerLost: true });
    d.onMessage(msg(1, 1, { "Qw-Id": "c" }));
    d.handBack(queued.pop()!, "waited");
    await tick();
    const copy = msg(2, 1, { "Qw-Id": "c", ...(copies[0].runsBefore > 0 ? { "Qw-Runs": String(copies[0].runsBefore) } : {}) });
    d.onMessage(copy);
    const h = queued.pop()!;
    d.onStarted(h);
    d.onResult(h, { kind: "worker_lost", error: { name: "WorkerLostError", message: "lost" } }, 0);
    await tick();
    assert.deepEqual(copy.ops, ["nak"]);
  });

  it("the delivery cap counts runs carried by a copy: Qw-Runs 5 at delivery 1 is over a cap of 5", async () => {
    const { d, queued, events } = setUp({});
    const m = msg(1, 1, { "Qw-Id": "d", "Qw-Runs": "5" });
    d.onMessage(m);
    await tick();
    assert.equal(queued.length, 0);
    assert.ok(events.some((e) => e.type === "job.rejected" && e.id === "d"));
    assert.deepEqual(m.ops, ["term"]);
  });
});

describe("a hand-back's copy and its original", () => {
  it("handBack() renews the original's lease before its copy is stored, and acks it after: never two live copies", async () => {
    const order: string[] = [];
    let stored!: () => void;
    // The copy is stored when the test says so: until the server answers, the original's ack wait keeps running.
    const { d, queued } = setUpWithSlowCopy((done) => {
      order.push("copy published");
      stored = done;
    });
    const m = msg(1, 1, { "Qw-Id": "e" });
    m.working = () => void order.push("working");
    m.ack = () => void order.push("ack");
    d.onMessage(m);
    d.handBack(queued.pop()!, "waited two thirds of the ack wait");
    await tick();
    assert.deepEqual(order, ["working", "copy published"], "the lease is renewed before the copy's round trip");
    stored();
    await tick();
    assert.deepEqual(order, ["working", "copy published", "ack"]);
  });
});

/** A dispatcher whose sink stores a hand-back's copy only when `onCopy`'s callback is called. */
function setUpWithSlowCopy(onCopy: (stored: () => void) => void) {
  const queued: Held[] = [];
  const ok = () => Promise.resolve();
  const d = testDispatcher({
    tasks: () => ({ t: resolveTaskOptions({}, DEFAULT_TASK_DEFAULTS) }),
    submit: (job) => queued.push(job.ref),
    withdraw: (h) => queued.splice(queued.indexOf(h), 1).length === 1,
    sink: { retry: ok, deadLetter: ok, defer: ok, handBack: () => new Promise<void>((r) => onCopy(r)) },
  });
  return { d, queued };
}
