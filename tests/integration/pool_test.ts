// The Web Worker pool under a real worker: recycling after maxTasksPerChild,
// and a slow job never strands the jobs queued behind it while another Web
// Worker is idle.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { resolveConfig } from "../../src/core/config/config.ts";
import { startService } from "../../src/worker/service.ts";
import { MemoryResultStore } from "../../src/client/buckets/result_store.ts";
import { useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };

describe("pool behaviour", () => {
  const t = useServer("pool");

  async function worker(stream: string, extra: Record<string, unknown>) {
    const cfg = resolveConfig(
      { server: t.srv.url, stream, tasks: "tests/fixtures/tasks/pool.ts", grace: 1, ...extra },
      { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
    );
    const store = new MemoryResultStore();
    const svc = await startService(cfg, { store });
    return { svc, store };
  }

  it("maxTasksPerChild recycles a Web Worker after N jobs", SLOW, async () => {
    const stream = "recycle";
    const { svc, store } = await worker(stream, { concurrency: 1, maxTasksPerChild: 3 });
    const recycled: number[] = [];
    svc.events.on((e) => e.type === "worker.recycled" && recycled.push(e.jobs));
    try {
      const js = jetstream(t.nc);
      for (let i = 0; i < 7; i++) await js.publish(`${stream}.count`, JSON.stringify({ args: [] }), { msgID: `c${i}` });
      await waitFor(() => store.records.size === 7, { timeoutMs: 15_000 });
      const counts = Array.from({ length: 7 }, (_, i) => store.records.get(`c${i}`)!.result);
      assert.deepEqual(counts, [1, 2, 3, 1, 2, 3, 1]);
      assert.deepEqual(recycled, [3, 3]);
    } finally {
      await svc.close();
    }
  });

  for (const ahead of [0, 4]) {
    it(`a slow job does not strand the jobs queued behind it while another Web Worker is idle (${ahead} fast jobs ahead)`, SLOW, async () => {
      await strands(`strand${ahead}`, ahead);
    });
  }

  // With fast jobs ahead, the slow one follows a finished job whose result is still batched in its Web Worker.
  async function strands(stream: string, ahead: number) {
    const { svc, store } = await worker(stream, { concurrency: 2 });
    try {
      const js = jetstream(t.nc);
      // Warm up: fast jobs make the pool send deep windows.
      await Promise.all(Array.from({ length: 300 }, (_, i) => js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `w${i}` })));
      await waitFor(() => store.records.size === 300, { timeoutMs: 15_000 });
      const t0 = Date.now();
      const pubs = Array.from({ length: ahead }, (_, i) => js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `a${i}` }));
      pubs.push(js.publish(`${stream}.spin`, JSON.stringify({ args: [3_000] }), { msgID: "slow" }));
      for (let i = 0; i < 200; i++) pubs.push(js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `f${i}` }));
      await Promise.all(pubs);
      await waitFor(() => store.records.get("slow"), { timeoutMs: 15_000 });
      const slowDone = store.records.get("slow")!.result as number;
      const fast = Array.from({ length: 200 }, (_, i) => store.records.get(`f${i}`)?.result as number | undefined);
      assert.ok(fast.every((t) => t !== undefined), "every fast job ran");
      const lastFast = Math.max(...(fast as number[]));
      assert.ok(lastFast < slowDone - 1_000, `fast jobs finished ${slowDone - lastFast} ms before the slow one (started at ${t0})`);
    } finally {
      await svc.close();
    }
  }

  it("a busy loop behind a finished job whose result is not sent yet still meets its time limit; nothing is held", SLOW, async () => {
    const stream = "hidden";
    const { svc, store } = await worker(stream, { concurrency: 1, ackWait: 2 });
    const lost: string[] = [];
    svc.events.on((e) => e.type === "worker.time_limit" && lost.push(e.id));
    try {
      const js = jetstream(t.nc);
      // Warm up: fast jobs make the pool send deep windows, so what follows goes to the Web Worker in one batch.
      await Promise.all(Array.from({ length: 300 }, (_, i) => js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `w${i}` })));
      await waitFor(() => store.records.size === 300, { timeoutMs: 15_000 });
      // The first job after a pause reports at once; the second finishes within the batching delay, so its
      // result waits to be sent while the busy loop begins.
      const pubs = [0, 1].map((i) => js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `before${i}` }));
      pubs.push(js.publish(`${stream}.spinForever`, JSON.stringify({ args: [] }), { msgID: "spin" }));
      for (let i = 0; i < 5; i++) pubs.push(js.publish(`${stream}.now`, JSON.stringify({ args: [] }), { msgID: `after${i}` }));
      await Promise.all(pubs);
      const spin = await waitFor(() => store.records.get("spin"), { timeoutMs: 5_000, message: "the busy loop was never stopped" });
      assert.equal(spin.state, "FAILURE");
      assert.equal(spin.error?.name, "TimeLimitExceeded");
      // The fast jobs in front of it were reported before the busy loop began, not lost with its Web Worker.
      assert.equal(store.records.get("before0")?.state, "SUCCESS");
      assert.equal(store.records.get("before1")?.state, "SUCCESS");
      await waitFor(() => [0, 1, 2, 3, 4].every((i) => store.records.get(`after${i}`)?.state === "SUCCESS"), { timeoutMs: 5_000 });
      await waitFor(() => svc.held === 0, { timeoutMs: 5_000, message: "jobs still held" });
      assert.deepEqual(lost, ["spin"]);
    } finally {
      await svc.close();
    }
  });
});
