// Unique jobs and debounce with real dist/qw workers, observed from outside: the stream's subjects,
// the unique bucket and the record file of every run. Debounce is held by the server on 2.12+
// (a schedule per task and key) and by qw before (the latest id per key, checked at release).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connectClient } from "../../src/client/client.ts";
import { uniqueBucket, uniqueKvKey } from "../../src/core/job/unique.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { serverAtLeast } from "../helpers/nats_server.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { runsIn } from "../helpers/runs.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/delays.ts";
const HELD = serverAtLeast(2, 12);

describe("unique jobs and debounce", () => {
  const t = useServer("unique");
  let n = 0;
  const on = (stream: string) => ["--stream", stream, "--server", t.srv.url];
  const subjects = async (stream: string) =>
    (await (await jetstreamManager(t.nc)).streams.info(stream, { subjects_filter: ">" })).state.subjects ?? {};
  const uniqueKv = () => (stream: string) => new Kvm(t.nc).open(uniqueBucket(stream));

  it("20 producers racing with the same key store one job, all get its id, and it runs once; then the key is free again", SLOW, async () => {
    const stream = `uq${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const clients = await Promise.all(Array.from({ length: 20 }, () => connectClient({ servers: t.srv.url, stream })));
    try {
      const receipts = await Promise.all(clients.map((c) => c.send("ok", [file], { unique: "report-7" })));
      const ids = new Set(receipts.map((r) => r.id));
      assert.equal(ids.size, 1, `ids: ${[...ids].join(", ")}`);
      assert.equal(receipts.filter((r) => r.heldBy === undefined).length, 1, "exactly one publish");
      assert.deepEqual(await subjects(stream), { [`${stream}.ok`]: 1 });
      const [id] = ids;

      const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "2"]);
      try {
        await qwStarted(qw);
        assert.equal((await clients[0].result(id, { timeout: 20 })).state, "SUCCESS");
        const kv = await uniqueKv()(stream);
        await waitFor(async () => (await kv.get(uniqueKvKey("ok", "report-7")))?.operation !== "PUT" ? true : null, {
          timeoutMs: 5000,
          message: "the key was not released after the job succeeded",
        });
        const again = await clients[1].send("ok", [file], { unique: "report-7" });
        assert.notEqual(again.id, id);
        assert.equal(again.heldBy, undefined);
        assert.equal((await clients[1].result(again.id, { timeout: 20 })).state, "SUCCESS");
        await sleep(300);
        assert.deepEqual(runsIn(file).map((r) => r.id), [id, again.id], "each job ran once");
      } finally {
        await qwStop(qw);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("a job waiting for its retry still holds its key; other keys and other tasks are not held", SLOW, async () => {
    const stream = `uq${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "2"]);
    try {
      await qwStarted(qw);
      const first = await client.enqueue("backoff", [file], { unique: "k" });
      await waitFor(async () => (await client.get(first)).state === "RETRY" ? true : null, { timeoutMs: 10_000, message: "no retry" });
      assert.equal(await client.enqueue("backoff", [file], { unique: "k" }), first, "held while it retries");
      const other = await client.enqueue("backoff", [file], { unique: "other" });
      assert.notEqual(other, first);
      const otherTask = await client.enqueue("ok", [file], { unique: "k" });
      assert.notEqual(otherTask, first);
      assert.equal((await client.result(first, { timeout: 20 })).state, "SUCCESS");
      assert.equal((await client.result(other, { timeout: 20 })).state, "SUCCESS");
      await sleep(300);
      assert.equal(runsIn(file).filter((r) => r.id === first).length, 2, "one failed run and its retry");
    } finally {
      await qwStop(qw);
      await client.close();
    }
  });

  it("a key whose producer died before publishing, or whose job ended without releasing it, is taken over", SLOW, async () => {
    const stream = `uq${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      // The first enqueue creates the bucket; then the records are what crashed producers and workers leave.
      const live = await client.enqueue("ok", [file], { unique: "live" });
      const kv = await uniqueKv()(stream);
      await kv.put(uniqueKvKey("ok", "dead"), JSON.stringify({ id: "never-published", at: Date.now() - 31_000, published: false }));
      await kv.put(uniqueKvKey("ok", "young"), JSON.stringify({ id: "being-published", at: Date.now(), published: false }));
      await kv.put(uniqueKvKey("ok", "done"), JSON.stringify({ id: "finished", at: Date.now(), published: true }));
      await (await new Kvm(t.nc).open(`qw_${stream}_results`)).put("finished", JSON.stringify({ id: "finished", state: "SUCCESS" }));

      const dead = await client.send("ok", [file], { unique: "dead" });
      assert.equal(dead.heldBy, undefined, "an unpublished claim older than 30 s is stale");
      assert.notEqual(dead.id, "never-published");
      assert.equal((await client.send("ok", [file], { unique: "young" })).heldBy, "being-published", "a claim being published holds");
      const done = await client.send("ok", [file], { unique: "done" });
      assert.equal(done.heldBy, undefined, "a key of a finished job is free");
      assert.equal(await client.enqueue("ok", [file], { unique: "live" }), live, "a published job with no result holds");
      const record = JSON.parse((await kv.get(uniqueKvKey("ok", "dead")))!.string());
      assert.deepEqual([record.id, record.published], [dead.id, true]);
    } finally {
      await client.close();
    }
  });

  it("a revoked unique job frees its key when a worker meets it, and an expired one too", SLOW, async () => {
    const stream = `uq${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const revoked = await client.enqueue("ok", [file], { unique: "r" });
      const expired = await client.enqueue("ok", [file], { unique: "e", expires: 0.5 });
      assert.equal((await client.revoke(revoked)).revoked, true);
      await sleep(700);
      assert.equal(await client.enqueue("ok", [file], { unique: "r" }), revoked, "held until a worker settles it");
      const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "2"]);
      try {
        await qwStarted(qw);
        assert.equal((await client.result(revoked, { timeout: 20 })).state, "REVOKED");
        assert.equal((await client.result(expired, { timeout: 20 })).state, "REVOKED");
        const kv = await uniqueKv()(stream);
        for (const key of ["r", "e"]) {
          await waitFor(async () => (await kv.get(uniqueKvKey("ok", key)))?.operation !== "PUT" ? true : null, {
            timeoutMs: 5000,
            message: `key '${key}' was not released`,
          });
        }
        const next = await client.enqueue("ok", [file], { unique: "r" });
        assert.notEqual(next, revoked);
        assert.equal((await client.result(next, { timeout: 20 })).state, "SUCCESS");
        assert.deepEqual(runsIn(file).map((r) => r.id), [next], "neither the revoked nor the expired job ran");
      } finally {
        await qwStop(qw);
      }
    } finally {
      await client.close();
    }
  });

  it(`a burst of 10 debounced enqueues runs only the last, once, ${HELD ? "held by the server as one schedule" : "held by qw"}; another key is not affected`, SLOW, async () => {
    const stream = `db${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "2"]);
    try {
      await qwStarted(qw);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        ids.push(await client.enqueue("ok", [file], { unique: "search-box", debounce: 1.5 }));
        await sleep(50);
      }
      const other = await client.enqueue("ok", [file], { unique: "other-box", debounce: 1.5 });
      if (HELD) {
        const s = await subjects(stream);
        assert.equal(Object.keys(s).filter((k) => k.startsWith(`${stream}._sched.ok.`)).length, 2, `one schedule per key: ${JSON.stringify(s)}`);
      }
      const last = ids[9];
      assert.equal(new Set(ids).size, 10);
      assert.equal((await client.result(last, { timeout: 20 })).state, "SUCCESS");
      assert.equal((await client.result(other, { timeout: 20 })).state, "SUCCESS");
      await sleep(1000);
      const runs = runsIn(file).map((r) => r.id).sort();
      assert.deepEqual(runs, [last, other].sort(), "only the last of the burst ran, and the other key's job");
      const first = await client.get(ids[0]);
      // Held by qw the replaced jobs are recorded; held by the server they are replaced with no trace.
      if (HELD) assert.equal(first.state, "PENDING");
      else assert.deepEqual([first.state, (first as { reason?: string }).reason], ["REVOKED", "superseded"]);
    } finally {
      await qwStop(qw);
      await client.close();
    }
  });

  it("qw enqueue --unique prints the holder's id and says nothing was enqueued; bad values exit 2 with one line", SLOW, async () => {
    const stream = `uq${++n}`;
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const a = await runQw(["enqueue", ...on(stream), "ok", "x", "--unique", "k"]);
    assert.equal(a.code, 0, a.stderr);
    const b = await runQw(["enqueue", ...on(stream), "ok", "x", "--unique", "k"]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, a.stdout);
    assert.match(b.stderr, /unique key 'k' of task 'ok' is held by job '[^']+' \(waiting or running\): nothing enqueued/);
    for (const bad of [["--debounce", "2"], ["--unique", "k", "--debounce", "0"], ["--unique", "k", "--debounce", "x"], ["--unique", "", "--id", "a"], ["--unique", "k", "--count", "3"]]) {
      const r = await runQw(["enqueue", ...on(stream), "ok", "x", ...bad]);
      assert.equal(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^qw: Cannot enqueue job/);
    }
  });
});
