// The work consumer is shared: a process started with another --ack-wait
// leaves the consumer's as it is and renews at the consumer's pace, so a long
// job of a process already running is not redelivered while it runs (a
// rolling change of --ack-wait). `qw init --ack-wait` is the way to change it.
// Real dist/qw processes against a real nats-server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectClient } from "../../src/client/client.ts";
import { namesFor } from "../../src/client/topology.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 90_000 };
const TASKS = "tests/fixtures/tasks/control.ts";

describe("the shared consumer's ack wait", () => {
  const t = useServer("ackwait");

  const ackWaitOf = async (stream: string) =>
    ((await (await jetstreamManager(t.nc)).consumers.info(stream, namesFor(stream).consumer)).config.ack_wait ?? 0) / 1e9;

  it("a second process with a shorter --ack-wait leaves it, and a running long job of the first is not redelivered", SLOW, async () => {
    const stream = "aw1";
    const file = join(t.dir, `${stream}.jsonl`);
    const common = ["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1"];
    const first = spawnQw([...common, "--ack-wait", "6", "--name", "first"]);
    await qwStarted(first);
    const client = await connectClient({ servers: t.srv.url, stream });
    let second: ReturnType<typeof spawnQw> | null = null;
    try {
      const id = await client.enqueue("spinForLate", [file, 9_000]);
      const runs = () => readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string });
      await waitFor(() => { try { return runs().length === 1; } catch { return false; } }, { timeoutMs: 10_000, message: "the long job started" });
      second = spawnQw([...common, "--ack-wait", "2", "--name", "second"]);
      await qwStarted(second);
      assert.equal(await ackWaitOf(stream), 6, "the consumer keeps its ack wait");
      assert.match(second.output(), /consumer 'qw_aw1' keeps its ack wait of 6 s \(this process asked for 2 s\)/);
      assert.equal((await client.result(id, { timeout: 20 })).state, "SUCCESS");
      assert.equal(runs().filter((r) => r.id === id).length, 1, "ran once: never redelivered while it ran");
      const ci = await (await jetstreamManager(t.nc)).consumers.info(stream, namesFor(stream).consumer);
      assert.equal(ci.num_redelivered, 0);
    } finally {
      await client.close();
      assert.equal(await qwStop(first), 0);
      if (second) assert.equal(await qwStop(second), 0);
    }
  });

  it("qw init --ack-wait changes it and says so", SLOW, async () => {
    const stream = "aw2";
    assert.equal((await runQw(["init", "--stream", stream, "--server", t.srv.url, "--ack-wait", "60"])).code, 0);
    assert.equal(await ackWaitOf(stream), 60);
    const r = await runQw(["init", "--stream", stream, "--server", t.srv.url, "--ack-wait", "10"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await ackWaitOf(stream), 10);
    assert.match(r.stderr, /changed the ack wait of consumer 'qw_aw2' from 60 s to 10 s/);
  });
});
