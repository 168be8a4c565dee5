// Job expiry (Celery's `expires`), end to end with real dist/qw processes on
// a real nats-server (NATS_SERVER_BIN: 2.15.3 by default, 2.9.10 for the
// oldest): a job not started by its expiry never runs and is stored REVOKED
// with reason `expired`; a far expiry runs as usual; on 2.11+ the message also
// carries the server's TTL, in a stream qw created with `allow_msg_ttl`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { prepareJob } from "../../src/client/prepare_job.ts";
import { publishJob } from "../../src/client/producer.ts";
import { type Client, connectClient } from "../../src/client/client.ts";
import { serverFeatures } from "../../src/core/server_features.ts";
import { EXPIRY_TTL_GRACE_S } from "../../src/core/job/expiry.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { serverAtLeast } from "../helpers/nats_server.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/expiry.ts";

describe("job expiry", () => {
  const t = useServer("expiry");
  let n = 0;

  /** A fresh stream set up by `qw init` (as producers that start before any worker do), and its record file. */
  async function fresh() {
    const stream = `exp${++n}`;
    const init = await runQw(["init", "--stream", stream, "--server", t.srv.url]);
    assert.equal(init.code, 0, init.stderr);
    const file = join(t.dir, `${stream}.jsonl`);
    const runs = (): RunRecord[] => {
      try {
        return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
      } catch {
        return [];
      }
    };
    const qw = (...args: string[]) => runQw(["--stream", stream, "--server", t.srv.url, ...args]);
    const worker = async (...args: string[]) => {
      const p = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1", ...args]);
      await qwStarted(p);
      return p;
    };
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    return { stream, file, runs, qw, worker, client };
  }

  it("a job enqueued with --expires 2 while no worker runs is REVOKED (expired) and never runs once a worker starts 3 s later", SLOW, async () => {
    const { file, runs, qw, worker, client } = await fresh();
    const enq = await qw("enqueue", "ok", file, "--expires", "2", "--id", "late-1");
    assert.equal(enq.code, 0, enq.stderr);
    assert.equal(enq.stdout.trim(), "late-1");
    await sleep(3_000);
    const p = await worker();
    try {
      const r = await client.result("late-1", { timeout: 10 });
      assert.equal(r.state, "REVOKED");
      assert.equal(r.reason, "expired");
      // A job enqueued after it runs: the expired one was met first and still did not run.
      const next = await client.enqueue("ok", [file], { id: "next-1" });
      assert.equal((await client.result(next, { timeout: 10 })).state, "SUCCESS");
      assert.deepEqual(runs().map((x) => x.id), ["next-1"]);
      assert.match(p.output(), /ok\[late-1\] expired at \S+ before it started/);
      const res = await qw("result", "late-1");
      assert.equal(res.code, 1, "qw result exits 1 for REVOKED");
      assert.match(res.stdout, /"reason": ?"expired"/);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0);
    }
  });

  it("qw enqueue refuses a bad --expires with one line and a non-zero exit, before it connects", SLOW, async () => {
    for (const value of ["0", "-1", "soon", "2030-01-31T12:00"]) {
      const r = await runQw(["enqueue", "ok", "--expires", value, "--stream", "nowhere", "--server", "nats://127.0.0.1:1"]);
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^qw: Cannot enqueue job as '--expires' must be seconds > 0 or an ISO 8601 date/);
    }
  });

  it("a job with a far expiry runs normally", SLOW, async () => {
    const { file, runs, qw, worker, client } = await fresh();
    const p = await worker();
    try {
      assert.equal((await qw("enqueue", "ok", file, "--expires", "600", "--id", "far-1")).code, 0);
      await client.enqueue("ok", [file], { id: "far-2", expires: new Date(Date.now() + 600_000) });
      for (const id of ["far-1", "far-2"]) {
        const r = await client.result(id, { timeout: 10 });
        assert.equal(r.state, "SUCCESS");
        assert.equal(r.reason, undefined);
      }
      assert.deepEqual(runs().map((x) => x.id).sort(), ["far-1", "far-2"]);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0);
    }
  });

  it("a task's own expires applies to jobs enqueued without one", SLOW, async () => {
    const { file, runs, worker, client } = await fresh();
    await client.enqueue("brief", [file], { id: "brief-1" });
    await client.enqueue("brief", [file], { id: "brief-2", expires: 600 });
    await sleep(3_000);
    const p = await worker();
    try {
      const r = await client.result("brief-1", { timeout: 10 });
      assert.equal(r.state, "REVOKED");
      assert.equal(r.reason, "expired");
      assert.equal((await client.result("brief-2", { timeout: 10 })).state, "SUCCESS", "the job's own expiry wins");
      assert.deepEqual(runs().map((x) => x.id), ["brief-2"]);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0);
    }
  });

  it("a job that expires while it waits behind another in the worker never starts", SLOW, async () => {
    const { file, runs, worker, client } = await fresh();
    const p = await worker();
    try {
      await client.enqueue("slow", [file, 2_500], { id: "busy-1" });
      await client.enqueue("ok", [file], { id: "queued-1", expires: 1 });
      const r = await client.result("queued-1", { timeout: 10 });
      assert.equal(r.state, "REVOKED");
      assert.equal(r.reason, "expired");
      assert.equal((await client.result("busy-1", { timeout: 10 })).state, "SUCCESS");
      assert.deepEqual(runs().map((x) => x.id), ["busy-1"]);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0);
    }
  });

  it("a retry keeps the job's expiry: one due after it is stored REVOKED (expired) at the expiry, not run", SLOW, async () => {
    const { file, runs, worker, client } = await fresh();
    const p = await worker();
    try {
      const started = Date.now();
      await client.enqueue("retryLater", [file, 30], { id: "retry-1", expires: 2 });
      const r = await client.result("retry-1", { timeout: 15 });
      assert.equal(r.state, "REVOKED");
      assert.equal(r.reason, "expired");
      assert.equal(r.retries, 1, "the retry was the attempt that expired");
      assert.ok(Date.now() - started < 15_000, "released at its expiry, not after the 30 s countdown");
      assert.deepEqual(runs().map((x) => [x.id, x.retries]), [["retry-1", 0]]);
    } finally {
      await client.close();
      assert.equal(await qwStop(p), 0);
    }
  });

  it("on 2.11+ the message carries the server's TTL in a stream created with allow_msg_ttl; before, the header alone", SLOW, async () => {
    const { stream, file, qw, client } = await fresh();
    try {
      const before = Date.now();
      assert.equal((await qw("enqueue", "ok", file, "--expires", "2", "--id", "ttl-1")).code, 0);
      const jsm = await jetstreamManager(t.nc);
      const info = await jsm.streams.info(stream);
      const m = await jsm.streams.getMessage(stream, { last_by_subj: `${stream}.ok` });
      const expires = Number(m!.header.get("Qw-Expires"));
      assert.ok(expires >= before + 2000 && expires <= Date.now() + 2000, `Qw-Expires ${expires}`);
      if (serverFeatures(t.nc.info?.version).messageTtl) {
        assert.equal(info.config.allow_msg_ttl, true);
        assert.equal(m!.header.get("Nats-TTL"), String(2 + EXPIRY_TTL_GRACE_S));
      } else {
        assert.notEqual(info.config.allow_msg_ttl, true);
        assert.equal(m!.header.get("Nats-TTL"), "");
      }
    } finally {
      await client.close();
    }
  });

  const ttls = { ...SLOW, skip: serverAtLeast(2, 11) ? false : "per-message TTLs need nats-server 2.11+" };
  it("on 2.11+ the server deletes a message once the Nats-TTL qw writes has passed", ttls, async () => {
    const { stream, file, client } = await fresh();
    try {
      const js = jetstream(t.nc);
      const job = { ...prepareJob("ok", [file], { id: "gone-1", expires: 1 }), ttl: 1 };
      await publishJob(js, stream, job);
      const jsm = await jetstreamManager(t.nc);
      assert.equal((await jsm.streams.info(stream)).state.messages, 1);
      await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 0, {
        timeoutMs: 5_000,
        message: () => "the server kept the message past its TTL",
      });
    } finally {
      await client.close();
    }
  });

  it("on 2.11+ a stream without allow_msg_ttl gets the expiry header alone, and the job still expires", SLOW, async () => {
    const stream = `exp${++n}`;
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: "workqueue" as never });
    const file = join(t.dir, `${stream}.jsonl`);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.enqueue("ok", [file], { id: "plain-1", expires: 1 });
      const m = await jsm.streams.getMessage(stream, { last_by_subj: `${stream}.ok` });
      assert.ok(Number(m!.header.get("Qw-Expires")) > 0);
      assert.equal(m!.header.get("Nats-TTL"), "");
      await sleep(1_500);
      const p = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1"]);
      await qwStarted(p);
      try {
        const r = await client.result("plain-1", { timeout: 10 });
        assert.equal(r.state, "REVOKED");
        assert.equal(r.reason, "expired");
      } finally {
        assert.equal(await qwStop(p), 0);
      }
    } finally {
      await client.close();
    }
  });
});
