/**
 * Issue 3's Retry row and autoretry against a real nats-server: Celery's
 * numbers (maxRetries 3 = 4 runs, `null` = forever, the original error as the
 * failure), `dontAutoretryFor` winning, explicit retries, and the countdown
 * honoured by the server (not held in worker memory, not counted as a
 * redelivery, same task id).
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { assertAcked, Broker, type Run, type RunRecord, SLOW, withRun } from "../helpers/worker.ts";
import { waitFor } from "../helpers/wait.ts";

let broker: Broker;
before(async () => {
  broker = await Broker.start();
});
after(async () => {
  await broker.stop();
});

/** Scheduling allowance on top of Celery's ±10 %: pull, release and start of the next run. */
const ALLOWANCE_MS = 150;

/** Milliseconds between consecutive runs, each measured from the failing run to the next. */
const gaps = (runs: RunRecord[]): number[] => runs.slice(1).map((r, i) => r.t - runs[i].t);

function assertCountdown(gap: number, countdownS: number): void {
  const ms = countdownS * 1000;
  assert.ok(gap >= ms * 0.9 && gap <= ms * 1.1 + ALLOWANCE_MS, `gap ${gap} ms for a countdown of ${ms} ms`);
}

/** Every run is the same job: same id, retries 0, 1, 2, ..., first delivery each time. */
function assertRetriesOf(runs: RunRecord[], id: string): void {
  assert.deepEqual(runs.map((r) => r.id), runs.map(() => id), "the task id stays the same");
  assert.deepEqual(runs.map((r) => r.retries), runs.map((_, i) => i), "retries one higher each run");
  assert.deepEqual(runs.map((r) => r.redelivered), runs.map(() => false), "the wait is not a redelivery");
  assert.deepEqual(runs.map((r) => r.deliveryCount), runs.map(() => 1));
}

/** Nothing left anywhere: work stream empty (delayed copies included), nothing unacked, no dead letter. */
async function assertClean(run: Run, messagesPublished: number): Promise<void> {
  const ci = await run.settled();
  assert.equal(ci.delivered.consumer_seq, messagesPublished, "each attempt is a new message, delivered once");
  assert.equal((await run.deadLetters()).length, 0);
}

describe("autoretry", () => {
  for (const acksLate of [false, true]) {
    it(
      `autoretry with maxRetries 3 runs 4 times and fails with the original error (acksLate ${
        acksLate ? "on" : "off"
      })`,
      SLOW,
      async () => {
        await withRun(broker, "retry.ts", { acksLate, defaultRetryDelay: 0.5 }, async (run) => {
          const id = run.id();
          const seq = await run.publish("flaky", [], { id });
          const r = await run.waitResult(id, "FAILURE");
          assert.deepEqual({ name: r.error?.name, message: r.error?.message }, {
            name: "TypeError",
            message: "network down (run 4)",
          });
          assert.equal(r.retries, 3);
          const runs = run.executions();
          assert.equal(runs.length, 4);
          assertRetriesOf(runs, id);
          for (const gap of gaps(runs)) assertCountdown(gap, 0.5);
          const scheduled = run.events.filter((e) => e.type === "job.retry_scheduled");
          assert.deepEqual(scheduled.map((e) => e.type === "job.retry_scheduled" && [e.retries, e.countdown]), [
            [0, 0.5],
            [1, 0.5],
            [2, 0.5],
          ]);
          assert.equal(run.count("job.failed"), 1);
          await assertAcked(run, seq, { deliveries: 4 });
          await assertClean(run, 4);
        });
      },
    );
  }

  it("autoretry with maxRetries null retries past 3 until the task succeeds", SLOW, async () => {
    await withRun(broker, "retry.ts", { defaultRetryDelay: 0.1 }, async (run) => {
      const id = run.id();
      await run.publish("recovers", [5], { id });
      const r = await run.waitResult(id, "SUCCESS");
      assert.equal(r.result, "recovered after 5 retries");
      assert.equal(r.retries, 5);
      const runs = run.executions();
      assert.equal(runs.length, 6);
      assertRetriesOf(runs, id);
      await assertClean(run, 6);
    });
  });

  it("dontAutoretryFor wins over autoretryFor: one run, FAILURE", SLOW, async () => {
    await withRun(broker, "retry.ts", { defaultRetryDelay: 0.1 }, async (run) => {
      const id = run.id();
      const seq = await run.publish("neverRetried", [], { id });
      const r = await run.waitResult(id, "FAILURE");
      assert.equal(r.error?.name, "BadInput");
      assert.equal(run.count("job.retry_scheduled"), 0);
      await assertAcked(run, seq, { deliveries: 1 });
      assert.equal(run.executions().length, 1);
    });
  });
});

describe("explicit retry", () => {
  it("ctx.retry() honours its countdown (±10 %) with the job held by the server, not the worker", SLOW, async () => {
    await withRun(broker, "retry.ts", { acksLate: true }, async (run) => {
      const id = run.id();
      await run.publish("explicit", [1, 2], { id });
      await run.waitResult(id, "RETRY");
      // During the countdown: the worker holds nothing, the delayed copy waits in the stream.
      const waiting = await waitFor(async () => {
        const ci = await run.consumer();
        return run.svc.held === 0 && ci.num_ack_pending === 0 && ci.num_pending === 0 ? ci : null;
      }, { timeoutMs: 500, message: "original acked, nothing held" });
      assert.equal(waiting.delivered.consumer_seq, 1);
      assert.equal(await run.streamMessages(), 1, "the delayed attempt waits in the work stream");
      assert.equal(run.executions().length, 1);
      const r = await run.waitResult(id, "FAILURE");
      assert.deepEqual({ name: r.error?.name, message: r.error?.message }, {
        name: "SyntaxError",
        message: "gave up at retry 2",
      });
      const runs = run.executions();
      assert.equal(runs.length, 3, "maxRetries 2 from the call: 3 runs");
      assertRetriesOf(runs, id);
      for (const gap of gaps(runs)) assertCountdown(gap, 1);
      await assertClean(run, 3);
    });
  });

  it("a thrown Retry without exc fails with MaxRetriesExceededError when out of retries", SLOW, async () => {
    await withRun(broker, "retry.ts", {}, async (run) => {
      const id = run.id();
      await run.publish("thrown", [0.2], { id });
      const r = await run.waitResult(id, "FAILURE");
      assert.deepEqual({ name: r.error?.name, message: r.error?.message }, {
        name: "MaxRetriesExceededError",
        message: "Can't retry: no retries left",
      });
      const runs = run.executions();
      assert.equal(runs.length, 2, "the task's maxRetries 1: 2 runs");
      assertRetriesOf(runs, id);
      assertCountdown(gaps(runs)[0], 0.2);
      await assertClean(run, 2);
    });
  });
});
