// Many jobs in one call against a real nats-server and real dist/qw workers:
// 2,500 jobs give 2,500 ids in order and each runs once; on a 2.12+ server the
// stream qw creates has allow_atomic and the stored messages carry the batch
// headers (batches of 1,000, 1,000 and 500, the last of each committing);
// a batch with one member the stream refuses stores none of its members there,
// while an older server (or a stream without the flag) publishes one by one.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager, RetentionPolicy, type StoredMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { type Client, connectClient } from "../../src/client/client.ts";
import { serverFeatures } from "../../src/core/server_features.ts";
import { spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 120_000 };
const TASKS = "tests/fixtures/tasks/control.ts";

describe("enqueueMany()", () => {
  const t = useServer("many");
  let n = 0;
  const atomic = () => serverFeatures(t.nc.info?.version).atomicBatch;

  const records = (file: string): { id: string }[] => {
    try {
      return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };

  async function messages(stream: string): Promise<StoredMsg[]> {
    const jsm = await jetstreamManager(t.nc);
    const { state } = await jsm.streams.info(stream);
    const out: StoredMsg[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      if (m) out.push(m);
    }
    return out;
  }

  it("enqueueMany() of 2,500 jobs returns 2,500 ids in order and a dist/qw worker runs each once", SLOW, async () => {
    const stream = `many${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    // qw init creates the stream as a worker would, so the jobs wait stored before any worker runs them.
    const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "4"]);
    await qwStarted(qw);
    assert.equal(await qwStop(qw), 0);
    const jsm = await jetstreamManager(t.nc);
    assert.equal((await jsm.streams.info(stream)).config.allow_atomic === true, atomic(), "allow_atomic exactly on 2.12+");
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      const jobs = Array.from({ length: 2500 }, (_, i) => ({
        task: "ok",
        args: [file],
        options: i % 2 === 0 ? { id: `job-${i}` } : undefined,
      }));
      let progress = 0;
      const ids = await client.enqueueMany(jobs, { onProgress: (done, total) => (progress = total === 2500 ? done : -1) });
      assert.equal(ids.length, 2500);
      assert.equal(new Set(ids).size, 2500);
      assert.equal(progress, 2500);
      ids.forEach((id, i) => i % 2 === 0 && assert.equal(id, `job-${i}`));
      const stored = await messages(stream);
      assert.deepEqual(stored.map((m) => m.header.get("Qw-Id")), ids, "stored in the order given");
      const batchSeqs = stored.map((m) => m.header.get("Nats-Batch-Sequence"));
      const commits = stored.flatMap((m, i) => (m.header.get("Nats-Batch-Commit") === "1" ? [i] : []));
      if (atomic()) {
        assert.equal(new Set(stored.map((m) => m.header.get("Nats-Batch-Id"))).size, 3, "three batches");
        assert.deepEqual(commits, [999, 1999, 2499], "each batch commits on its last member");
        assert.deepEqual([batchSeqs[0], batchSeqs[999], batchSeqs[1000], batchSeqs[2499]], ["1", "1000", "1", "500"]);
      } else {
        assert.ok(batchSeqs.every((s) => s === ""), "no batch headers on a server without atomic batches");
      }
      const worker = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "4"]);
      await qwStarted(worker);
      await waitFor(() => records(file).length >= 2500, { timeoutMs: 90_000, message: () => `ran ${records(file).length} of 2500` });
      await new Promise((r) => setTimeout(r, 500));
      const ran = records(file).map((r) => r.id);
      assert.equal(ran.length, 2500, "each job ran once");
      assert.deepEqual(new Set(ran), new Set(ids));
      assert.equal(await qwStop(worker), 0);
    } finally {
      await client.close();
    }
  });

  it("jobs enqueued together keep working after: a countdown is released and runs, a rejected one is dead-lettered", SLOW, async () => {
    const stream = `many${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/reject.ts", "--server", t.srv.url, "--concurrency", "2"]);
    await qwStarted(qw);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const ids = await client.enqueueMany([
        { task: "ok", args: [file], options: { countdown: 1 } },
        { task: "ok", args: [file], options: { countdown: 1 } },
        { task: "drop", args: [file] },
      ]);
      const results = await Promise.all(ids.map((id) => client.result(id, { timeout: 20 })));
      assert.deepEqual(results.map((r) => r.state), ["SUCCESS", "SUCCESS", "FAILURE"]);
      const jsm = await jetstreamManager(t.nc);
      await waitFor(async () => (await jsm.streams.info(`${stream}_dlq`)).state.messages === 1, { message: "the rejected job was not dead-lettered" });
      const dead = await messages(`${stream}_dlq`);
      assert.equal(dead[0].header.get("Nats-Batch-Id"), "", "a dead letter is not part of a batch");
    } finally {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("enqueueMany() again with the same ids stores only the new ones and reports the rest as duplicates", SLOW, async () => {
    const stream = `many${++n}`;
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({
      name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue,
      duplicate_window: 120_000_000_000, ...(atomic() ? { allow_atomic: true } : {}),
    });
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const job = (id: string) => ({ task: "ok", args: ["-"], options: { id } });
      await client.enqueueMany([job("a"), job("b"), job("c")]);
      const again = await client.sendMany([job("a"), job("b"), job("c"), job("d")]);
      assert.deepEqual(again.map((r) => [r.id, r.duplicate]), [["a", true], ["b", true], ["c", true], ["d", false]]);
      assert.equal((await jsm.streams.info(stream)).state.messages, 4);
    } finally {
      await client.close();
    }
  });

  it("a batch with one member the stream refuses stores none of its members on 2.12+, and the others one by one on older servers", SLOW, async () => {
    const stream = `many${++n}`;
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({
      name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue, max_msg_size: 1024,
      ...(atomic() ? { allow_atomic: true } : {}),
    });
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const small = (i: number) => ({ task: "ok", args: [`small-${i}`] });
      const jobs = [small(1), small(2), { task: "ok", args: ["x".repeat(4096)] }, small(4)];
      await assert.rejects(client.enqueueMany(jobs), atomic() ? /^Error: Cannot enqueue jobs 1 to 4 of 4 as an atomic batch: .+ \(none of them was stored\)$/ : /size|maximum/i);
      const stored = (await jsm.streams.info(stream)).state.messages;
      if (atomic()) assert.equal(stored, 0, "an atomic batch is stored whole or not at all");
      else assert.ok(stored >= 2, `one by one stores the jobs before the refused one: ${stored}`);
    } finally {
      await client.close();
    }
  });

  it("on 2.12+ a batch refused as the stream has 50 batches open is sent again once one closes", SLOW, async () => {
    if (!atomic()) return;
    const stream = `many${++n}`;
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue, allow_atomic: true });
    // 50 batches opened by another producer and left uncommitted: the stream's limit of open batches.
    for (let b = 0; b < 50; b++) {
      const h = headers();
      h.set("Nats-Batch-Id", `open-${b}`);
      h.set("Nats-Batch-Sequence", "1");
      t.nc.publish(`${stream}.ok`, "{}", { headers: h });
    }
    await t.nc.flush();
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const sent = client.enqueueMany([{ task: "ok", args: [1] }, { task: "ok", args: [2] }]);
      await new Promise((r) => setTimeout(r, 150));
      const commit = headers();
      commit.set("Nats-Batch-Id", "open-0");
      commit.set("Nats-Batch-Sequence", "2");
      commit.set("Nats-Batch-Commit", "1");
      await t.nc.request(`${stream}.ok`, "{}", { headers: commit, timeout: 5000 });
      assert.equal((await sent).length, 2);
      assert.equal((await jsm.streams.info(stream)).state.messages, 4, "the other producer's batch of 2, then ours");
    } finally {
      await client.close();
    }
  });

  it("a stream created without allow_atomic gets the jobs one by one, all stored", SLOW, async () => {
    const stream = `many${++n}`;
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue });
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      const ids = await client.enqueueMany(Array.from({ length: 1200 }, () => ({ task: "ok", args: ["-"] })));
      assert.equal(ids.length, 1200);
      const stored = await messages(stream);
      assert.equal(stored.length, 1200);
      assert.ok(stored.every((m) => m.header.get("Nats-Batch-Id") === ""), "no batch headers");
    } finally {
      await client.close();
    }
  });
});
