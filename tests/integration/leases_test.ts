// Leases follow progress: a job that waits too long without starting goes back
// to the server; with results on, an acksLate job is acked only once its result
// is stored; a dead-lettered job with an id gets a FAILURE record saying why.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as makeHeaders } from "@nats-io/nats-core";
import { resolveConfig } from "../../src/core/config/config.ts";
import type { QwEvent } from "../../src/core/events.ts";
import { startService } from "../../src/worker/service.ts";
import { MemoryResultStore, type ResultRecord } from "../../src/client/buckets/result_store.ts";
import { useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };

/** A result store whose writes wait until the test lets them through (or fail). */
class GatedStore extends MemoryResultStore {
  open = false;
  failing = false;
  writes: ResultRecord[] = [];
  override async write(record: ResultRecord): Promise<void> {
    this.writes.push(record);
    await waitFor(() => this.open || this.failing, { timeoutMs: 30_000 });
    if (this.failing) throw new Error("the results bucket is unavailable");
    return super.write(record);
  }
}

describe("leases and results", () => {
  const t = useServer("leases");

  async function worker(stream: string, extra: Record<string, unknown>, store = new MemoryResultStore()) {
    const cfg = resolveConfig(
      { server: t.srv.url, stream, tasks: "tests/fixtures/tasks/pool.ts", grace: 1, ...extra },
      { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
    );
    const events: QwEvent[] = [];
    const svc = await startService(cfg, { store });
    svc.events.on((e) => events.push(e));
    return { svc, store, events };
  }

  it("a job that waited two thirds of the ack wait without starting goes back to the server, then runs", SLOW, async () => {
    const stream = "waited";
    const { svc, store, events } = await worker(stream, { concurrency: 1, ackWait: 1.5 });
    try {
      const js = jetstream(t.nc);
      await Promise.all(Array.from({ length: 300 }, (_, i) => js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `w${i}` })));
      await waitFor(() => store.records.size === 300, { timeoutMs: 15_000 });
      // One Web Worker, busy for 3 s: the jobs queued behind it can only wait.
      const pubs = [js.publish(`${stream}.spin`, JSON.stringify({ args: [3_000] }), { msgID: "slow" })];
      for (let i = 0; i < 5; i++) pubs.push(js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `q${i}` }));
      await Promise.all(pubs);
      await waitFor(() => [0, 1, 2, 3, 4].every((i) => store.records.get(`q${i}`)?.state === "SUCCESS"), { timeoutMs: 15_000 });
      const back = events.filter((e): e is Extract<QwEvent, { type: "job.handed_back" }> => e.type === "job.handed_back");
      assert.ok(back.length >= 1, "at least one waiting job was handed back");
      for (const e of back) {
        assert.equal(e.cause, "waited");
        assert.match(e.reason, /^waited \d+(\.\d)? s in this process without starting: another process may run it$/);
      }
      // Handed back as a copy that carries the runs before it: a hand-back is not a run, and the copy
      // starts again at delivery 1, however often it was handed back.
      for (const e of back) {
        const r = store.records.get(e.id)!;
        assert.equal(r.deliveryCount, 1, `${e.id} ran on delivery ${r.deliveryCount}`);
        assert.equal(r.state, "SUCCESS");
      }
      const slow = store.records.get("slow")!;
      assert.equal(slow.state, "SUCCESS");
      assert.equal(slow.deliveryCount, 1, "the running job kept its lease for twice its ack wait");
    } finally {
      await svc.close();
    }
  });

  it("acksLate: the job is acked only after its result is stored", SLOW, async () => {
    const stream = "storedfirst";
    const store = new GatedStore();
    const { svc } = await worker(stream, { concurrency: 1, acksLate: true, ackWait: 5 }, store);
    try {
      const jsm = await jetstreamManager(t.nc);
      await jetstream(t.nc).publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: "late1" });
      await waitFor(() => store.writes.length === 1, { timeoutMs: 10_000 });
      await sleep(300);
      const held = await jsm.consumers.info(stream, `qw_${stream}`);
      assert.equal(held.num_ack_pending, 1, "not acked while its result is being written");
      store.open = true;
      await waitFor(async () => (await jsm.consumers.info(stream, `qw_${stream}`)).num_ack_pending === 0, { timeoutMs: 5_000 });
      assert.equal(store.records.get("late1")?.state, "SUCCESS");
    } finally {
      await svc.close();
    }
  });

  it("acksLate: a result that cannot be stored is written again while the lease is held; the task does not run again", SLOW, async () => {
    const stream = "notstored";
    const store = new GatedStore();
    store.failing = true;
    const { svc, events } = await worker(stream, { concurrency: 1, acksLate: true, ackWait: 2 }, store);
    try {
      const jsm = await jetstreamManager(t.nc);
      await jetstream(t.nc).publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: "late2" });
      // The store stays down for twice the ack wait: the lease is renewed meanwhile, so nothing is redelivered.
      await waitFor(() => store.writes.length >= 3, { timeoutMs: 10_000 });
      await sleep(4_000);
      assert.equal((await jsm.consumers.info(stream, `qw_${stream}`)).num_ack_pending, 1, "not acked while its result is not stored");
      store.failing = false;
      store.open = true;
      const r = await waitFor(() => store.records.get("late2"), { timeoutMs: 10_000 });
      assert.equal(r.state, "SUCCESS");
      assert.equal(r.deliveryCount, 1, "it ran once, on its first delivery");
      await waitFor(async () => (await jsm.consumers.info(stream, `qw_${stream}`)).num_ack_pending === 0, { timeoutMs: 5_000 });
      assert.equal(events.filter((e) => e.type === "job.started" && e.id === "late2").length, 1, "the task ran once");
      assert.ok(events.some((e) => e.type === "result.store_failed" && e.id === "late2"));
      assert.ok(!events.some((e) => e.type === "job.requeued" && e.id === "late2"));
    } finally {
      await svc.close();
    }
  });

  it("early ack: a result that cannot be stored is written again until it is stored; the job is not held meanwhile", SLOW, async () => {
    const stream = "earlynotstored";
    const store = new GatedStore();
    store.failing = true;
    const { svc, events } = await worker(stream, { concurrency: 1, ackWait: 2 }, store);
    try {
      const jsm = await jetstreamManager(t.nc);
      await jetstream(t.nc).publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: "early1" });
      // Acked when it started: nothing is held while the results bucket is away, and the write is tried again.
      await waitFor(() => store.writes.length >= 3, { timeoutMs: 10_000 });
      assert.equal((await jsm.consumers.info(stream, `qw_${stream}`)).num_ack_pending, 0, "acked early");
      store.failing = false;
      store.open = true;
      const r = await waitFor(() => store.records.get("early1"), { timeoutMs: 10_000 });
      assert.equal(r.state, "SUCCESS");
      assert.equal(events.filter((e) => e.type === "job.started" && e.id === "early1").length, 1, "the task ran once");
      assert.ok(events.some((e) => e.type === "result.store_failed" && e.id === "early1"));
    } finally {
      await svc.close();
    }
  });

  it("a dead-lettered job with an id gets a FAILURE record with the reason", SLOW, async () => {
    const stream = "deadids";
    const { svc, store } = await worker(stream, { concurrency: 1 });
    try {
      const js = jetstream(t.nc);
      const h = makeHeaders();
      h.set("Qw-Id", "unknown-1");
      await js.publish(`${stream}.noSuchTask`, JSON.stringify({ args: [] }), { headers: h });
      await js.publish(`${stream}.now`, "not json", { msgID: "badbody-1" });
      const unknown = await waitFor(() => store.records.get("unknown-1"), { timeoutMs: 10_000 });
      assert.equal(unknown.state, "FAILURE");
      assert.deepEqual(unknown.error, { name: "InvalidJobError", message: "Unknown task 'noSuchTask' (subject 'deadids.noSuchTask')" });
      assert.equal(unknown.deadLetter, "Unknown task 'noSuchTask' (subject 'deadids.noSuchTask')");
      const bad = await waitFor(() => store.records.get("badbody-1"), { timeoutMs: 10_000 });
      assert.equal(bad.state, "FAILURE");
      assert.equal(bad.error?.name, "InvalidJobError");
      assert.match(bad.deadLetter ?? "", /^Body is not valid JSON/);
    } finally {
      await svc.close();
    }
  });

  it("ignoreResult: the job runs and is acked, and nothing is stored for it", SLOW, async () => {
    const stream = "ignored";
    const { svc, store, events } = await worker(stream, { concurrency: 1, acksLate: true });
    try {
      const js = jetstream(t.nc);
      await js.publish(`${stream}.quiet`, JSON.stringify({ args: [] }), { msgID: "q1" });
      await js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: "n1" });
      await waitFor(() => store.records.get("n1"), { timeoutMs: 10_000 });
      await waitFor(() => events.some((e) => e.type === "job.succeeded" && e.id === "q1"), { timeoutMs: 10_000 });
      assert.equal(store.records.has("q1"), false);
      const jsm = await jetstreamManager(t.nc);
      await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 0, { timeoutMs: 5_000, message: "not acked" });
    } finally {
      await svc.close();
    }
  });
});
