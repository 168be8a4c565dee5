// Workflows with real dist/qw processes: chain, group, chord, a chain with a
// chord, failures in a chain and in a chord member, and kill -9 of one of two
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
