// The pool with batch tasks (real Web Workers, no server): calls are filled up
// to their size or wait, and each item comes back as a job of its own.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BatchPool } from "../../src/worker/pool/batch_pool.ts";
import { createTaskWorker } from "../../src/core/runtime.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../src/core/config/config.ts";
import type { Outcome } from "../../src/core/job/ack_policy.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 30_000 };
const TASKS = pathToFileURL(resolve("tests/fixtures/tasks/batch.ts")).href;
const encoder = new TextEncoder();

async function start(size = 1) {
  const started: string[] = [];
  const results = new Map<string, Outcome>();
  const pool = await BatchPool.start<string>({
    size,
    tasksUrl: TASKS,
    defaults: DEFAULT_TASK_DEFAULTS,
    maxTasksPerChild: null,
    createWorker: createTaskWorker,
    onStarted: (ref) => started.push(ref),
    onResult: (ref, outcome) => results.set(ref, outcome),
  });
  const submit = (ref: string, body: string, startBy?: number) =>
    pool.submit({ task: "napAll", data: encoder.encode(body), id: ref, retries: 0, deliveryCount: 1, ref, startBy });
  return { pool, started, results, submit };
}

describe("the pool with batch tasks", () => {
  it("a body that is not a job fails alone, never started, and never joins a call", SLOW, async () => {
    const { pool, started, results, submit } = await start();
    try {
      submit("a", JSON.stringify({ args: ["a", 0] }));
      submit("bad", "{not json");
      submit("b", JSON.stringify({ args: ["b", 0] }));
      await waitFor(() => results.size === 3, { timeoutMs: 10_000 });
      assert.equal(results.get("bad")?.kind, "invalid");
      assert.deepEqual(results.get("a"), { kind: "success", value: "a" });
      assert.deepEqual(results.get("b"), { kind: "success", value: "b" });
      assert.deepEqual(started.sort(), ["a", "b"]);
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });

  it("a full batch goes at once; the rest waits for its wait", SLOW, async () => {
    const { pool, results, submit } = await start();
    try {
      for (const r of ["1", "2", "3", "4", "5"]) submit(r, JSON.stringify({ args: [r, 0] }));
      await waitFor(() => results.size === 4, { timeoutMs: 10_000 });
      assert.deepEqual([...results.keys()].sort(), ["1", "2", "3", "4"], "the full call of 4 ran first");
      await waitFor(() => results.size === 5, { timeoutMs: 10_000 });
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });

  it("the time limit applies to the whole call: every item of a call past it fails with time_limit", SLOW, async () => {
    const { pool, results, submit } = await start();
    try {
      submit("quick", JSON.stringify({ args: ["quick", 0] }));
      submit("slow", JSON.stringify({ args: ["slow", 2_000] }));
      await waitFor(() => results.size === 2, { timeoutMs: 10_000 });
      assert.deepEqual([results.get("quick")?.kind, results.get("slow")?.kind], ["time_limit", "time_limit"]);
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });

  it("an item that expired while its call waited is reported expired; the others run", SLOW, async () => {
    const { pool, results, submit } = await start();
    try {
      submit("long", JSON.stringify({ args: ["long", 200] }));
      await sleep(100); // the first call runs
      const at = Date.now() + 50;
      submit("late", JSON.stringify({ args: ["late", 0] }), at);
      submit("fresh", JSON.stringify({ args: ["fresh", 0] }), Date.now() + 60_000);
      await waitFor(() => results.size === 3, { timeoutMs: 10_000 });
      assert.deepEqual(results.get("late"), { kind: "expired", at });
      assert.deepEqual(results.get("fresh"), { kind: "success", value: "fresh" });
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });

  it("withdraw() takes an item back from a batch being filled; stop() gives back what was not sent", SLOW, async () => {
    const { pool, results, submit } = await start();
    try {
      submit("x", JSON.stringify({ args: ["x", 0] }));
      submit("y", JSON.stringify({ args: ["y", 0] }));
      assert.equal(pool.held, 2);
      assert.equal(pool.withdraw("x"), true);
      assert.deepEqual(pool.stop(), ["y"]);
      await sleep(200);
      assert.equal(results.size, 0, "nothing ran");
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });

  it("room: each free place in the pool takes a whole batch of the largest size, less what is being filled", SLOW, async () => {
    const { pool, submit } = await start(2);
    try {
      // Two Web Workers, one job each until run times are known; the largest batch in the tasks file is 100.
      assert.equal(pool.room, 2 * 100);
      submit("r", JSON.stringify({ args: ["r", 0] }));
      assert.equal(pool.room, 2 * 100 - 1);
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });
});
