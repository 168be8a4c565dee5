/**
 * Issue 3's table against a real nats-server, rows success, ordinary error,
 * Reject, Ignore and invalid messages, with acksLate off and on. Each test
 * counts executions (the fixtures' record file), reads the broker's action
 * from the server (consumer info, stream, MSG_TERMINATED advisories, the DLQ)
 * and the stored state from the KV bucket.
 *
 * Retries: semantics_retry_test.ts. Lost workers and time limits:
 * semantics_worker_test.ts.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { assertAcked, assertTermed, Broker, SLOW, withRun } from "../helpers/worker.ts";
import { waitFor } from "../helpers/wait.ts";

let broker: Broker;
before(async () => {
  broker = await Broker.start();
});
after(async () => {
  await broker.stop();
});

// Term rows use a short ack wait: assertTermed() waits past it to prove no redelivery.
const ACK_WAIT = 1;
const termed = { ackWaitMs: ACK_WAIT * 1000 };

describe("success", () => {
  it("acks a successful job when it starts (acksLate off) and stores SUCCESS", SLOW, async () => {
    await withRun(broker, "succeed.ts", {}, async (run) => {
      const id = run.id();
      const seq = await run.publish("nap", [700], { id });
      await run.waitExecutions(1);
      // The pool sees the start within its 10 ms tick; the ack follows.
      await waitFor(async () => (await run.consumer()).num_ack_pending === 0 && (await run.streamMessages()) === 0, {
        timeoutMs: 400,
        message: "acked and removed while still running",
      });
      assert.equal(run.runs().length, 1, "still running");
      const r = await run.waitResult(id, "SUCCESS");
      assert.equal(r.result, 700);
      assert.equal(run.runs().length, 2, "ran to the end");
      await assertAcked(run, seq, { deliveries: 1 });
    });
  });

  it("acks a successful job after the run with acksLate and stores SUCCESS", SLOW, async () => {
    await withRun(broker, "succeed.ts", { acksLate: true }, async (run) => {
      const id = run.id();
      const seq = await run.publish("nap", [700], { id });
      await run.waitExecutions(1);
      const during = await run.consumer();
      assert.equal(during.num_ack_pending, 1, "not acked while running");
      assert.equal(await run.streamMessages(), 1);
      const r = await run.waitResult(id, "SUCCESS");
      assert.equal(r.result, 700);
      await assertAcked(run, seq, { deliveries: 1 });
      assert.equal(run.executions().length, 1);
    });
  });
});

describe("ordinary error", () => {
  for (const acksLate of [false, true]) {
    it(
      `acks a failed job ${acksLate ? "after the run (acksLate)" : "at accept"} and stores FAILURE with the error`,
      SLOW,
      async () => {
        await withRun(broker, "throws.ts", { acksLate }, async (run) => {
          const id = run.id();
          const seq = await run.publish("fails", [], { id });
          const r = await run.waitResult(id, "FAILURE");
          assert.equal(r.error?.name, "Error");
          assert.equal(r.error?.message, "boom");
          await assertAcked(run, seq, { deliveries: 1 });
          assert.equal(run.executions().length, 1);
          assert.equal((await run.deadLetters()).length, 0);
          assert.equal(run.count("job.failed"), 1);
        });
      },
    );
  }

  it(
    "terms and dead-letters a failed job with acksLate and acksOnFailureOrTimeout=false (per-task options); FAILURE",
    SLOW,
    async () => {
      await withRun(broker, "throws.ts", { ackWait: ACK_WAIT }, async (run) => {
        const id = run.id();
        const seq = await run.publish("failsTerm", [], { id });
        const [dl] = await run.waitDeadLetters(1);
        assert.equal(dl.reason, "Task failed with Error: boom, no ack");
        assert.deepEqual(JSON.parse(dl.error!), { name: "Error", message: "boom, no ack" });
        assert.equal(dl.subject, `${run.stream}_dlq.failsTerm`);
        const r = await run.waitResult(id, "FAILURE");
        assert.equal(r.error?.message, "boom, no ack");
        await assertTermed(run, seq, termed);
        assert.equal(run.executions().length, 1);
      });
    },
  );
});

describe("Reject", () => {
  it("Reject(requeue=false) with early ack: already acked, FAILURE, dead-lettered with the reason", SLOW, async () => {
    await withRun(broker, "reject.ts", {}, async (run) => {
      const id = run.id();
      const seq = await run.publish("drop", [], { id });
      const r = await run.waitResult(id, "FAILURE");
      assert.deepEqual({ name: r.error?.name, message: r.error?.message }, { name: "Reject", message: "bad input" });
      const [dl] = await run.waitDeadLetters(1);
      assert.equal(dl.reason, "bad input");
      await assertAcked(run, seq, { deliveries: 1 });
      assert.equal(run.executions().length, 1);
    });
  });

  it("Reject(requeue=false) with acksLate: termed, FAILURE, dead-lettered with the reason", SLOW, async () => {
    await withRun(broker, "reject.ts", { acksLate: true, ackWait: ACK_WAIT }, async (run) => {
      const id = run.id();
      const seq = await run.publish("drop", [], { id });
      const [dl] = await run.waitDeadLetters(1);
      assert.equal(dl.reason, "bad input");
      assert.equal(dl.deliveries, 1);
      assert.equal((await run.waitResult(id, "FAILURE")).error?.name, "Reject");
      await assertTermed(run, seq, termed);
      assert.equal(run.executions().length, 1);
    });
  });

  it("Reject(requeue=true) with early ack: nothing to requeue, logged, nothing stored", SLOW, async () => {
    await withRun(broker, "reject.ts", {}, async (run) => {
      const id = run.id();
      const seq = await run.publish("requeueOnce", [], { id });
      const e = await run.waitEvent("job.requeued");
      assert.equal(e.note, "Cannot requeue: the job was acked when it started (early ack)");
      await assertAcked(run, seq, { deliveries: 1 });
      assert.equal(run.executions().length, 1);
      assert.equal(await run.result(id), null);
    });
  });

  it("Reject(requeue=true) with acksLate: nak, redelivered at once and run again", SLOW, async () => {
    await withRun(broker, "reject.ts", { acksLate: true }, async (run) => {
      const id = run.id();
      const seq = await run.publish("requeueOnce", [], { id });
      const r = await run.waitResult(id, "SUCCESS");
      assert.equal(r.result, "done on redelivery");
      assert.equal(r.deliveryCount, 2);
      const runs = run.executions();
      assert.deepEqual(runs.map((x) => [x.id, x.deliveryCount, x.redelivered, x.retries]), [[id, 1, false, 0], [
        id,
        2,
        true,
        0,
      ]]);
      assert.ok(runs[1].t - runs[0].t < 1000, "redelivered without waiting for ack_wait");
      await assertAcked(run, seq, { deliveries: 2 });
    });
  });

  it(
    "Reject(requeue=true) on every delivery is termed at maxDeliveries: FAILURE, dead-lettered, never a loop",
    SLOW,
    async () => {
      await withRun(broker, "reject.ts", { acksLate: true, maxDeliveries: 3, ackWait: ACK_WAIT }, async (run) => {
        const id = run.id();
        const seq = await run.publish("requeueAlways", [], { id });
        const [dl] = await run.waitDeadLetters(1);
        assert.equal(dl.reason, "Delivered 3 times, the cap of 'maxDeliveries' is 3");
        assert.equal(dl.deliveries, 3);
        await run.waitResult(id, "FAILURE", (x) => x.deliveryCount === 3);
        await assertTermed(run, seq, termed);
        assert.deepEqual(run.executions().map((x) => x.deliveryCount), [1, 2, 3]);
        assert.equal((await run.consumer()).delivered.consumer_seq, 3);
      });
    },
  );
});

describe("Ignore", () => {
  for (const acksLate of [false, true]) {
    it(`Ignore acks the job (acksLate ${acksLate ? "on" : "off"}) and stores nothing`, SLOW, async () => {
      await withRun(broker, "ignore.ts", { acksLate }, async (run) => {
        const id = run.id();
        const seq = await run.publish("skip", [], { id });
        await run.waitEvent("job.ignored");
        await assertAcked(run, seq, { deliveries: 1 });
        assert.equal(await run.result(id), null);
        assert.equal(run.executions().length, 1);
        assert.equal((await run.deadLetters()).length, 0);
      });
    });
  }
});

describe("unknown task and undecodable message", () => {
  const CASES = [
    {
      what: "an unknown task",
      task: "nope",
      body: '{"args":[]}',
      reason: /^Unknown task 'nope' \(subject 's_\w+\.nope'\)$/,
    },
    { what: "a body that is not JSON", task: "ok", body: "not json", reason: /^Body is not valid JSON: / },
    { what: "a body without an args array", task: "ok", body: '{"x":1}', reason: /^Body has no 'args' array/ },
  ];
  for (const acksLate of [false, true]) {
    const mode = `acksLate ${acksLate ? "on" : "off"}`;
    it(
      `dead-letters ${CASES.map((c) => c.what).join(", ")} with the reason; the next job runs (${mode})`,
      SLOW,
      async () => {
        await withRun(broker, "succeed.ts", { acksLate, ackWait: ACK_WAIT }, async (run) => {
          const seqs: number[] = [];
          for (const c of CASES) seqs.push(await run.publishRaw(c.task, c.body));
          const next = run.id();
          await run.publish("ok", [], { id: next });
          assert.equal((await run.waitResult(next, "SUCCESS")).result, "ok");
          const dls = await run.waitDeadLetters(CASES.length);
          for (const c of CASES) {
            const dl = dls.find((d) => d.subject === `${run.stream}_dlq.${c.task}` && d.data === c.body);
            assert.ok(dl, `dead letter for ${c.what}`);
            assert.match(dl.reason, c.reason);
          }
          assert.deepEqual(run.executions().map((x) => x.task), ["ok"], "only the valid job ran");
          for (const seq of seqs) await assertTermed(run, seq, termed);
          await run.settled();
        });
      },
    );
  }

  it("never acks an undecodable message as started with early ack: it is termed", SLOW, async () => {
    await withRun(broker, "succeed.ts", { concurrency: 1, ackWait: ACK_WAIT }, async (run) => {
      const seqs: number[] = [];
      for (let i = 0; i < 20; i++) seqs.push(await run.publishRaw("ok", "not json"));
      await run.waitDeadLetters(20);
      for (const seq of seqs) {
        await waitFor(() => run.terminated.includes(seq), { timeoutMs: 2000, message: `term of ${seq}` });
      }
      assert.equal(run.count("job.started"), 0);
    });
  });
});
