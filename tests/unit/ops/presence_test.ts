/** Counts of settled jobs per worker and per task, as the worker records carry them. */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobCounts } from "../../../src/ops/presence.ts";
import type { QwEvent } from "../../../src/core/events.ts";

const job = (task: string, seq: number) => ({ id: `j${seq}`, task, retries: 0, deliveryCount: 1, seq });

describe("JobCounts", () => {
  it("counts settled jobs in total and per task; running jobs come from the caller", () => {
    const c = new JobCounts();
    const events: QwEvent[] = [
      { type: "job.succeeded", ms: 1, ...job("add", 1) },
      { type: "job.succeeded", ms: 1, ...job("add", 2) },
      { type: "job.failed", ms: 1, error: { name: "Error", message: "x" }, ...job("add", 3) },
      { type: "job.rejected", reason: "nope", ...job("mail", 4) },
      { type: "job.retry_scheduled", countdown: 1, ...job("mail", 5) },
      { type: "job.started", ...job("add", 6) },
    ];
    for (const e of events) c.listener(e);
    assert.deepEqual([c.done, c.failed, c.retried], [2, 2, 1]);
    assert.deepEqual(c.perTask([{ task: "add", acked: true }, { task: "slow", acked: false }]), {
      add: { done: 2, failed: 1, retried: 0, running: 1, unacked: 0 },
      mail: { done: 0, failed: 1, retried: 1, running: 0, unacked: 0 },
      slow: { done: 0, failed: 0, retried: 0, running: 1, unacked: 1 },
    });
  });
});
