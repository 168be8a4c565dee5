// Control of running work with real dist/qw processes: durable revokes (a job
// waiting, delayed, queued, running with and without --terminate, and one
// revoked before the process that receives it started), progress seen by
// client.watch(), and worker records that appear, count and disappear.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { type Client, connectClient } from "../../src/client/client.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/control.ts";

describe("control of running work", () => {
  const t = useServer("control");
  let n = 0;

  async function setUp(extra: string[] = []) {
    const stream = `ctl${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1", ...extra]);
    await qwStarted(qw);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    const runs = (id?: string) => {
      let text = "";
      try {
        text = readFileSync(file, "utf8");
      } catch { /* none yet */ }
      return text.split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((r) => id === undefined || r.id === id);
    };
    const stop = async () => {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    };
    return { stream, file, qw, client, runs, stop };
  }

  it("revoke of a countdown job before it is due: never runs, REVOKED; a second revoke says it ended and exits 1", SLOW, async () => {
    const { stream, file, client, runs, stop } = await setUp();
    try {
      const id = await client.enqueue("ok", [file], { countdown: 2 });
      const cli = await runQw(["revoke", "--stream", stream, "--server", t.srv.url, id]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, new RegExp(`^Revoked '${id}' \\(state PENDING\\); a running job finishes\\n$`));
      const r = await client.result(id, { timeout: 10 });
      assert.equal(r.state, "REVOKED");
      assert.equal(runs(id).length, 0);
      const again = await runQw(["revoke", "--stream", stream, "--server", t.srv.url, id]);
      assert.equal(again.code, 1);
      assert.equal(again.stderr, `qw: job '${id}' already ended in state REVOKED: nothing to revoke\n`);
      const result = await runQw(["result", "--stream", stream, "--server", t.srv.url, id]);
      assert.equal(result.code, 1, "REVOKED exits 1, as FAILURE");
    } finally {
      await stop();
    }
  });

  it("revoke of a job queued behind a slow one: it never runs, the slow one succeeds", SLOW, async () => {
    const { file, client, runs, stop } = await setUp();
    try {
      const slow = await client.enqueue("slow", [file, 1500]);
      const queued = await client.enqueue("ok", [file]);
      await waitFor(() => runs(slow).length === 1, { message: "the slow job never started" });
      assert.deepEqual(await client.revoke(queued), { revoked: true, state: "PENDING" });
      assert.equal((await client.result(queued, { timeout: 10 })).state, "REVOKED");
      assert.equal((await client.result(slow, { timeout: 10 })).state, "SUCCESS");
      assert.equal(runs(queued).length, 0);
    } finally {
      await stop();
    }
  });

  for (const task of ["spinFor", "spinForLate"]) {
    it(`revoke --terminate of a running busy job (${task === "spinFor" ? "early ack" : "acksLate"}): REVOKED at once; the job queued behind it still runs`, SLOW, async () => {
      const { stream, file, client, runs, stop } = await setUp();
      try {
        const running = await client.enqueue(task, [file, 20_000]);
        const next = await client.enqueue("ok", [file]);
        await waitFor(() => runs(running).length === 1, { message: "never started" });
        await sleep(200);
        const t0 = Date.now();
        const cli = await runQw(["revoke", "--stream", stream, "--server", t.srv.url, running, "--terminate"]);
        assert.equal(cli.code, 0, cli.stderr);
        const r = await client.result(running, { timeout: 10 });
        assert.equal(r.state, "REVOKED");
        assert.ok(Date.now() - t0 < 5_000, "long before the job's 20 s");
        assert.equal((await client.result(next, { timeout: 10 })).state, "SUCCESS");
        const jsm = await jetstreamManager(t.nc);
        await waitFor(async () => (await jsm.consumers.info(stream, `qw_${stream}`)).num_ack_pending === 0, { message: "not acked" });
        assert.equal(runs(running).length, 1, "never run again");
      } finally {
        await stop();
      }
    });
  }

  it("revoke without --terminate lets a running job finish with its own state", SLOW, async () => {
    const { file, client, runs, stop } = await setUp();
    try {
      const running = await client.enqueue("slow", [file, 800]);
      await waitFor(() => runs(running).length === 1, { message: "never started" });
      await client.revoke(running);
      assert.equal((await client.result(running, { timeout: 10 })).state, "SUCCESS");
    } finally {
      await stop();
    }
  });

  it("a revoke stored before a worker started reaches that worker: the job never runs", SLOW, async () => {
    const stream = `ctl${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    // A first worker creates the stream and stops; the revoke is stored while none runs.
    const first = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url]);
    await qwStarted(first);
    assert.equal(await qwStop(first), 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      assert.deepEqual(await client.revoke("later-1"), { revoked: true, state: "PENDING" });
      await client.enqueue("ok", [file], { id: "later-1" });
      const late = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url]);
      await qwStarted(late);
      try {
        assert.equal((await client.result("later-1", { timeout: 10 })).state, "REVOKED");
        assert.equal(readFileSync(file, { encoding: "utf8", flag: "a+" }), "", "never ran");
      } finally {
        assert.equal(await qwStop(late), 0);
      }
    } finally {
      await client.close();
    }
  });

  it("progress is seen by client.watch() in order, and never after the final state", SLOW, async () => {
    const { file, client, stop } = await setUp();
    try {
      const id = await client.enqueue("steps", [file, 3]);
      const seen: { state: string; fraction?: number }[] = [];
      for await (const r of client.watch(id, { timeout: 15 })) seen.push({ state: r.state, fraction: r.progress?.fraction });
      const last = seen.pop()!;
      assert.deepEqual(last, { state: "SUCCESS", fraction: undefined });
      assert.ok(seen.length >= 2, JSON.stringify(seen));
      assert.ok(seen.every((s) => s.state === "PROGRESS"), JSON.stringify(seen));
      const fractions = seen.map((s) => s.fraction!);
      assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b), "in order");
      assert.equal((await client.state(id)).state, "SUCCESS");
      const half = await client.enqueue("halfway", [file]);
      const states: string[] = [];
      for await (const r of client.watch(half, { timeout: 10 })) states.push(r.state === "PROGRESS" ? `PROGRESS ${r.progress!.fraction} ${r.progress!.meta}` : r.state);
      assert.deepEqual(states.slice(-2), ["PROGRESS 0.5 half", "SUCCESS"]);
    } finally {
      await stop();
    }
  });

  it("a worker record appears, counts jobs and running ids, and goes away on a clean stop and after kill -9 (TTL)", { timeout: 90_000 }, async () => {
    const { stream, file, client, qw } = await setUp(["--name", "w-clean"]);
    const inspect = async () => JSON.parse((await runQw(["inspect", "--stream", stream, "--server", t.srv.url, "--workers", "--json"])).stdout).workers;
    try {
      await client.enqueue("ok", [file]);
      const id = await client.enqueue("slow", [file, 6_000]);
      const w = await waitFor(async () => {
        const ws = await inspect();
        return ws.length === 1 && ws[0].running.includes(id) ? ws[0] : null;
      }, { timeoutMs: 15_000, message: "no worker record with the running job" });
      assert.equal(w.name, "w-clean");
      assert.equal(w.concurrency, 1);
      assert.equal(w.ready, 1);
      assert.equal(w.done, 1);
      assert.equal(w.draining, false);
    } finally {
      await client.close();
      assert.equal(await qwStop(qw), 0);
    }
    assert.deepEqual(await inspect(), [], "a clean stop deletes the record");
    const killed = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--name", "w-killed"]);
    await qwStarted(killed);
    await waitFor(async () => (await inspect()).length === 1, { message: "no record" });
    killed.kill("SIGKILL");
    await waitFor(async () => (await inspect()).length === 0, { timeoutMs: 25_000, message: "the record outlived its TTL" });
  });
});
