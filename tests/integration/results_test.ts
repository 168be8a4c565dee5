// Results in the KV bucket: trackStarted stores STARTED while the job runs,
// then its final state, which a STARTED never overwrites.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { resolveConfig } from "../../src/core/config/config.ts";
import { startService } from "../../src/worker/service.ts";
import { useServer } from "../helpers/suite.ts";
import type { QwEvent } from "../../src/core/events.ts";
import { waitFor } from "../helpers/wait.ts";

describe("results", () => {
  const t = useServer("results");

  it("trackStarted stores STARTED while the job runs, then SUCCESS", { timeout: 30_000 }, async () => {
    const stream = "tracked";
    const cfg = resolveConfig(
      { server: t.srv.url, stream, tasks: "tests/fixtures/tasks/tracked.ts", concurrency: 1, grace: 1 },
      { env: {}, cpuCount: 1, hostname: "test", pid: 1 },
    );
    const svc = await startService(cfg);
    try {
      await jetstream(t.nc).publish(`${stream}.tracked`, JSON.stringify({ args: [600] }), { msgID: "t1" });
      const kv = await new Kvm(t.nc).open(`qw_${stream}_results`);
      const state = async () => (await kv.get("t1"))?.json<{ state: string; result?: number }>();
      const started = await waitFor(async () => (await state())?.state === "STARTED", { timeoutMs: 5_000 });
      assert.ok(started);
      const done = await waitFor(async () => {
        const s = await state();
        return s?.state === "SUCCESS" ? s : null;
      }, { timeoutMs: 5_000 });
      assert.equal(done.result, 600);
    } finally {
      await svc.close();
    }
  });

  it("a returned Map, BigInt or Set is stored converted, with one event per task", { timeout: 30_000 }, async () => {
    const stream = "nonjson";
    const cfg = resolveConfig(
      { server: t.srv.url, stream, tasks: "tests/fixtures/tasks/non_json.ts", concurrency: 1, grace: 1 },
      { env: {}, cpuCount: 1, hostname: "test", pid: 1 },
    );
    const svc = await startService(cfg);
    const events: QwEvent[] = [];
    svc.events.on((e) => events.push(e));
    try {
      const js = jetstream(t.nc);
      for (const [task, id] of [["map", "m1"], ["map", "m2"], ["big", "b1"], ["set", "s1"]]) {
        await js.publish(`${stream}.${task}`, JSON.stringify({ args: [] }), { msgID: id });
      }
      const kv = await new Kvm(t.nc).open(`qw_${stream}_results`);
      const result = (id: string) =>
        waitFor(async () => {
          const r = (await kv.get(id))?.json<{ state: string; result?: unknown }>();
          return r?.state === "SUCCESS" ? r.result : null;
        }, { timeoutMs: 5_000 });
      assert.deepEqual(await result("m1"), [["a", 1], ["b", 2]]);
      assert.deepEqual(await result("m2"), [["a", 1], ["b", 2]]);
      assert.equal(await result("b1"), "10");
      assert.deepEqual(await result("s1"), ["x", "y"]);
      const converted = events.filter((e) => e.type === "result.converted");
      assert.deepEqual(converted.map((e) => e.type === "result.converted" && [e.task, e.id]), [["map", "m1"], ["big", "b1"], ["set", "s1"]]);
    } finally {
      await svc.close();
    }
  });
});
