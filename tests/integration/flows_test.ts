// Workflows with real dist/qw processes: chain, group, chord, a chain with a
// chord, failures in a chain and in a chord member, a chord's members fanned
// out as atomic batches (2.12+) and expanded twice, and kill -9 of one of two
// processes during a chord of 1,000 members.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chain, chord, group, sig } from "../../src/core/flow.ts";
import { type Client, connectClient } from "../../src/client/client.ts";
import { spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { serverFeatures } from "../../src/core/server_features.ts";

const SLOW = { timeout: 90_000 };
const TASKS = "tests/fixtures/tasks/flows.ts";

describe("workflows", () => {
  const t = useServer("flows");
  let stream = "";
  let client: Client;
  let stop: () => Promise<void> = async () => {};

  const start = async (name: string) => {
    stream = name;
    const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "2"]);
    await qwStarted(qw);
    client = await connectClient({ servers: t.srv.url, stream });
    stop = async () => {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    };
  };

  it("a chain passes each result on: add(1,1) -> add(2) -> mul(10) is 40, each step under <flow id>.<path>", SLOW, async () => {
    await start("chain");
    try {
      const id = await client.enqueueFlow(chain(sig("add", [1, 1]), sig("add", [2]), sig("mul", [10])));
      const r = await client.result(id, { timeout: 20 });
      assert.deepEqual([r.state, r.result], ["SUCCESS", 40]);
      // The flow advances before a step settles, so the last step's own record may land just after the flow's.
      const steps = await Promise.all([".0", ".1", ".2"].map((p) => client.result(`${id}${p}`, { timeout: 5 })));
      assert.deepEqual(steps.map((s) => s.result), [2, 4, 40]);
    } finally {
      await stop();
    }
  });

  it("a group of 100 gives its members' results in order; a chord of 100 sums them; a chain may hold a chord", SLOW, async () => {
    await start("groups");
    try {
      const n = Array.from({ length: 100 }, (_, i) => i + 1);
      const g = await client.enqueueFlow(group(...n.map((i) => sig("square", [i]))));
      const c = await client.enqueueFlow(chord(group(...n.map((i) => sig("square", [i]))), sig("sum")));
      const mixed = await client.enqueueFlow(chain(sig("add", [1, 1]), chord([sig("square"), sig("add", [3])], sig("sum")), sig("mul", [2])));
      assert.deepEqual((await client.result(g, { timeout: 30 })).result, n.map((i) => i * i));
      assert.equal((await client.result(c, { timeout: 30 })).result, n.reduce((s, i) => s + i * i, 0));
      assert.equal((await client.result(mixed, { timeout: 30 })).result, 2 * (4 + 5));
    } finally {
      await stop();
    }
  });

  it("a failing step ends the flow in FAILURE naming it; later steps and a chord's body never run", SLOW, async () => {
    await start("failures");
    try {
      const c = await client.enqueueFlow(chain(sig("add", [1, 1]), sig("boom"), sig("mul", [10])));
      const r = await client.result(c, { timeout: 20 });
      assert.equal(r.state, "FAILURE");
      assert.match(r.error!.message, new RegExp(`^Step '${c}\\.1' \\(task 'boom'\\) ended in FAILURE: RangeError: boom$`));
      const d = await client.enqueueFlow(chord([sig("square", [2]), sig("boom"), sig("square", [3])], sig("sum")));
      const rd = await client.result(d, { timeout: 20 });
      assert.equal(rd.state, "FAILURE");
      assert.match(rd.error!.message, new RegExp(`Step '${d}\\.0\\.1' \\(task 'boom'\\)`));
      await sleep(1000);
      assert.equal((await client.get(`${c}.2`)).state, "PENDING", "the step after the failure never ran");
      assert.equal((await client.get(`${d}.0.body`)).state, "PENDING", "the body never ran");
    } finally {
      await stop();
    }
  });

  it("a chord's 1,500 members go out as atomic batches of 1,000 and 500 on 2.12+ (one by one before); expanded twice, each runs once", SLOW, async () => {
    stream = "fanout";
    const runs = join(t.dir, "fanout-runs.txt");
    const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "4"], { env: { QW_FLOW_RUNS: runs } });
    // Every member as published, seen from outside by a plain subscriber.
    const seen: { batch: string; seq: string; commit: string }[] = [];
    const sub = t.nc.subscribe(`${stream}.sq`, {
      callback: (_e, m) => void seen.push({ batch: m.headers?.get("Nats-Batch-Id") ?? "", seq: m.headers?.get("Nats-Batch-Sequence") ?? "", commit: m.headers?.get("Nats-Batch-Commit") ?? "" }),
    });
    const lines = () => {
      try {
        return readFileSync(runs, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    };
    try {
      await qwStarted(qw);
      client = await connectClient({ servers: t.srv.url, stream });
      const n = 1500;
      const flow = chord(group(...Array.from({ length: n }, (_, i) => sig("sq", [i]))), sig("total"));
      const id = await client.enqueueFlow(flow);
      const r = await client.result<{ n: number; sum: number }>(id, { timeout: 60 });
      assert.equal(r.state, "SUCCESS");
      assert.equal(r.result!.n, n);
      // The same start again under another dedup id, as after a crash between publishing the members and acking
      // the start: the members' dedup ids make the stream refuse them all.
      await t.nc.request(`${stream}._flow`, JSON.stringify({ id, flow }), { timeout: 5000 });
      await waitFor(() => seen.length >= 2 * n, { timeoutMs: 20_000, message: () => `the second expansion published ${seen.length - n}` });
      await sleep(1000);
      const counts = new Map<string, number>();
      for (const l of lines()) counts.set(l, (counts.get(l) ?? 0) + 1);
      assert.equal(counts.size, n + 1, "every member and the body ran");
      assert.ok([...counts.values()].every((k) => k === 1), "none ran twice");
      const first = seen.slice(0, n);
      if (serverFeatures(t.nc.info?.version).atomicBatch) {
        assert.equal(new Set(first.map((m) => m.batch)).size, 2, "two batches");
        assert.deepEqual(first.flatMap((m, i) => (m.commit === "1" ? [i] : [])), [999, 1499]);
        assert.deepEqual([first[0].seq, first[999].seq, first[1000].seq, first[1499].seq], ["1", "1000", "1", "500"]);
      } else {
        assert.ok(first.every((m) => m.batch === ""), "no batch headers on a server without atomic batches");
      }
    } finally {
      sub.unsubscribe();
      await client?.close();
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("kill -9 of one of two processes during a chord of 1,000: the body runs once with all 1,000 results", SLOW, async () => {
    stream = "killchord";
    const runs = join(t.dir, "chord-runs.txt");
    const args = ["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "2", "--ack-wait", "3"];
    const env = { QW_FLOW_RUNS: runs };
    const a = spawnQw(args, { env });
    const b = spawnQw(args, { env });
    const lines = () => {
      try {
        return readFileSync(runs, "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    };
    let c: Awaited<ReturnType<typeof connectClient>> | null = null;
    try {
      await Promise.all([qwStarted(a), qwStarted(b)]);
      c = await connectClient({ servers: t.srv.url, stream });
      const n = 1000;
      const id = await c.enqueueFlow(chord(group(...Array.from({ length: n }, (_, i) => sig("sq", [i]))), sig("total")));
      await waitFor(() => lines().length >= 300, { timeoutMs: 30_000, message: "the chord never got going" });
      a.kill("SIGKILL");
      const r = await c.result<{ n: number; sum: number }>(id, { timeout: 60 });
      assert.equal(r.state, "SUCCESS");
      assert.deepEqual(r.result, { n, sum: Array.from({ length: n }, (_, i) => i * i).reduce((s, x) => s + x, 0) });
      await sleep(1000);
      const all = lines();
      assert.equal(all.filter((l) => l === `${id}.0.body`).length, 1, "the body ran exactly once");
      const counts = new Map<string, number>();
      for (const l of all) counts.set(l, (counts.get(l) ?? 0) + 1);
      const twice = [...counts].filter(([, k]) => k > 1);
      // Only acksLate members the victim had run but not yet acked (their result, join mark and ack in flight) run again.
      assert.ok(twice.length <= 100, `members run twice: ${twice.length}`);
      for (const [member] of twice) assert.notEqual(member, `${id}.0.body`);
    } finally {
      await c?.close();
      if (a.exitCode === null && a.signalCode === null) a.kill("SIGKILL");
      await qwStop(b);
    }
  });
});
