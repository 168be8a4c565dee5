/** Counts of settled jobs per worker and per task, as the worker records carry them. */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { workerCounts } from "../../../src/ops/presence.ts";
import { Metrics } from "../../../src/ops/metrics.ts";
import type { QwEvent } from "../../../src/core/events.ts";

const job = (task: string, seq: number) => ({ id: `j${seq}`, task, retries: 0, deliveryCount: 1, seq });

describe("workerCounts()", () => {
  it("counts settled jobs in total and per task from the metrics; running jobs come from the caller", () => {
    const m = new Metrics({ stream: "jobs" });
    const events: QwEvent[] = [
      { type: "job.succeeded", ms: 1, ...job("add", 1) },
      { type: "job.succeeded", ms: 1, ...job("add", 2) },
      { type: "job.failed", ms: 1, error: { name: "Error", message: "x" }, ...job("add", 3) },
      { type: "job.rejected", reason: "nope", ...job("mail", 4) },
      { type: "job.retry_scheduled", countdown: 1, ...job("mail", 5) },
      { type: "job.started", ...job("add", 6) },
    ];
    for (const e of events) m.listener(e);
    const c = workerCounts(m.snapshot().jobs, [{ task: "add", acked: true }, { task: "slow", acked: false }]);
    assert.deepEqual([c.done, c.failed, c.retried], [2, 2, 1]);
    assert.deepEqual(c.tasks, {
      add: { done: 2, failed: 1, retried: 0, running: 1, unacked: 0 },
      mail: { done: 0, failed: 1, retried: 1, running: 0, unacked: 0 },
      slow: { done: 0, failed: 0, retried: 0, running: 1, unacked: 1 },
    });
  });
});
