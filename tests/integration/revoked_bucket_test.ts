// A worker start reads the revoked bucket whole before its first pull, and
// must not hang whatever the bucket's last entry is: an un-revoke (a delete,
// as `nats kv del` does) or a value that is not JSON. An un-revoked job runs.
// Real dist/qw processes against a real nats-server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kvm } from "@nats-io/kv";
import { type Client, connectClient } from "../../src/client/client.ts";
import { namesFor } from "../../src/client/topology.ts";
import { keyFor } from "../../src/client/buckets/result_store.ts";
import { spawnQw } from "../helpers/cli.ts";
import { qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/control.ts";

describe("a worker start with the revoked bucket's last entry", () => {
  const t = useServer("revoked");
  let n = 0;

  /** Create the revoked bucket of a fresh stream, fill it with `fill`, then start dist/qw on it. */
  async function startAfter(fill: (kv: Awaited<ReturnType<Kvm["create"]>>) => Promise<void>) {
    const stream = `rvk${++n}`;
    const kv = await new Kvm(t.nc).create(namesFor(stream).revokedBucket, { ttl: 86_400_000, history: 1 });
    await fill(kv);
    const file = join(t.dir, `${stream}.jsonl`);
    const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1"]);
    await waitFor(() => qw.output().includes("worker started"), { timeoutMs: 5_000, message: () => `qw did not start within 5 s: ${qw.output()}` });
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    const runs = () => {
      try {
        return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string });
      } catch {
        return [];
      }
    };
    const stop = async () => {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    };
    return { file, qw, client, runs, stop };
  }

  it("is a delete (an un-revoke): starts, and the un-revoked job runs", SLOW, async () => {
    const id = "unrevoked-1";
    const { file, client, runs, stop } = await startAfter(async (kv) => {
      await kv.put(keyFor("still-revoked"), JSON.stringify({ id: "still-revoked", terminate: false, at: new Date().toISOString() }));
      await kv.put(keyFor(id), JSON.stringify({ id, terminate: false, at: new Date().toISOString() }));
      await kv.delete(keyFor(id));
    });
    try {
      await client.enqueue("ok", [file], { id });
      assert.equal((await client.result(id, { timeout: 5 })).state, "SUCCESS");
      assert.equal(runs().filter((r) => r.id === id).length, 1);
      await client.enqueue("ok", [file], { id: "still-revoked" });
      assert.equal((await client.result("still-revoked", { timeout: 5 })).state, "REVOKED");
    } finally {
      await stop();
    }
  });

  it("is not JSON: starts, says so once, and runs jobs", SLOW, async () => {
    const { file, qw, client, stop } = await startAfter(async (kv) => {
      await kv.put("garbage", "not json");
    });
    try {
      const id = await client.enqueue("ok", [file]);
      assert.equal((await client.result(id, { timeout: 5 })).state, "SUCCESS");
      assert.match(qw.output(), /ignored key 'garbage' of bucket 'qw_rvk\d+_revoked': not JSON/);
    } finally {
      await stop();
    }
  });

  it("is a delete made while it runs: the job revoked before runs once un-revoked", SLOW, async () => {
    const { file, client, runs, stop } = await startAfter(async () => {});
    try {
      const kv = await new Kvm(t.nc).open(namesFor(`rvk${n}`).revokedBucket);
      const id = "later-1";
      await client.revoke(id);
      await kv.delete(keyFor(id));
      // The worker's watch sees the delete within moments.
      await new Promise((r) => setTimeout(r, 300));
      await client.enqueue("ok", [file], { id });
      assert.equal((await client.result(id, { timeout: 5 })).state, "SUCCESS");
      assert.equal(runs().filter((r) => r.id === id).length, 1);
    } finally {
      await stop();
    }
  });
});
