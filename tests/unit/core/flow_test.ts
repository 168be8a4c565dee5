// Flows as data: normalising, starting and advancing, as tables without NATS.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  afterJoin,
  chain,
  chord,
  continueWith,
  type FlowAction,
  flowTasks,
  group,
  joinAdd,
  joinCount,
  normalizeFlow,
  sig,
  startFlow,
} from "../../../src/core/flow.ts";

/** Run a flow to its end in memory: `tasks` computes each step; joins are kept in a map. */
function simulate(flow: unknown, tasks: Record<string, (...a: number[]) => unknown>): { value: unknown; ran: string[] } {
  const ran: string[] = [];
  const joins = new Map<string, ReturnType<typeof joinAdd>["state"]>();
  const values = new Map<string, unknown>();
  let queue: FlowAction[] = startFlow(normalizeFlow(JSON.parse(JSON.stringify(flow))));
  for (let guard = 0; guard < 10_000; guard++) {
    const a = queue.shift();
    if (a === undefined) throw new Error("the flow stopped without a result");
    if (a.kind === "done") return { value: a.value, ran };
    if (a.kind === "run") {
      ran.push(`${a.step.task}${a.step.path}`);
      queue.push(...continueWith(a.step.then, tasks[a.step.task](...(a.step.args as number[]))));
    } else {
      values.set(`${a.join}.${a.index}`, a.value);
      const r = joinAdd(joins.get(a.join) ?? null, a.index, a.n);
      joins.set(a.join, r.state);
      if (r.complete) queue.push(...afterJoin(a, Array.from({ length: a.n }, (_, i) => values.get(`${a.join}.${i}`))));
    }
  }
  throw new Error("too many steps");
}

const T = {
  add: (a: number, b = 0) => a + b,
  mul: (a: number, b: number) => a * b,
  square: (n: number) => n * n,
  sum: (xs: unknown) => (xs as number[]).reduce((s, x) => s + x, 0),
  one: () => 1,
};

describe("flows", () => {
  const rows: [string, unknown, unknown][] = [
    ["a chain passes each result as the first argument of the next step", chain(sig("add", [1, 1]), sig("add", [2]), sig("mul", [10])), 40],
    ["a group's result is its members' results in order", group(...[1, 2, 3].map((n) => sig("square", [n]))), [1, 4, 9]],
    ["a chord calls its body with the group's list", chord(group(sig("square", [2]), sig("square", [3])), sig("sum")), 13],
    ["a group followed by a step in a chain is a chord", chain(group(sig("square", [2]), sig("square", [3])), sig("sum"), sig("add", [1])), 14],
    ["a chain may contain a chord", chain(sig("add", [1, 1]), chord([sig("square"), sig("add", [3])], sig("sum")), sig("mul", [2])), 2 * (4 + 5)],
    ["an immutable step takes no parent result", chain(sig("add", [1, 1]), sig("one").immutable(), sig("add", [1])), 2],
    ["nested chains flatten", chain(sig("add", [1, 1]), chain(sig("add", [1]), chain(sig("add", [1])))), 4],
    ["an empty group gives [] and a chord with an empty header calls its body with []", chain(chord([], sig("sum")), sig("add", [5])), 5],
    ["a single step is a flow of one", sig("add", [2, 3]), 5],
  ];
  for (const [name, flow, want] of rows) {
    it(`startFlow()/continueWith(): ${name}`, () => assert.deepEqual(simulate(flow, T).value, want));
  }

  it("startFlow() names steps by path: <flow id>.0, .1, a group's members .1.0 ..., a chord's body .1.body", () => {
    const { ran } = simulate(chain(sig("add", [1, 1]), chord([sig("square"), sig("square")], sig("sum"))), T);
    assert.deepEqual(ran, ["add.0", "square.1.0", "square.1.1", "sum.1.body"]);
  });

  it("joinAdd() counts each member once, so a redelivered member neither double-counts nor loses the body", () => {
    let r = joinAdd(null, 0, 2);
    assert.deepEqual([r.changed, r.complete], [true, false]);
    r = joinAdd(r.state, 0, 2);
    assert.deepEqual([r.changed, r.complete], [false, false]);
    r = joinAdd(r.state, 1, 2);
    assert.deepEqual([r.changed, r.complete], [true, true]);
    const again = joinAdd(r.state, 1, 2);
    assert.deepEqual([again.changed, again.complete], [false, true], "the last member, run again, publishes the body again (deduplicated)");
    assert.equal(joinAdd({ ...r.state, failed: "f.0" }, 1, 2).complete, false, "a failed member stops the body");
  });

  it("joinAdd() keeps a 1,000-member join small and complete only when every member is in, in any order", () => {
    const order = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    let s = null as ReturnType<typeof joinAdd>["state"] | null;
    for (const [k, i] of order.entries()) {
      const r = joinAdd(s, i, 1000);
      assert.equal(r.complete, k === 999, `after ${k + 1}`);
      s = r.state;
    }
    assert.equal(joinCount(s!), 1000);
    assert.ok(JSON.stringify(s).length < 300, JSON.stringify(s).length.toString());
  });

  it("normalizeFlow() rejects what is not a flow with one line naming the step", () => {
    assert.throws(() => normalizeFlow({ chain: [{ task: "ok", args: [] }, { task: "bad name", args: [] }] }), {
      name: "TypeError",
      message: /^Cannot start flow as step '.1' must be a task name without whitespace/,
    });
    assert.throws(() => normalizeFlow({ group: [{ task: "ok" }] }), { message: /step '.0' must be a sig with an 'args' array/ });
    assert.throws(() => normalizeFlow(42), { message: /^Cannot start flow as the flow must be a sig, chain, group or chord: current value is 42$/ });
  });

  it("flowTasks() lists every task a flow names", () => {
    assert.deepEqual(flowTasks(normalizeFlow(chain(sig("a"), chord([sig("b"), sig("c")], sig("d"))))), ["a", "b", "c", "d"]);
  });
});
