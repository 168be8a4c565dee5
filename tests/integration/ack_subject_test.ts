/**
 * What qw reads from the ack subject, in every form a server sends it: v1,
 * `$JS.ACK.<stream>.<consumer>.<delivered>.…` (the default), and v2,
 * `$JS.ACK.<domain>.<account hash>.<stream>.…` (2.14+ with the feature flag
 * `js_ack_fc_v2`, to become the default), each with and without a JetStream
 * domain. The delivery count behind `redelivered`, rejectOnWorkerLost's
 * requeue-once and the delivery cap come from it, and the `+TERM` reason
 * (2.10+) reaches the server's MSG_TERMINATED advisory. The v2 forms are
 * skipped on servers before 2.14.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy } from "@nats-io/jetstream";
import { assertTermed, Broker, type Run, SLOW, withRun } from "../helpers/worker.ts";
import { serverAtLeast, serverVersion } from "../helpers/nats_server.ts";
import { waitFor } from "../helpers/wait.ts";

const ACK_WAIT = 1;
const termed = { ackWaitMs: ACK_WAIT * 1000 };
const V2 = "feature_flags { js_ack_fc_v2: true }";
const version = serverVersion().join(".");

interface Form {
  name: string;
  config?: string;
  domain?: string;
  /** The domain token of a v2 subject ("_" for none); undefined for v1. */
  v2Domain?: string;
}

const FORMS: Form[] = [
  { name: "v1" },
  { name: "v1 with domain 'hub'", domain: "hub" },
  { name: "v2 without a domain", config: V2, v2Domain: "_" },
  { name: "v2 with domain 'hub'", config: V2, domain: "hub", v2Domain: "hub" },
];

/** The MSG_TERMINATED advisories of a run's work consumer, by stream sequence: their `reason`. */
function termReasons(run: Run): Map<number, string> {
  const reasons = new Map<number, string>();
  const subject = `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${run.stream}.${run.names.consumer}`;
  run.broker.nc.subscribe(subject, {
    callback: (_err, m) => {
      const a = m?.json<{ stream_seq: number; reason?: string }>();
      if (a) reasons.set(a.stream_seq, a.reason ?? "");
    },
  });
  return reasons;
}

for (const form of FORMS) {
  const skip = form.v2Domain !== undefined && !serverAtLeast(2, 14)
    ? `nats-server ${version} sends v1 ack subjects only (v2 needs 2.14+)`
    : false;

  describe(`ack subjects ${form.name}`, { skip }, () => {
    let broker: Broker;
    before(async () => {
      broker = await Broker.start({ config: form.config, domain: form.domain });
    });
    after(async () => {
      await broker?.stop();
    });

    it("are the form the server was configured for", SLOW, async () => {
      const stream = `form_${Math.random().toString(36).slice(2, 8)}`;
      await broker.jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
      await broker.jsm.consumers.add(stream, { durable_name: "c", ack_policy: AckPolicy.Explicit });
      await broker.js.publish(`${stream}.x`, "x");
      // A pull request of our own: the delivered message's reply is the ack subject as the server wrote it.
      // noMux: the message arrives with its own subject, which a shared inbox cannot match to the request.
      const next = JSON.stringify({ batch: 1, expires: 5_000_000_000 });
      const m = await broker.nc.request(`$JS.API.CONSUMER.MSG.NEXT.${stream}.c`, next, { timeout: 6_000, noMux: true });
      assert.ok(m.reply, "an ack subject");
      const t = m.reply.split(".");
      if (form.v2Domain === undefined) {
        assert.deepEqual([t.length, t[2], t[3], t[4]], [9, stream, "c", "1"], m.reply);
      } else {
        assert.deepEqual([t.length, t[2], t[4], t[5], t[6]], [11, form.v2Domain, stream, "c", "1"], m.reply);
      }
      broker.nc.publish(m.reply);
    });

    it("rejectOnWorkerLost: redelivered once with delivery count 2, then termed and dead-lettered", SLOW, async () => {
      const options = { concurrency: 1, acksLate: true, rejectOnWorkerLost: true, ackWait: ACK_WAIT };
      await withRun(broker, "crash.ts", options, async (run) => {
        const id = run.id();
        const seq = await run.publish("crash", [], { id });
        const [dl] = await run.waitDeadLetters(1);
        assert.equal(dl.reason, "Web Worker lost twice: the job was already redelivered once");
        assert.equal(dl.deliveries, 2);
        await run.waitResult(id, "FAILURE", (x) => x.deliveryCount === 2);
        await assertTermed(run, seq, termed);
        assert.deepEqual(run.executions().map((x) => [x.deliveryCount, x.redelivered]), [[1, false], [2, true]]);
        assert.equal(run.count("job.requeued"), 1);
      });
    });

    it("the delivery cap terms at maxDeliveries, with the reason on servers that take one", SLOW, async () => {
      await withRun(broker, "reject.ts", { acksLate: true, maxDeliveries: 3, ackWait: ACK_WAIT }, async (run) => {
        const reasons = termReasons(run);
        await run.broker.nc.flush();
        const id = run.id();
        const seq = await run.publish("requeueAlways", [], { id });
        const [dl] = await run.waitDeadLetters(1);
        assert.equal(dl.reason, "Delivered 3 times, the cap of 'maxDeliveries' is 3");
        assert.equal(dl.deliveries, 3);
        await assertTermed(run, seq, termed);
        assert.deepEqual(run.executions().map((x) => x.deliveryCount), [1, 2, 3]);
        await waitFor(() => reasons.has(seq), { message: `the advisory of seq ${seq}` });
        const reason = reasons.get(seq);
        // +TERM <reason> is taken since 2.10; before, qw sends a bare +TERM.
        assert.equal(reason, serverAtLeast(2, 10) ? dl.reason : "");
      });
    });
  });
}
