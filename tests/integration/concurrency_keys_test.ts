// Per-key concurrency with real dist/qw processes on a real nats-server: the
// limit holds across processes, keys take turns, no job is delivered in a
// loop, a killed process's slot frees within the ack wait, and a producer that
// sets only the header is served as the task's own key. Runs are recorded by
// the fixture tasks (tests/fixtures/tasks/keyed.ts) outside qw.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { headers as makeHeaders } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import { connectClient } from "../../src/client/client.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { runsIn } from "../helpers/runs.ts";
import { waitFor } from "../helpers/wait.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";

const SLOW = { timeout: 120_000 };
const TASKS = "tests/fixtures/tasks/keyed.ts";

/** The most runs of one key at once, from the start and end lines. */
function maxConcurrent(runs: RunRecord[]): Map<string, number> {
  const now = new Map<string, number>();
  const max = new Map<string, number>();
  for (const r of [...runs].sort((a, b) => a.t - b.t || (a.note!.startsWith("end") ? -1 : 1))) {
    const [what, key] = r.note!.split(" ");
    const n = (now.get(key) ?? 0) + (what === "start" ? 1 : -1);
    now.set(key, n);
    max.set(key, Math.max(max.get(key) ?? 0, n));
  }
  return max;
}

const starts = (runs: RunRecord[]) => runs.filter((r) => r.note!.startsWith("start "));

describe("per-key concurrency", () => {
  const t = useServer("keys");
  const common = (stream: string, extra: string[] = []) => ["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, ...extra];

  it("holds each key's limit across two processes, and every job runs once", SLOW, async () => {
    const stream = "k1";
    const file = join(t.dir, `${stream}.jsonl`);
    const a = spawnQw([...common(stream, ["--concurrency", "6", "--name", "a"])]);
    const b = spawnQw([...common(stream, ["--concurrency", "6", "--name", "b"])]);
    await Promise.all([qwStarted(a), qwStarted(b)]);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push(await client.enqueue("slot", [file, `k${i % 3}`, 150], { concurrencyKey: `k${i % 3}` }));
      await waitFor(() => starts(runsIn(file)).length === 30 && runsIn(file).length === 60, { timeoutMs: 60_000, message: "30 runs ended" });
      const max = maxConcurrent(runsIn(file));
      for (const k of ["k0", "k1", "k2"]) assert.equal(max.get(k), 2, `key ${k} ran at most (and at some point exactly) 2 at once`);
      assert.deepEqual(new Set(starts(runsIn(file)).map((r) => r.id)).size, 30, "each job ran once");
      assert.ok(starts(runsIn(file)).every((r) => r.deliveryCount <= 3), "no job delivered more than 3 times");
    } finally {
      await client.close();
      await Promise.all([qwStop(a), qwStop(b)]);
    }
  });

  it("serves keys in turn: every job of 20 small keys starts before the big key's 100th", SLOW, async () => {
    const stream = "k2";
    const file = join(t.dir, `${stream}.jsonl`);
    const client = await connectClient({ servers: t.srv.url, stream });
    // The jobs wait first (qw init made the stream): the big key's 1,000, then 20 keys of 5.
    assert.equal((await runQw(["init", "--stream", stream, "--server", t.srv.url])).code, 0);
    const jobs = [
      ...Array.from({ length: 1000 }, () => ({ task: "slot", args: [file, "big", 2], options: { concurrencyKey: "big" } })),
      ...Array.from({ length: 100 }, (_, i) => ({ task: "slot", args: [file, `s${i % 20}`, 2], options: { concurrencyKey: `s${i % 20}` } })),
    ];
    for (let i = 0; i < jobs.length; i += 500) await client.enqueueMany(jobs.slice(i, i + 500));
    const w = spawnQw([...common(stream, ["--concurrency", "4", "--name", "w"])]);
    try {
      await qwStarted(w);
      // Until every small-key job started, or the big key's 100th did (the test then fails).
      const small = () => starts(runsIn(file)).filter((r) => r.note !== "start big").length;
      const big = () => starts(runsIn(file)).filter((r) => r.note === "start big").length;
      await waitFor(() => small() === 100 || big() >= 100, { timeoutMs: 90_000, message: "100 small-key runs started" });
      const all = starts(runsIn(file)).sort((x, y) => x.t - y.t);
      const lastSmall = all.findLastIndex((r) => r.note !== "start big");
      const bigBefore = all.slice(0, lastSmall).filter((r) => r.note === "start big").length;
      console.log(`fairness: the last small-key job started after ${bigBefore} of the big key's jobs`);
      assert.ok(bigBefore < 100, `every small-key job started before the big key's 100th (after ${bigBefore})`);
      assert.ok(all.every((r) => r.deliveryCount <= 3), "no job delivered more than 3 times");
    } finally {
      await client.close();
      await qwStop(w);
    }
  });

  it("a header from a producer without the task option is served as a key of limit 1", SLOW, async () => {
    const stream = "k3";
    const file = join(t.dir, `${stream}.jsonl`);
    const w = spawnQw([...common(stream, ["--concurrency", "4", "--name", "w"])]);
    await qwStarted(w);
    try {
      // As any NATS client would: the task's subject, the header, no qw client.
      const js = jetstream(t.nc);
      for (let i = 0; i < 6; i++) {
        const h = makeHeaders();
        h.set("Qw-Concurrency-Key", i % 2 === 0 ? "tenant 1" : "tenant/2");
        await js.publish(`${stream}.headerOnly`, JSON.stringify({ args: [file, i % 2 === 0 ? "t1" : "t2", 200] }), { headers: h });
      }
      await waitFor(() => runsIn(file).length === 12, { timeoutMs: 30_000, message: "6 runs ended" });
      const max = maxConcurrent(runsIn(file));
      assert.equal(max.get("t1"), 1);
      assert.equal(max.get("t2"), 1);
    } finally {
      await qwStop(w);
    }
  });

  it("a task's concurrency.key gives the key of a job without the header, in a Web Worker of its own", SLOW, async () => {
    const stream = "k6";
    const file = join(t.dir, `${stream}.jsonl`);
    const w = spawnQw([...common(stream, ["--concurrency", "4", "--name", "w"])]);
    await qwStarted(w);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      for (let i = 0; i < 8; i++) await client.enqueue("byTenant", [file, i % 2 === 0 ? "a" : "b", 200]);
      const bad = await client.enqueue("badKey", [file, "x", 10]);
      await waitFor(() => runsIn(file).length === 16, { timeoutMs: 30_000, message: "8 runs ended" });
      const runs = runsIn(file);
      const max = maxConcurrent(runs);
      assert.deepEqual([max.get("a"), max.get("b")], [1, 1], "one at a time per tenant");
      // Both tenants ran side by side: the two keys are apart.
      const overlap = maxConcurrent(runs.map((r) => ({ ...r, note: r.note!.replace(/ .*/, " all") })));
      assert.equal(overlap.get("all"), 2);
      const r = await client.result(bad, { timeout: 10 });
      assert.equal(r.state, "FAILURE");
      assert.match(JSON.stringify(r.error), /must return a non-empty string/);
    } finally {
      await client.close();
      await qwStop(w);
    }
  });

  for (const mode of ["early ack", "acksLate"] as const) {
    it(`frees the slot of a process killed with SIGKILL within the ack wait (${mode})`, SLOW, async () => {
      const stream = mode === "early ack" ? "k4" : "k4late";
      const task = mode === "early ack" ? "wide" : "lateWide";
      const file = join(t.dir, `${stream}.jsonl`);
      const ackWait = 3;
      const a = spawnQw([...common(stream, ["--concurrency", "2", "--name", "a", "--ack-wait", String(ackWait)])]);
      await qwStarted(a);
      const client = await connectClient({ servers: t.srv.url, stream });
      let b: ReturnType<typeof spawnQw> | null = null;
      try {
        // The task's one key has limit 1: the first job holds the slot in process a (60 s, or 1.5 s when run again).
        const first = await client.enqueue(task, [file, "w", 60_000]);
        await waitFor(() => starts(runsIn(file)).length === 1, { timeoutMs: 10_000, message: "the first job started" });
        b = spawnQw([...common(stream, ["--concurrency", "2", "--name", "b", "--ack-wait", String(ackWait)])]);
        await qwStarted(b);
        const second = await client.enqueue(task, [file, "w", 10]);
        await new Promise((r) => setTimeout(r, 1_000));
        assert.equal(starts(runsIn(file)).length, 1, "the second job waits for the slot");
        const killedAt = Date.now();
        process.kill(a.pid!, "SIGKILL");
        await waitFor(() => starts(runsIn(file)).some((r) => r.id === second), { timeoutMs: 20_000, message: "the second job ran" });
        const next = starts(runsIn(file))[1];
        const freedMs = next.t - killedAt;
        console.log(`${mode}: slot of a killed process free after ${freedMs} ms (ack wait ${ackWait} s)`);
        assert.ok(freedMs <= ackWait * 1000 + 1_000, `started ${freedMs} ms after the kill`);
        if (mode === "early ack") {
          // At most once: the killed job is not run again; it fails as a lost Web Worker.
          assert.equal(next.id, second);
          const r = await client.result(first, { timeout: 10 });
          assert.equal(r.state, "FAILURE");
          assert.equal(starts(runsIn(file)).filter((x) => x.id === first).length, 1);
        } else {
          // At least once: the killed job runs again, first (it is older), holding the slot again.
          assert.equal(next.id, first);
          assert.equal(next.deliveryCount, 2);
        }
      } finally {
        await client.close();
        if (b) await qwStop(b);
      }
    });
  }

  it("starts a waiting job within 50 ms of its key's slot freeing", SLOW, async () => {
    const stream = "k5";
    const file = join(t.dir, `${stream}.jsonl`);
    const w = spawnQw([...common(stream, ["--concurrency", "4", "--name", "w"])]);
    await qwStarted(w);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      for (let i = 0; i < 6; i++) await client.enqueue("wide", [file, "one", 300]);
      await waitFor(() => runsIn(file).length === 12, { timeoutMs: 30_000, message: "6 runs ended" });
      const runs = runsIn(file).sort((x, y) => x.t - y.t);
      const gaps: number[] = [];
      for (let i = 1; i < runs.length - 1; i += 2) gaps.push(runs[i + 1].t - runs[i].t);
      console.log(`slot free -> next start: ${gaps.join(", ")} ms`);
      assert.equal(maxConcurrent(runs).get("one"), 1);
      assert.ok(gaps.every((g) => g <= 50), `every next job started within 50 ms: ${gaps.join(", ")}`);
    } finally {
      await client.close();
      await qwStop(w);
    }
  });
});
