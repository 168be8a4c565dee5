import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { badReturnMessage, batchDueInMs, itemOutcomes, returnedOutcomes } from "../../../../src/core/task/batch.ts";
import type { Outcome } from "../../../../src/core/job/ack_policy.ts";
import { collectTasks, task } from "../../../../src/core/task/task.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../../../src/core/config/config.ts";

describe("batchDueInMs()", () => {
  const cases: [string, { count: number; firstAt: number }, { size: number; wait: number }, number, number][] = [
    ["a full batch goes now", { count: 100, firstAt: 1_000 }, { size: 100, wait: 0.05 }, 1_000, 0],
    ["an over-full batch goes now", { count: 3, firstAt: 1_000 }, { size: 2, wait: 5 }, 1_000, 0],
    ["size 1 goes with its first item", { count: 1, firstAt: 1_000 }, { size: 1, wait: 10 }, 1_000, 0],
    ["a first item waits the whole wait", { count: 1, firstAt: 1_000 }, { size: 100, wait: 0.05 }, 1_000, 50],
    ["later items wait what is left", { count: 7, firstAt: 1_000 }, { size: 100, wait: 0.05 }, 1_030, 20],
    ["the wait ran out: it goes now", { count: 7, firstAt: 1_000 }, { size: 100, wait: 0.05 }, 1_050, 0],
    ["long past the wait: still now, never negative", { count: 7, firstAt: 1_000 }, { size: 100, wait: 0.05 }, 9_000, 0],
    ["a wait of 0 goes at once", { count: 1, firstAt: 1_000 }, { size: 100, wait: 0 }, 1_000, 0],
  ];
  for (const [name, b, o, now, want] of cases) {
    it(`batchDueInMs(): ${name}`, () => assert.equal(batchDueInMs(b, o, now), want));
  }
});

describe("returnedOutcomes()", () => {
  const classify = (e: unknown): Outcome => ({ kind: "error", error: { name: (e as Error).name, message: (e as Error).message }, autoretry: false });
  const badReturn = (): Outcome => ({ kind: "invalid", reason: "bad return" });
  const retry = Object.assign(new Error("again"), { name: "Retry" });
  const cases: [string, unknown, number, Outcome[]][] = [
    ["one value per item: each its result", [1, "two", null], 3, [
      { kind: "success", value: 1 },
      { kind: "success", value: "two" },
      { kind: "success", value: null },
    ]],
    ["an Error fails its item alone", ["a", new TypeError("boom"), "c"], 3, [
      { kind: "success", value: "a" },
      { kind: "error", error: { name: "TypeError", message: "boom" }, autoretry: false },
      { kind: "success", value: "c" },
    ]],
    ["a Retry is classified as the item's own", [retry], 1, [{ kind: "error", error: { name: "Retry", message: "again" }, autoretry: false }]],
    ["undefined is a result (a task that returns nothing per item)", [undefined, undefined], 2, [
      { kind: "success", value: undefined },
      { kind: "success", value: undefined },
    ]],
    ["an error-like plain object is a result, not a failure", [{ name: "Error", message: "x" }], 1, [{ kind: "success", value: { name: "Error", message: "x" } }]],
    ["one result too few fails every item", [1], 2, [badReturn(), badReturn()]],
    ["one result too many fails every item", [1, 2, 3], 2, [badReturn(), badReturn()]],
    ["not an array fails every item", "done", 2, [badReturn(), badReturn()]],
    ["undefined fails every item", undefined, 1, [badReturn()]],
  ];
  for (const [name, returned, n, want] of cases) {
    it(`returnedOutcomes(): ${name}`, () => assert.deepEqual(returnedOutcomes(returned, n, { classify, badReturn }), want));
  }
});

describe("itemOutcomes()", () => {
  const lost: Outcome = { kind: "worker_lost", error: { name: "WorkerLostError", message: "gone" } };
  const limit: Outcome = { kind: "time_limit", error: { name: "TimeLimitExceeded", message: "too long" } };
  const per: Outcome[] = [{ kind: "success", value: 1 }, { kind: "ignore" }];
  const malformed: Outcome = {
    kind: "error",
    error: { name: "TypeError", message: "A batch call ended without one outcome per item (2 expected)" },
    autoretry: false,
  };
  const cases: [string, Outcome, number, Outcome[]][] = [
    ["a call that ran gives each item its own outcome", { kind: "success", value: { qwBatch: per } }, 2, per],
    ["a lost Web Worker fails every item alike", lost, 2, [lost, lost]],
    ["the time limit applies to the whole call", limit, 3, [limit, limit, limit]],
    ["a revoke of the call reaches every item", { kind: "revoked", reason: "r" }, 1, [{ kind: "revoked", reason: "r" }]],
    ["a call that cannot be sent back fails every item", malformed, 2, [malformed, malformed]],
    ["a success without one outcome per item fails every item", { kind: "success", value: { qwBatch: [per[0]] } }, 2, [malformed, malformed]],
    ["a plain success value fails every item", { kind: "success", value: [1, 2] }, 2, [malformed, malformed]],
  ];
  for (const [name, call, n, want] of cases) {
    it(`itemOutcomes(): ${name}`, () => assert.deepEqual(itemOutcomes(call, n), want));
  }
});

describe("badReturnMessage()", () => {
  const cases: [unknown, string][] = [
    [[1], "returned an array of 1"],
    [null, "returned null"],
    [undefined, "returned undefined"],
    ["x", "returned string"],
  ];
  for (const [returned, tail] of cases) {
    it(`badReturnMessage() names what came back: ${tail}`, () =>
      assert.equal(badReturnMessage("send", 3, returned), `Batch task 'send' must return an array of 3 results, one per item in order: ${tail}`));
  }
});

describe("a batch task's options", () => {
  it("collectTasks() resolves batch with the default wait of 0.1 s, and null for other tasks", () => {
    const tasks = collectTasks({
      sized: task({ batch: { size: 10 } }, (items) => items.map(() => 1)),
      waited: task({ batch: { size: 5, wait: 0 } }, (items) => items.map(() => 1)),
      plain: (x: number) => x,
    }, { ...DEFAULT_TASK_DEFAULTS });
    assert.deepEqual(tasks.get("sized")!.options.batch, { size: 10, wait: 0.1 });
    assert.deepEqual(tasks.get("waited")!.options.batch, { size: 5, wait: 0 });
    assert.equal(tasks.get("plain")!.options.batch, null);
  });
});
