// Batch tasks under a real dist/qw: calls of at most `size` items, each item
// with its own result, retries and ack; the wait; acksLate across a kill -9.
// Calls are recorded by the fixture (tests/fixtures/tasks/batch.ts), outside qw.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { type Client, connectClient } from "../../src/client/client.ts";
import { namesFor } from "../../src/client/topology.ts";
import { spawnQw } from "../helpers/cli.ts";
import { qwExited, qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";
import type { CallRecord } from "../fixtures/tasks/batch.ts";

const SLOW = { timeout: 90_000 };
const uniq = () => "b" + crypto.randomUUID().replace(/-/g, "").slice(0, 10);
const callsIn = (file: string): CallRecord[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as CallRecord);
  } catch {
    return [];
  }
};

describe("batch tasks", () => {
  const t = useServer("batch");
  const qw = (stream: string, extra: string[] = []) =>
    spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/batch.ts", "--server", t.srv.url, "--concurrency", "2", ...extra]);

  async function withQw<T>(stream: string, f: (c: Client, file: string) => Promise<T>): Promise<T> {
    const file = join(t.dir, `${stream}.jsonl`);
    writeFileSync(file, "");
    const p = qw(stream);
    await qwStarted(p);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      return await f(client, file);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0, p.output());
    }
  }

  it("250 jobs with size 100 run in calls of at most 100 items, each result readable by its id", SLOW, async () => {
    await withQw(uniq(), async (client, file) => {
      const ids = await client.enqueueMany(Array.from({ length: 250 }, (_, i) => ({ task: "doubled", args: [file, i] })));
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 30 })));
      assert.deepEqual(results.map((r) => [r.state, r.result]), ids.map((_, i) => ["SUCCESS", i * 2]));
      const calls = callsIn(file);
      assert.ok(calls.every((c) => c.size >= 1 && c.size <= 100), `call sizes ${calls.map((c) => c.size)}`);
      assert.deepEqual(calls.flatMap((c) => c.ids).sort(), [...ids].sort(), "each job ran once, in one call");
      assert.ok(calls.length < 250 / 4, `jobs were batched: ${calls.length} calls of sizes ${calls.map((c) => c.size)}`);
    });
  });

  it("one item failing is retried alone and then succeeds; the others of its call succeed once", SLOW, async () => {
    await withQw(uniq(), async (client, file) => {
      const names = ["a", "b", "bad", "c", "d"];
      const ids = await client.enqueueMany(names.map((n) => ({ task: "flakyItem", args: [file, n] })));
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 30 })));
      assert.deepEqual(results.map((r) => [r.state, r.result]), names.map((n) => ["SUCCESS", `ok ${n}`]));
      const runs = callsIn(file).flatMap((c) => c.ids.map((id, i) => [id, c.retries[i]] as const));
      const bad = ids[2];
      assert.deepEqual(runs.filter(([id]) => id === bad).map(([, r]) => r), [0, 1], "the failing item ran twice");
      for (const id of ids.filter((x) => x !== bad)) assert.equal(runs.filter(([x]) => x === id).length, 1, `item ${id} ran once`);
    });
  });

  it("a call that throws fails every item, each retried by its own task options", SLOW, async () => {
    await withQw(uniq(), async (client, file) => {
      const ids = await client.enqueueMany([0, 1, 2].map(() => ({ task: "throwsFirst", args: [file] })));
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 30 })));
      assert.deepEqual(results.map((r) => r.state), ["SUCCESS", "SUCCESS", "SUCCESS"]);
      for (const id of ids) {
        const retries = callsIn(file).flatMap((c) => c.ids.map((x, i) => (x === id ? c.retries[i] : -1))).filter((r) => r >= 0);
        assert.deepEqual(retries, [0, 1], `item ${id} failed with its call, then was retried once`);
      }
    });
  });

  it("a call that returns one result too few fails each item with a clear error", SLOW, async () => {
    await withQw(uniq(), async (client, file) => {
      const ids = await client.enqueueMany([0, 1].map(() => ({ task: "shortReturn", args: [file] })));
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 30 })));
      assert.deepEqual(results.map((r) => r.state), ["FAILURE", "FAILURE"]);
      assert.match(results[0].error?.message ?? "", /Batch task 'shortReturn' must return an array of 2 results, one per item in order: returned an array of 1/);
    });
  });

  it("3 jobs with size 100 and wait 0.05 run within 0.5 s", SLOW, async () => {
    await withQw(uniq(), async (client, file) => {
      await client.enqueue("doubled", [file, -1]); // warm up: the Web Workers have run a call
      await waitFor(() => callsIn(file).length === 1, { timeoutMs: 10_000 });
      const t0 = Date.now();
      const ids = await client.enqueueMany([1, 2, 3].map((i) => ({ task: "doubled", args: [file, i] })));
      await Promise.all(ids.map((id) => client.result(id, { timeout: 10 })));
      const ms = Date.now() - t0;
      assert.ok(ms < 500, `took ${ms} ms`);
      assert.deepEqual(callsIn(file).slice(1).map((c) => c.size).reduce((a, b) => a + b, 0), 3);
    });
  });

  it("acksLate: each item's lease is renewed while its call runs for 2.5x the ack wait: no item is redelivered", SLOW, async () => {
    const stream = uniq();
    const file = join(t.dir, `${stream}.jsonl`);
    writeFileSync(file, "");
    const p = qw(stream, ["--ack-wait", "2"]);
    await qwStarted(p);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      const ids = await client.enqueueMany(Array.from({ length: 3 }, () => ({ task: "lateSlow", args: [file, 5_000] })));
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 30 })));
      assert.deepEqual(results.map((r) => r.state), Array(3).fill("SUCCESS"));
      assert.deepEqual(callsIn(file).flatMap((c) => c.ids).sort(), [...ids].sort(), "each item ran once");
      // acksLate: each ack follows its stored result.
      const jsm = await jetstreamManager(t.nc);
      const ci = await waitFor(async () => {
        const c = await jsm.consumers.info(stream, namesFor(stream).consumer);
        return c.num_ack_pending === 0 ? c : null;
      }, { timeoutMs: 5_000, message: "every item acked" });
      assert.equal(ci.num_redelivered, 0);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0, p.output());
    }
  });

  it("acksLate: kill -9 mid-call loses no item: each is redelivered and run", SLOW, async () => {
    const stream = uniq();
    const file = join(t.dir, `${stream}.jsonl`);
    writeFileSync(file, "");
    const first = qw(stream, ["--ack-wait", "2"]);
    await qwStarted(first);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    let second: ReturnType<typeof spawnQw> | null = null;
    try {
      const ids = await client.enqueueMany(Array.from({ length: 5 }, () => ({ task: "lateSlow", args: [file, 3_000] })));
      await waitFor(() => callsIn(file).flatMap((c) => c.ids).length === 5, { timeoutMs: 10_000, message: "the call started" });
      process.kill(first.pid!, "SIGKILL");
      await qwExited(first);
      second = qw(stream, ["--ack-wait", "2"]);
      await qwStarted(second);
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 30 })));
      assert.deepEqual(results.map((r) => r.state), Array(5).fill("SUCCESS"));
      const ran = callsIn(file).filter((c) => c.pid === second!.pid).flatMap((c) => c.ids).sort();
      assert.deepEqual(ran, [...ids].sort(), "every item ran again in the second process");
    } finally {
      await client.close();
      if (first.exitCode === null && first.signalCode === null) process.kill(first.pid!, "SIGKILL");
      if (second) assert.equal(await qwStop(second), 0, second.output());
    }
  });
});
