/**
 * A property test of the job's life in one process, without NATS: the
 * dispatcher and the settler with fake messages, a fake pool, a fake sink and
 * results store that fail on command, and a fake clock. fast-check drives
 * deliveries (and redeliveries of held messages), starts, finishes whose
 * outcome waits, outcomes of every kind, revokes, lease passes and failing
 * effects, then a shutdown. The promises checked:
 *
 * - every job (stream sequence) the process took ends in exactly one ack,
 *   nak or term over all its deliveries;
 * - a job is run at most once per delivery, and never twice by this process;
 * - nothing is held at the end.
 *
 *   node_modules/.bin/bun test tests/unit/worker/intake/dispatch_property_test.ts
 *   QW_FUZZ_RUNS=2000 node_modules/.bin/bun test tests/unit/worker/intake/dispatch_property_test.ts
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { JsMsg } from "@nats-io/jetstream";
import type { Dispatcher, Held } from "../../../../src/worker/intake/dispatch.ts";
import { testDispatcher } from "../../../helpers/dispatcher.ts";
import type { Outcome } from "../../../../src/core/job/ack_policy.ts";
import type { ResolvedTaskOptions } from "../../../../src/core/types.ts";
import type { ResultStore } from "../../../../src/client/buckets/result_store.ts";
import { resolveTaskOptions } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const RUNS = Number(env.QW_FUZZ_RUNS) || 150;
const STREAM = "jobs";
const ACK_WAIT = 3_000;

interface FakeMsg {
  seq: number;
  ops: string[];
}

function fakeMsg(seq: number, deliveryCount: number, task: string, log: Map<number, string[]>): JsMsg & FakeMsg {
  const ops = log.get(seq) ?? [];
  log.set(seq, ops);
  const reply = `$JS.ACK.${STREAM}.c.${deliveryCount}.${seq}.${seq}.0.0`;
  const terminal = (op: string) => () => void ops.push(op);
  return {
    seq,
    ops,
    reply,
    subject: `${STREAM}.${task}`,
    data: new TextEncoder().encode(JSON.stringify({ args: [seq] })),
    headers: undefined,
    info: { streamSequence: seq, deliveryCount },
    ack: terminal("ack"),
    nak: terminal("nak"),
    term: terminal("term"),
    working: () => {},
  } as unknown as JsMsg & FakeMsg;
}

const OUTCOMES: Outcome[] = [
  { kind: "success", value: 1 },
  { kind: "error", error: { name: "TypeError", message: "x" }, autoretry: true },
  { kind: "error", error: { name: "Error", message: "x" }, autoretry: false },
  { kind: "retry", countdown: 1 },
  { kind: "reject", requeue: true, reason: "r" },
  { kind: "reject", requeue: false, reason: "r" },
  { kind: "ignore" },
  { kind: "worker_lost", error: { name: "WorkerLostError", message: "lost" } },
  { kind: "time_limit", error: { name: "TimeLimitExceeded", message: "t" } },
];

type Action =
  | { a: "deliver"; job: number }
  | { a: "start"; job: number }
  | { a: "finish"; job: number }
  | { a: "result"; job: number; outcome: number }
  | { a: "revoke"; job: number; terminate: boolean }
  | { a: "lease"; ms: number }
  | { a: "faults"; sink: boolean; store: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ a: fc.constant("deliver" as const), job: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ a: fc.constant("start" as const), job: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant("finish" as const), job: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ a: fc.constant("result" as const), job: fc.nat(7), outcome: fc.nat(OUTCOMES.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("revoke" as const), job: fc.nat(7), terminate: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ a: fc.constant("lease" as const), ms: fc.integer({ min: 100, max: 4_000 }) }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("faults" as const), sink: fc.boolean(), store: fc.boolean() }) },
);

async function scenario(actions: Action[], lateJobs: boolean[]): Promise<void> {
  let clock = 1_000_000;
  const ops = new Map<number, string[]>();
  const deliveries = new Map<number, number>();
  const runs = new Map<number, number>();
  const faults = { sink: false, store: false };
  const queued = new Set<Held>();
  const running = new Set<Held>();
  const revoked = new Set<string>();
  const fail = () => (faults.sink ? Promise.reject(new Error("sink down")) : Promise.resolve());
  const store = { write: () => (faults.store ? Promise.reject(new Error("store down")) : Promise.resolve()) } as unknown as ResultStore;
  const policy = (late: boolean): ResolvedTaskOptions => resolveTaskOptions({ acksLate: late, autoretryFor: [TypeError] }, DEFAULT_TASK_DEFAULTS);
  const tasks = { early: policy(false), late: policy(true) };
  const pending: Array<() => void> = [];
  const d: Dispatcher = testDispatcher({
    stream: STREAM,
    tasks: () => tasks,
    submit: (job) => queued.add(job.ref),
    withdraw: (h) => queued.delete(h),
    terminate: (h) => {
      if (!running.delete(h)) return false;
      pending.push(() => d.onResult(h, { kind: "revoked", reason: "terminated" }, 0));
      return true;
    },
    revoked: (id) => (revoked.has(id) ? { id, terminate: false, at: "" } : undefined),
    sink: { retry: fail, deadLetter: fail, defer: fail, handBack: fail },
    store,
    ackWaitMs: ACK_WAIT,
    random: () => 0.5,
    now: () => clock,
    sleep: () => Promise.resolve(),
  });
  const heldOf = (job: number) => [...d.held].find((h) => h.seq === job + 1);
  // Every fake resolves at once: settling needs microtask turns only.
  const settle = async () => {
    for (let i = 0; i < 30; i++) await Promise.resolve();
  };
  for (const act of actions) {
    switch (act.a) {
      case "deliver": {
        const seq = act.job + 1;
        const n = (deliveries.get(seq) ?? 0) + 1;
        // The server delivers a message again only while it is not acked (or was naked).
        const done = ops.get(seq)?.some((o) => o === "ack" || o === "term");
        if (done) break;
        deliveries.set(seq, n);
        d.onMessage(fakeMsg(seq, n, lateJobs[act.job] ? "late" : "early", ops));
        break;
      }
      case "start": {
        const h = heldOf(act.job);
        if (h && queued.delete(h)) {
          running.add(h);
          runs.set(h.seq, (runs.get(h.seq) ?? 0) + 1);
          d.onStarted(h);
        }
        break;
      }
      case "finish": {
        const h = heldOf(act.job);
        if (h && running.has(h)) d.onFinished(h);
        break;
      }
      case "result": {
        const h = heldOf(act.job);
        if (h && running.delete(h)) d.onResult(h, OUTCOMES[act.outcome], 1);
        break;
      }
      case "revoke":
        revoked.add(`${STREAM}:${act.job + 1}`);
        d.revoke({ id: `${STREAM}:${act.job + 1}`, terminate: act.terminate, at: "" });
        break;
      case "lease":
        clock += act.ms;
        d.touchLeases({ sinceProgressMs: act.ms });
        break;
      case "faults":
        faults.sink = act.sink;
        faults.store = act.store;
        break;
    }
    while (pending.length > 0) pending.shift()!();
    await settle();
  }
  // Shutdown: the faults heal, running jobs end, waiting ones go back.
  faults.sink = false;
  faults.store = false;
  for (const h of [...running]) {
    running.delete(h);
    d.onResult(h, { kind: "success", value: 1 }, 1);
  }
  d.releaseWaiting();
  for (const h of [...queued]) {
    queued.delete(h);
    d.handBack(h, "not started before shutdown");
  }
  await settle();
  d.stopSettling();
  await d.idle(1_000);
  await settle();
  assert.equal(d.held.size, 0, `held at the end: ${[...d.held].map((h) => `${h.seq}:${h.state}`).join(", ")}`);
  for (const [seq, list] of ops) {
    const terminal = list.filter((o) => o === "ack" || o === "nak" || o === "term");
    const naks = terminal.filter((o) => o === "nak").length;
    // Each delivery ends once; a nak lets the server deliver again, so a job may see nak, nak, ..., then one final op.
    assert.ok(terminal.length >= 1, `job ${seq} never settled (${list.join(",")})`);
    assert.ok(terminal.length <= (deliveries.get(seq) ?? 0), `job ${seq} settled ${terminal.length} times over ${deliveries.get(seq)} deliveries: ${list.join(",")}`);
    assert.ok(terminal.length - naks <= 1, `job ${seq} acked or termed more than once: ${list.join(",")}`);
  }
  for (const [seq, n] of runs) {
    assert.ok(n <= (deliveries.get(seq) ?? 0), `job ${seq} ran ${n} times over ${deliveries.get(seq)} deliveries`);
  }
}

describe("the job's life in one process (property)", () => {
  it("every delivery ends in one ack, nak or term, a job runs at most once per delivery, nothing stays held", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 60 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), scenario),
      { numRuns: RUNS },
    );
  });

  it("a redelivery of a job this process holds is the same job: it runs once", async () => {
    await scenario([
      { a: "deliver", job: 0 },
      { a: "deliver", job: 0 },
      { a: "start", job: 0 },
      { a: "deliver", job: 0 },
      { a: "result", job: 0, outcome: 0 },
    ], [true]);
  });
});
