/**
 * Issue 3's rows WorkerLostError, hard time limit and soft time limit against
 * a real nats-server: the task kills its Web Worker (process.exit(), an
 * uncaught error in a timer), outlives its time limit (busy loop or await), or
 * sees its soft time limit. Concurrency 1, so the next job only runs if a
 * fresh Web Worker took the slot.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { assertAcked, assertTermed, Broker, isDeno, SLOW, withRun } from "../helpers/worker.ts";

let broker: Broker;
before(async () => {
  broker = await Broker.start();
});
after(async () => {
  await broker.stop();
});

// Deno 2.9: worker.terminate() does not stop a Web Worker thread stuck in a busy loop
// (denoland/deno PR 35657), so a hard time limit cannot free the slot there.
const DENO_BUSY_LOOP = isDeno &&
  "Deno 2.9's worker.terminate() does not stop a busy-looping Worker (denoland/deno PR 35657)";
// Term rows use a short ack wait: assertTermed() waits past it to prove no redelivery.
const ACK_WAIT = 1;
const termed = { ackWaitMs: ACK_WAIT * 1000 };
const one = { concurrency: 1 };

describe("WorkerLostError: the task calls process.exit()", () => {
  const modes = [
    { name: "early ack", options: {} },
    { name: "acksLate without rejectOnWorkerLost", options: { acksLate: true } },
  ];
  for (const m of modes) {
    it(`${m.name}: acked, FAILURE, run once, and a fresh Web Worker runs the next job`, {
      ...SLOW,
    }, async () => {
      await withRun(broker, "crash.ts", { ...one, ...m.options }, async (run) => {
        const id = run.id();
        const seq = await run.publish("crash", [], { id });
        const r = await run.waitResult(id, "FAILURE");
        assert.equal(r.error?.name, "WorkerLostError");
        assert.match(r.error!.message, /^Task 'crash' was running when its Web Worker exited with code 3$/);
        const next = run.id();
        await run.publish("ok", [], { id: next });
        await run.waitResult(next, "SUCCESS");
        await assertAcked(run, seq, { deliveries: 2 });
        assert.deepEqual(run.executions().map((x) => x.task), ["crash", "ok"]);
        assert.equal((await run.deadLetters()).length, 0);
        assert.equal(run.count("worker.lost"), 1);
      });
    });
  }

  it("acksLate + rejectOnWorkerLost: redelivered once, termed and dead-lettered after the second loss, never a loop", {
    ...SLOW,
  }, async () => {
    await withRun(
      broker,
      "crash.ts",
      { ...one, acksLate: true, rejectOnWorkerLost: true, ackWait: ACK_WAIT },
      async (run) => {
        const id = run.id();
        const seq = await run.publish("crash", [], { id });
        const [dl] = await run.waitDeadLetters(1);
        assert.equal(dl.reason, "Web Worker lost twice: the job was already redelivered once");
        assert.equal(dl.deliveries, 2);
        const r = await run.waitResult(id, "FAILURE", (x) => x.deliveryCount === 2);
        assert.equal(r.error?.name, "WorkerLostError");
        await assertTermed(run, seq, termed);
        assert.deepEqual(run.executions().map((x) => [x.deliveryCount, x.redelivered]), [[1, false], [2, true]]);
        assert.equal(run.count("job.requeued"), 1);
        const next = run.id();
        await run.publish("ok", [], { id: next });
        await run.waitResult(next, "SUCCESS");
      },
    );
  });

  it("acksLate + acksOnFailureOrTimeout=false: run once, termed, dead-lettered, FAILURE", {
    ...SLOW,
  }, async () => {
    const options = { ...one, acksLate: true, acksOnFailureOrTimeout: false, ackWait: ACK_WAIT };
    await withRun(broker, "crash.ts", options, async (run) => {
      const id = run.id();
      const seq = await run.publish("crash", [], { id });
      const [dl] = await run.waitDeadLetters(1);
      assert.equal(dl.reason, "Web Worker lost and 'acksOnFailureOrTimeout' is false");
      assert.equal((await run.waitResult(id, "FAILURE")).error?.name, "WorkerLostError");
      await assertTermed(run, seq, termed);
      assert.equal(run.executions().length, 1);
    });
  });
});

describe("WorkerLostError: an uncaught error in a timer callback", () => {
  it("ends the Web Worker: FAILURE WorkerLostError, acked, and the next job runs", SLOW, async () => {
    await withRun(broker, "uncaught.ts", one, async (run) => {
      const id = run.id();
      const seq = await run.publish("timerThrows", [], { id });
      const r = await run.waitResult(id, "FAILURE");
      assert.equal(r.error?.name, "WorkerLostError");
      assert.match(r.error!.message, /thrown in a timer callback/);
      const next = run.id();
      await run.publish("ok", [], { id: next });
      await run.waitResult(next, "SUCCESS");
      await assertAcked(run, seq, { deliveries: 2 });
      assert.deepEqual(run.executions().map((x) => x.task), ["timerThrows", "ok"]);
    });
  });
});

describe("hard time limit", () => {
  it("terminates a busy loop at its time limit; a fresh Web Worker runs the next job at once", {
    ...SLOW,
    skip: DENO_BUSY_LOOP,
  }, async () => {
    await withRun(broker, "hangs.ts", one, async (run) => {
      const id = run.id();
      const next = run.id();
      const seq = await run.publish("spin", [], { id });
      await run.publish("ok", [], { id: next });
      const r = await run.waitResult(id, "FAILURE");
      assert.equal(r.error?.name, "TimeLimitExceeded");
      await run.waitResult(next, "SUCCESS");
      const [spin, ok] = run.executions();
      const killed = run.times.get(await run.waitEvent("worker.time_limit"))!;
      assert.ok(
        killed - spin.t >= 500 && killed - spin.t < 800,
        `killed ${killed - spin.t} ms after start (limit 500 ms)`,
      );
      assert.ok(ok.t - killed < 1000, `next job started ${ok.t - killed} ms after the kill`);
      assert.equal(run.count("worker.lost"), 0, "a time limit is not a lost worker");
      await assertAcked(run, seq, { deliveries: 2 });
    });
  });

  for (const acksLate of [false, true]) {
    it(
      `terminates an awaiting task at its time limit: FAILURE TimeLimitExceeded, acked (acksLate ${
        acksLate ? "on" : "off"
      })`,
      SLOW,
      async () => {
        await withRun(broker, "slow.ts", { ...one, acksLate }, async (run) => {
          const id = run.id();
          const seq = await run.publish("sleepy", [2_000], { id });
          const r = await run.waitResult(id, "FAILURE");
          assert.equal(r.error?.name, "TimeLimitExceeded");
          const next = run.id();
          await run.publish("ok", [], { id: next });
          await run.waitResult(next, "SUCCESS");
          await assertAcked(run, seq, { deliveries: 2 });
          assert.deepEqual(run.runs().map((x) => x.note ?? x.task), ["sleepy", "ok"], "never woke up");
        });
      },
    );
  }

  it(
    "with acksLate + acksOnFailureOrTimeout=false: nak, run again, termed and dead-lettered at maxDeliveries",
    SLOW,
    async () => {
      const options = { ...one, acksLate: true, acksOnFailureOrTimeout: false, maxDeliveries: 2, ackWait: ACK_WAIT };
      await withRun(broker, "slow.ts", options, async (run) => {
        const id = run.id();
        const seq = await run.publish("sleepy", [2_000], { id });
        const [dl] = await run.waitDeadLetters(1);
        assert.equal(dl.reason, "Delivered 2 times, the cap of 'maxDeliveries' is 2");
        // Each run stores FAILURE; the second one's record replaces the first's.
        const r = await run.waitResult(id, "FAILURE", (x) => x.deliveryCount === 2);
        assert.equal(r.error?.name, "TimeLimitExceeded");
        await assertTermed(run, seq, termed);
        assert.deepEqual(run.executions().map((x) => [x.deliveryCount, x.redelivered]), [[1, false], [2, true]]);
      });
    },
  );
});

describe("soft time limit", () => {
  it("fires the task's abort signal; a task that catches SoftTimeLimitExceeded finishes: SUCCESS", SLOW, async () => {
    await withRun(broker, "soft.ts", one, async (run) => {
      const id = run.id();
      const seq = await run.publish("cleansUp", [], { id });
      const r = await run.waitResult(id, "SUCCESS");
      assert.equal(r.result, "cleaned up");
      const [start, caught] = run.runs();
      assert.equal(caught.note, "caught SoftTimeLimitExceeded");
      assert.ok(
        caught.t - start.t >= 190 && caught.t - start.t < 1000,
        `soft limit after ${caught.t - start.t} ms (limit 200 ms)`,
      );
      await assertAcked(run, seq, { deliveries: 1 });
      assert.equal(run.count("worker.lost") + run.count("worker.time_limit"), 0, "the Web Worker lives on");
    });
  });

  it("a task that does not catch it fails with SoftTimeLimitExceeded", SLOW, async () => {
    await withRun(broker, "soft.ts", one, async (run) => {
      const id = run.id();
      const seq = await run.publish("overruns", [], { id });
      const r = await run.waitResult(id, "FAILURE");
      assert.deepEqual({ name: r.error?.name, message: r.error?.message }, {
        name: "SoftTimeLimitExceeded",
        message: "Soft time limit (0.2s) exceeded",
      });
      await assertAcked(run, seq, { deliveries: 1 });
      assert.equal(run.executions().length, 1);
    });
  });
});
