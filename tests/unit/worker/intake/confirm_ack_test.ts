/**
 * confirmAck: strict at most once. The job is acked before the pool gets it,
 * and the pool gets it only once the server confirmed the ack. No NATS: a
 * fake message whose confirmation the test resolves.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsMsg } from "@nats-io/jetstream";
import type { Held } from "../../../../src/worker/intake/dispatch.ts";
import { testDispatcher } from "../../../helpers/dispatcher.ts";
import { Emitter, type QwEvent } from "../../../../src/core/events.ts";
import { resolveTaskOptions } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";

function msg(seq: number) {
  const ops: string[] = [];
  let confirm!: (ok: boolean) => void;
  let fail!: (e: Error) => void;
  const m = {
    reply: `$JS.ACK.jobs.c.1.${seq}.${seq}.0.0`,
    subject: "jobs.t",
    data: new TextEncoder().encode('{"args":[]}'),
    headers: undefined,
    info: { streamSequence: seq, deliveryCount: 1 },
    ack: () => void ops.push("ack"),
    ackAck: () => {
      ops.push("ackAck");
      return new Promise<boolean>((res, rej) => ((confirm = res), (fail = rej)));
    },
    nak: () => void ops.push("nak"),
    term: () => void ops.push("term"),
    working: () => {},
  } as unknown as JsMsg;
  return { m, ops, confirm: (ok: boolean) => confirm(ok), fail: (e: Error) => fail(e) };
}

function setUp() {
  const queued: Held[] = [];
  const copies: string[] = [];
  const events: QwEvent[] = [];
  const emitter = new Emitter();
  emitter.on((e) => events.push(e));
  const ok = () => Promise.resolve();
  const d = testDispatcher({
    tasks: () => ({ t: resolveTaskOptions({ confirmAck: true }, DEFAULT_TASK_DEFAULTS) }),
    submit: (job) => queued.push(job.ref),
    withdraw: (h) => queued.splice(queued.indexOf(h), 1).length === 1,
    sink: { retry: ok, deadLetter: ok, defer: ok, handBack: (h) => (copies.push(h.id), ok()) },
    emitter,
  });
  return { d, queued, copies, events };
}

const tick = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("confirmAck", () => {
  it("the pool gets the job only after the server confirmed its ack", async () => {
    const { d, queued } = setUp();
    const { m, ops, confirm } = msg(1);
    d.onMessage(m);
    await tick();
    assert.deepEqual(ops, ["ackAck"]);
    assert.equal(queued.length, 0, "not given to the pool before the confirmation");
    confirm(true);
    await tick();
    assert.equal(queued.length, 1);
    assert.equal(queued[0].acked, true);
    d.onStarted(queued[0]);
    d.onResult(queued[0], { kind: "success", value: 1 }, 1);
    await tick();
    assert.deepEqual(ops, ["ackAck"], "acked once, before the start; nothing after");
    assert.equal(d.held.size, 0);
  });

  it("a job whose ack is not confirmed is not run here and not held", async () => {
    const { d, queued, events } = setUp();
    const a = msg(1);
    const b = msg(2);
    d.onMessage(a.m);
    d.onMessage(b.m);
    a.confirm(false);
    b.fail(new Error("timeout"));
    await tick();
    assert.equal(queued.length, 0);
    assert.equal(d.held.size, 0);
    assert.equal(events.filter((e) => e.type === "error" && e.where === "confirm_ack").length, 2);
  });

  it("a confirmed job not started at shutdown goes back as a copy: acked, it cannot be naked", async () => {
    const { d, queued, copies } = setUp();
    const { m, ops, confirm } = msg(1);
    d.onMessage(m);
    confirm(true);
    await tick();
    const h = queued.pop()!;
    d.handBack(h, "not started before shutdown");
    await tick();
    assert.deepEqual(copies, ["jobs:1"]);
    assert.deepEqual(ops, ["ackAck"], "no nak or second ack of the original");
  });
});
