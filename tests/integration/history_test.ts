// Counts that survive restarts: real dist/qw workers run jobs of every outcome
// (succeeded, failed, retried, dead-lettered, expired, revoked), every process
// stops, new ones start, and `qw inspect --json` and the dashboard's
// /api/overview show the same counts as before, from the stats bucket.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { connectClient } from "../../src/client/client.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { foldStale, openStats, StatsWriter } from "../../src/ops/history/stats_writer.ts";
import { readHistory, readStatsRecords } from "../../src/ops/history/stats_read.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import type { QwEvent } from "../../src/core/events.ts";

const TASKS = "tests/fixtures/tasks/dashboard.ts";
const EXPECTED = {
  add: { succeeded: 3, failed: 0, retried: 0, deadLettered: 0, expired: 1, revoked: 1 },
  fail: { succeeded: 0, failed: 2, retried: 0, deadLettered: 0, expired: 0, revoked: 0 },
  shaky: { succeeded: 0, failed: 1, retried: 1, deadLettered: 0, expired: 0, revoked: 0 },
  drop: { succeeded: 0, failed: 0, retried: 0, deadLettered: 1, expired: 0, revoked: 0 },
};
type Counts = typeof EXPECTED;

describe("history across restarts", () => {
  const t = useServer("history");

  it("qw inspect and the dashboard show the same counts per task after every process restarted", { timeout: 120_000 }, async () => {
    const stream = "hist";
    const worker = () => spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "2"]);
    const inspect = async (): Promise<{ tasks: Counts; totals: Record<string, number> }> => {
      const r = await runQw(["inspect", "--stream", stream, "--server", t.srv.url, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const h = JSON.parse(r.stdout).history;
      return { tasks: h.tasks, totals: h.totals };
    };
    const overview = async (url: string) => {
      const o = await (await fetch(url + "api/overview")).json();
      const tasks: Record<string, Record<string, number>> = {};
      for (const r of o.tasks) {
        tasks[r.task] = { succeeded: r.succeeded, failed: r.failed, retried: r.retried, deadLettered: r.deadLetteredTotal, expired: r.expired, revoked: r.revoked };
      }
      return { tasks, totals: o.totals, chart: o.history.chart };
    };

    const a = worker();
    const b = worker();
    await Promise.all([qwStarted(a), qwStarted(b)]);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      for (let i = 0; i < 3; i++) await client.enqueue("add", [i, i]);
      await client.enqueue("fail", ["one"]);
      await client.enqueue("fail", ["two"]);
      await client.enqueue("shaky", ["x"]);
      await client.enqueue("drop", ["y"]);
      await client.enqueue("add", [0, 0], { expires: new Date(Date.now() + 300), countdown: 1 });
      const revoked = await client.enqueue("add", [9, 9], { countdown: 1 });
      await client.revoke(revoked);
      let seen = "";
      await waitFor(async () => (seen = JSON.stringify(sortCounts((await inspect()).tasks))) === JSON.stringify(sortCounts(EXPECTED)), {
        timeoutMs: 30_000,
        intervalMs: 1000,
        message: () => `counts before the restart: ${seen}`,
      });
    } finally {
      await client.close();
    }
    const before = await inspect();

    // Every process stops; new ones (new names) start.
    assert.equal(await qwStop(a), 0);
    assert.equal(await qwStop(b), 0);
    assert.deepEqual(await inspect(), before, "with no process running");
    const c = worker();
    await qwStarted(c);
    const dash = spawnQw(["dashboard", "--stream", stream, "--server", t.srv.url, "--http", "127.0.0.1:0"]);
    try {
      const url = await waitFor(() => /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(dash.output())?.[1], { timeoutMs: 15_000, message: dash.output() });
      await sleep(6_000); // the new worker wrote its record at least once
      assert.deepEqual(await inspect(), before, "after the restart");
      const o = await overview(url);
      for (const [task, counts] of Object.entries(EXPECTED)) assert.deepEqual(o.tasks[task], counts, `dashboard row ${task}`);
      assert.equal(o.totals.succeeded, 3);
      assert.equal(o.totals.failed, 3);
      assert.ok(o.chart.succeeded.some((n: number) => n > 0), "the chart still has the jobs that ended before the restart");
    } finally {
      assert.equal(await qwStop(dash), 0);
      assert.equal(await qwStop(c), 0);
    }
  });
});

describe("stats folding", () => {
  const t = useServer("history-fold");

  it("folds a gone process's record into the base once, and a process folded while away writes only what it counted since", async () => {
    const kv = await openStats(t.nc, "fold");
    let now = 1_800_000_000_000;
    const clock = () => now;
    const ok = (id: string): QwEvent => ({ type: "job.succeeded", ms: 1, id, task: "add", retries: 0, deliveryCount: 1, seq: 1 });
    const a = new StatsWriter(kv, { stream: "fold", name: "host:1", now: clock });
    const b = new StatsWriter(kv, { stream: "fold", name: "host:2", now: clock });
    for (let i = 0; i < 3; i++) a.listener(ok(`a${i}`));
    b.listener(ok("b0"));
    await a.flush();
    await b.flush();
    const jsm = await jetstreamManager(t.nc);
    const total = async () => (await readHistory(jsm, "fold", now)).tasks.add.succeeded;
    assert.equal(await total(), 4);

    // Both go quiet for over a minute: two processes fold at once, each record lands in the base once.
    now += 61_000;
    const folded = await Promise.all([foldStale(kv, now), foldStale(kv, now)]);
    assert.equal(folded[0] + folded[1], 2);
    assert.deepEqual((await readStatsRecords(kv)).map((r) => r.name), ["base"]);
    assert.equal(await total(), 4);

    // They were only frozen: a counts two more and both write; nothing is counted twice.
    a.listener(ok("a3"));
    a.listener(ok("a4"));
    await a.flush();
    await b.flush();
    assert.equal(await total(), 6);
    await a.flush();
    assert.equal(await total(), 6);

    // A restart under the same name (a fixed --name): the new process's first write keeps its predecessor's counts.
    const again = new StatsWriter(kv, { stream: "fold", name: "host:1", now: clock });
    again.listener(ok("c0"));
    await again.flush();
    assert.equal(await total(), 7);
    await again.flush();
    assert.equal(await total(), 7);
  });
});

function sortCounts(c: Counts): Counts {
  return Object.fromEntries(Object.entries(c).sort(([x], [y]) => (x < y ? -1 : 1))) as Counts;
}
