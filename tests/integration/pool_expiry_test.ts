// The last check of a job's expiry is in its Web Worker, just before it
// starts: a job that expired while it waited in the pool behind a long one
// is refused there, without running and without counting as started.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Pool } from "../../src/worker/pool/pool.ts";
import { createTaskWorker } from "../../src/core/runtime.ts";
import { DEFAULT_TASK_DEFAULTS } from "../../src/core/config/config.ts";
import type { Outcome } from "../../src/core/job/ack_policy.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 30_000 };
const TASKS = pathToFileURL(resolve("tests/fixtures/tasks/pool.ts")).href;
const body = (args: unknown[]) => new TextEncoder().encode(JSON.stringify({ args }));

describe("the pool and a job's expiry", () => {
  it("a job that expires while it waits behind a long one is reported expired by its Web Worker and never starts", SLOW, async () => {
    const started: string[] = [];
    const results = new Map<string, Outcome>();
    const pool = await Pool.start<string>({
      size: 1,
      tasksUrl: TASKS,
      defaults: DEFAULT_TASK_DEFAULTS,
      maxTasksPerChild: null,
      createWorker: createTaskWorker,
      onStarted: (ref) => started.push(ref),
      onResult: (ref, outcome) => results.set(ref, outcome),
    });
    try {
      const job = (ref: string, args: unknown[], startBy?: number) =>
        pool.submit({ task: args.length ? "spin" : "now", data: body(args), id: ref, retries: 0, deliveryCount: 1, ref, startBy });
      const at = Date.now() + 150;
      job("long", [400]);
      job("late", [], at);
      job("fresh", [], Date.now() + 60_000);
      await waitFor(() => results.size === 3, { timeoutMs: 10_000 });
      assert.deepEqual(results.get("late"), { kind: "expired", at });
      assert.equal(results.get("long")?.kind, "success");
      assert.equal(results.get("fresh")?.kind, "success");
      assert.deepEqual(started, ["long", "fresh"], "an expired job never counts as started (no early ack)");
    } finally {
      await pool.close({ timeoutMs: 1_000 });
    }
  });
});
