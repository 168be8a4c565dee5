// A flow's start message whose first steps cannot be published yet (no stream leader, a full stream) is tried again
// in the process with its lease renewed, not naked: each nak is a delivery, and the loop breaker counts deliveries.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { JsMsg } from "@nats-io/jetstream";
import { Emitter, type QwEvent } from "../../../../src/core/events.ts";
import type { FlowRunner } from "../../../../src/worker/flows/flow_runner.ts";
import { FlowStarter } from "../../../../src/worker/flows/flow_steps.ts";

function startMessage(calls: string[]): JsMsg {
  return {
    data: new TextEncoder().encode(JSON.stringify({ id: "f1", flow: { task: "add", args: [1, 2] } })),
    headers: undefined,
    ack: () => calls.push("ack"),
    nak: () => calls.push("nak"),
    working: () => calls.push("working"),
  } as unknown as JsMsg;
}

function starter(failures: number, o: { giveUpMs?: number } = {}) {
  const calls: string[] = [];
  const errors: string[] = [];
  const emitter = new Emitter();
  emitter.on((e: QwEvent) => e.type === "error" && errors.push(e.error));
  let starts = 0;
  const clock = { t: 0 };
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const runner = {
    start: () => ++starts <= failures ? Promise.reject(new Error("jetstream is not enabled")) : Promise.resolve(),
  } as unknown as FlowRunner;
  const s = new FlowStarter({
    runner,
    emitter,
    tasks: () => ({ add: {} }),
    invalid: () => calls.push("invalid"),
    ackWaitMs: 3_000,
    giveUpMs: o.giveUpMs,
    now: () => clock.t,
    sleep: (ms) => {
      clock.t += ms;
      return Promise.resolve();
    },
  });
  const msg = startMessage(calls);
  const watch = (m: JsMsg) => {
    for (const k of ["ack", "nak"] as const) {
      const f = m[k] as () => void;
      (m as unknown as Record<string, () => void>)[k] = () => (f(), done());
    }
  };
  watch(msg);
  return { start: () => s.startMessage(msg, { id: "f1", task: "_flow", retries: 0, deliveryCount: 1, seq: 1 }), calls, errors, finished, starts: () => starts, clock };
}

describe("FlowStarter", () => {
  it("tries a failed start again with the lease renewed, then acks once: no nak, one error line", async () => {
    const s = starter(3);
    s.start();
    await s.finished;
    assert.deepEqual(s.calls, ["working", "working", "working", "ack"]);
    assert.equal(s.starts(), 4);
    assert.deepEqual(s.errors, ["Cannot start flow 'f1': jetstream is not enabled; trying again (attempt 1)"]);
    // Each pause stays within a third of the ack wait, so the lease renewed before it never runs out.
    assert.ok(s.clock.t <= 3 * 1_000, `waited ${s.clock.t} ms`);
  });

  it("hands the message back (one nak) once the start has failed for giveUpMs", async () => {
    const s = starter(Infinity, { giveUpMs: 10_000 });
    s.start();
    await s.finished;
    assert.equal(s.calls.filter((c) => c === "nak").length, 1);
    assert.equal(s.calls.at(-1), "nak");
    assert.ok(!s.calls.includes("ack"));
    assert.match(s.errors.at(-1)!, /handing it back$/);
    assert.ok(s.errors.length < s.starts(), "not a line per attempt");
  });
});
