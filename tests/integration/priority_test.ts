// Priorities with real dist/qw processes: jobs waiting at several levels run
// highest first (jobs published the plain way at the default level, 5); a
// priority job enqueued behind a backlog of low ones starts at the next free
// slot; the lower levels still progress while higher ones wait; a retry keeps
// its priority. Tests assert order, never speed (scripts/priority_latency.ts
// measures that).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type Client, connectClient } from "../../src/client/client.ts";
import { spawnQw } from "../helpers/cli.ts";
import { runsIn } from "../helpers/runs.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";

const SLOW = { timeout: 90_000 };
const TASKS = "tests/fixtures/tasks/pause.ts";

describe("priorities", () => {
  const t = useServer("prio");
  let n = 0;

  function setUp() {
    const stream = `pr${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    const runs = (): RunRecord[] => runsIn(file).filter((r) => r.note === undefined);
    const start = async (concurrency: number) => {
      const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", String(concurrency)]);
      await qwStarted(qw);
      return qw;
    };
    return { stream, file, runs, start };
  }

  it("creates one durable consumer per other level, and jobs waiting at several levels run highest first; plain-subject jobs run at 5", SLOW, async () => {
    const { stream, file, runs, start } = setUp();
    // The stream and consumers exist before any job: a first process starts and stops.
    await qwStop(await start(1));
    const jsm = await jetstreamManager(t.nc);
    const names = (await jsm.consumers.list(stream).next()).map((c) => c.name).sort();
    for (const l of [0, 1, 2, 3, 4, 6, 7, 8, 9]) assert.ok(names.includes(`qw_${stream}_p${l}`), `consumer qw_${stream}_p${l} in ${names}`);
    assert.ok(!names.includes(`qw_${stream}_p5`));
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    const js = jetstream(t.nc);
    try {
      const want = new Map<string, number>();
      // Lowest first, so that arrival order alone would run them wrong.
      for (let i = 0; i < 2; i++) want.set(await client.enqueue("ok", [file], { priority: 0, id: `p0-${i}` }), 0);
      for (let i = 0; i < 2; i++) {
        // As an older client or another language publishes it: the plain subject, no priority anywhere.
        await js.publish(`${stream}.ok`, JSON.stringify({ args: [file] }), { msgID: `plain-${i}` });
        want.set(`plain-${i}`, 5);
      }
      for (let i = 0; i < 2; i++) want.set(await client.enqueue("ok", [file], { priority: 3, id: `p3-${i}` }), 3);
      for (let i = 0; i < 2; i++) want.set(await client.enqueue("ok", [file], { priority: 9, id: `p9-${i}` }), 9);
      const qw = await start(1);
      try {
        await waitFor(() => runs().length >= 8, { message: "not every job ran", timeoutMs: 30_000 });
        const order = runs().map((r) => want.get(r.id));
        // Fewer than 8 jobs ahead of the lowest: the floor does not turn, the order is strict.
        assert.deepEqual(order, [9, 9, 5, 5, 3, 3, 0, 0], `ran ${runs().map((r) => r.id)}`);
      } finally {
        await qwStop(qw);
      }
    } finally {
      await client.close();
    }
  });

  it("a priority-9 job enqueued behind a backlog of priority-0 jobs starts at the next free slot", SLOW, async () => {
    const { stream, file, runs, start } = setUp();
    const qw = await start(2);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.enqueueMany(Array.from({ length: 300 }, (_, i) => ({ task: "slow" as const, args: [file, 40], options: { priority: 0, id: `low-${i}` } })));
      await waitFor(() => runs().length >= 10, { message: "the backlog never started" });
      const before = runs().length;
      await client.enqueue("ok", [file], { priority: 9, id: "urgent" });
      await waitFor(() => runs().some((r) => r.id === "urgent"), { message: "the priority job never ran", timeoutMs: 30_000 });
      const all = runs();
      const at = all.findIndex((r) => r.id === "urgent");
      // Two slots: at most the jobs running or already pulled when it came, never the backlog.
      assert.ok(at - before <= 4, `${at - before} low jobs started between its enqueue and its start`);
      assert.ok(all.length < 300, "it did not wait for the backlog");
    } finally {
      await client.close();
      await qwStop(qw);
    }
  });

  it("a task's priority option is the priority of the jobs its schedule fires", SLOW, async () => {
    const stream = `pr${++n}`;
    const fired = t.nc.subscribe(`${stream}.p9.*`, { max: 1 });
    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/priority.ts", "--server", t.srv.url]);
    try {
      await qwStarted(qw);
      const got = await Promise.race([
        (async () => {
          for await (const m of fired) return m.subject;
          return null;
        })(),
        new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
      ]);
      assert.equal(got, `${stream}.p9.urgentTick`);
    } finally {
      fired.unsubscribe();
      await qwStop(qw);
    }
  });

  it("a lower level still progresses while a higher one always has jobs waiting (one in 9 by the floor)", SLOW, async () => {
    const { stream, file, runs, start } = setUp();
    await qwStop(await start(1));
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ task: "ok" as const, args: [file], options: { priority: 1, id: `low-${i}` } })));
      await client.enqueueMany(Array.from({ length: 120 }, (_, i) => ({ task: "ok" as const, args: [file], options: { priority: 8, id: `high-${i}` } })));
      const qw = await start(1);
      try {
        await waitFor(() => runs().length >= 125, { message: "not every job ran", timeoutMs: 60_000 });
        const ids = runs().map((r) => r.id);
        const lows = ids.flatMap((id, i) => id.startsWith("low-") ? [i] : []);
        const lastHigh = ids.lastIndexOf("high-119");
        assert.equal(lows.length, 5);
        assert.ok(lows[0] < 30, `the first low job ran only at ${lows[0]}`);
        assert.ok(lows[4] < lastHigh, `the low jobs waited for every high one: ${lows} vs ${lastHigh}`);
      } finally {
        await qwStop(qw);
      }
    } finally {
      await client.close();
    }
  });
});
