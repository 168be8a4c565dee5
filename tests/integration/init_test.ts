// `qw init` sets up what a worker would, so a producer deployed first can publish; a worker then runs its jobs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };

describe("qw init", () => {
  const t = useServer("init");

  it("creates the streams, consumers and results bucket, then reports them as existing", SLOW, async () => {
    const stream = "early";
    const first = await runQw(["init", "--stream", stream, "--server", t.srv.url]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, "");
    const rows = first.stdout.trim().split("\n").map((l) => l.split(/\s{2,}/).slice(0, 2));
    assert.deepEqual(rows, [
      ["stream 'early'", "created"],
      ["consumer 'qw_early'", "created"],
      ["consumer 'qw_early_delayed'", "created"],
      ["stream 'early_dlq'", "created"],
      ["KV bucket 'qw_early_results'", "created"],
    ]);
    const jsm = await jetstreamManager(t.nc);
    assert.equal((await jsm.consumers.info(stream, "qw_early")).config.filter_subject, "early.*");
    await new Kvm(t.nc).open("qw_early_results");

    // A producer that never ran qw can publish now, as the README's Python example does.
    await jetstream(t.nc).publish(`${stream}.add`, JSON.stringify({ args: [2, 3] }), { msgID: "before-worker" });

    const second = await runQw(["init", "--stream", stream, "--server", t.srv.url]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.stdout.trim().split("\n").map((l) => l.split(/\s{2,}/)[1]), Array(5).fill("exists"));

    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/ok.ts", "--server", t.srv.url]);
    try {
      await qwStarted(qw);
      const kv = await new Kvm(t.nc).open("qw_early_results");
      const rec = await waitFor(async () => (await kv.get("before-worker"))?.json<{ result: number }>(), { timeoutMs: 10_000 });
      assert.equal(rec.result, 5);
    } finally {
      await qwStop(qw);
    }
  });

  it("leaves the results bucket out with --no-results", SLOW, async () => {
    const r = await runQw(["init", "--stream", "nores", "--no-results", "--server", t.srv.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 4);
    assert.doesNotMatch(r.stdout, /KV bucket/);
  });

  it("refuses worker flags with a one-line usage error", SLOW, async () => {
    const r = await runQw(["init", "--stream", "x", "--tasks", "t.ts"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^qw: Option '--tasks' is not valid for 'qw init'/);
  });
});
