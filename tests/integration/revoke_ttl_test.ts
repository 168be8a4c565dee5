// Revokes that expire by themselves (per-key TTL, nats-server 2.11+): the
// revoked bucket lets each key carry its own TTL, a revoke disappears after it
// and leaves a delete marker, a dist/qw worker started afterwards catches up
// without hanging and runs the job the revoke no longer covers. On an older
// server the revoke stays (the bucket's max age still bounds it).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { connectClient } from "../../src/client/client.ts";
import { keyFor } from "../../src/client/buckets/result_store.ts";
import { namesFor } from "../../src/client/topology.ts";
import { serverFeatures } from "../../src/core/server_features.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/control.ts";

describe("revokes with a TTL", () => {
  const t = useServer("revttl");
  const keyTtl = () => serverFeatures(t.nc.info?.version).kvKeyTtl;

  it("a revoke with ttl 1 s is gone after it on 2.11+ (kept on older servers); a worker started then does not hang", SLOW, async () => {
    const stream = "revttl1";
    const file = join(t.dir, `${stream}.jsonl`);
    const client = await connectClient({ servers: t.srv.url, stream });
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    try {
      assert.deepEqual(await client.revoke("late-1", { ttl: 1 }), { revoked: true, state: "PENDING" });
      const bucket = namesFor(stream).revokedBucket;
      const kv = await new Kvm(t.nc).open(bucket);
      const config = (await jsm.streams.info(`KV_${bucket}`)).config;
      assert.equal(config.allow_msg_ttl === true, keyTtl(), "allow_msg_ttl exactly on 2.11+");
      assert.equal((await kv.get(keyFor("late-1")))?.operation, "PUT");
      const present = async () => (await kv.get(keyFor("late-1")))?.operation === "PUT";
      if (keyTtl()) {
        assert.equal(config.subject_delete_marker_ttl, 60e9, "markers kept 60 s");
        await waitFor(async () => !(await present()), { timeoutMs: 10_000, message: "the revoke never expired" });
      } else {
        await sleep(2500);
        assert.ok(await present(), "no per-key TTL before 2.11: the revoke stays");
      }
      const started = Date.now();
      const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1"]);
      try {
        await qwStarted(qw);
        assert.ok(Date.now() - started < 10_000, "the catch-up of the revoked set did not hang");
        await client.enqueue("ok", [file], { id: "late-1" });
        const r = await client.result("late-1", { timeout: 15 });
        assert.equal(r.state, keyTtl() ? "SUCCESS" : "REVOKED");
        const ran = (() => {
          try {
            return readFileSync(file, "utf8").split("\n").filter(Boolean).length;
          } catch {
            return 0;
          }
        })();
        assert.equal(ran, keyTtl() ? 1 : 0);
      } finally {
        assert.equal(await qwStop(qw), 0);
      }
    } finally {
      await client.close();
    }
  });

  it("a revoke without ttl on 2.11+ takes the stream's max age as its TTL; qw revoke --ttl sets its own", SLOW, async () => {
    const stream = "revttl2";
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], max_age: 2e9 });
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.revoke("job-2");
      const kv = await new Kvm(t.nc).open(namesFor(stream).revokedBucket);
      const e = await kv.get(keyFor("job-2"));
      assert.equal(e?.operation, "PUT");
      const m = await jsm.streams.getMessage(`KV_${namesFor(stream).revokedBucket}`, { last_by_subj: `$KV.${namesFor(stream).revokedBucket}.${keyFor("job-2")}` });
      assert.equal(m?.header.get("Nats-TTL") ?? "", keyTtl() ? "2s" : "");
      const cli = await runQw(["revoke", "--stream", stream, "--server", t.srv.url, "--ttl", "1", "job-3"]);
      assert.equal(cli.code, 0, cli.stderr);
      const m3 = await jsm.streams.getMessage(`KV_${namesFor(stream).revokedBucket}`, { last_by_subj: `$KV.${namesFor(stream).revokedBucket}.${keyFor("job-3")}` });
      assert.equal(m3?.header.get("Nats-TTL") ?? "", keyTtl() ? "1s" : "", "qw revoke --ttl 1");
    } finally {
      await client.close();
    }
  });

  it("revoke() rejects a ttl that is not a positive number before it connects to anything", async () => {
    const client = await connectClient({ servers: t.srv.url, stream: "revttl3" });
    try {
      await assert.rejects(client.revoke("x", { ttl: 0 }), /^RangeError: Cannot revoke job as 'ttl' must be a number of seconds > 0: current value is "0"$/);
    } finally {
      await client.close();
    }
  });
});
