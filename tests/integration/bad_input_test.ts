// Bad input gets a clear one-line error and a non-zero exit, never a stack
// trace; bad messages are dead-lettered with a reason and the next job runs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { headers } from "@nats-io/nats-core";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { waitFor } from "../helpers/wait.ts";
import { hasStackTrace, runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";

const SLOW = { timeout: 60_000 };

/** The last line qw printed on stderr must be its one-line error. */
function assertOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, "non-zero exit");
  assert.ok(!hasStackTrace(r.stderr), `no stack trace in: ${r.stderr}`);
  const last = r.stderr.trim().split("\n").at(-1)!;
  assert.match(last, /^qw: /);
  assert.match(last, pattern);
}

describe("bad input", () => {
  const t = useServer("bad");

  const run = (args: string[]) => runQw(["--stream", "bad", "--server", t.srv.url, ...args]);

  it("a missing tasks file is a one-line error", SLOW, async () => {
    assertOneLineError(await run(["--tasks", "nope/missing.ts"]), /Cannot read tasks file 'nope\/missing.ts': no such file/);
  });

  it("a directory given as tasks file is a one-line error", SLOW, async () => {
    assertOneLineError(await run(["--tasks", t.dir]), /Cannot load tasks file/);
  });

  it("a tasks file with a syntax error is a one-line error naming the first error's file, line and column", SLOW, async () => {
    assertOneLineError(
      await run(["--tasks", "tests/fixtures/tasks/bad/syntax_error.ts"]),
      /Cannot load tasks file '.*syntax_error\.ts': .*tests\/fixtures\/tasks\/bad\/syntax_error\.ts:2:\d+: Expected identifier/,
    );
  });

  it("a syntax error in a module the tasks file imports names that module and counts the other errors", SLOW, async () => {
    assertOneLineError(
      await run(["--tasks", "tests/fixtures/tasks/bad/imports_broken.ts"]),
      /Cannot load tasks file '.*imports_broken\.ts': .*tests\/fixtures\/tasks\/bad\/_broken_helper\.ts:2:\d+: Expected "\)" but found "\{" \(and 1 more error\)$/,
    );
  });

  it("a tasks file that throws at top level is a one-line error naming the cause", SLOW, async () => {
    assertOneLineError(await run(["--tasks", "tests/fixtures/tasks/bad/throws_at_top.ts"]), /config missing at import time/);
  });

  it("a tasks file with no task is a one-line error", SLOW, async () => {
    assertOneLineError(await run(["--tasks", "tests/fixtures/tasks/bad/no_tasks.ts"]), /exports no function/);
  });

  it("an unknown flag is a one-line usage error with exit code 2", SLOW, async () => {
    const r = await runQw(["--bogus"]);
    assertOneLineError(r, /Unknown option '--bogus'/);
    assert.equal(r.code, 2);
  });

  it("a malformed flag value is a one-line error", SLOW, async () => {
    assertOneLineError(await run(["--tasks", "tests/fixtures/tasks/ok.ts", "--concurrency", "abc"]), /concurrency/);
  });

  it("an unreachable NATS server is retried with one warning, then a one-line error", SLOW, async () => {
    const r = await runQw(["--stream", "bad", "--tasks", "tests/fixtures/tasks/ok.ts", "--server", "nats://127.0.0.1:1", "--connect-timeout", "1.5"]);
    assertOneLineError(r, /Cannot connect to NATS at 'nats:\/\/127.0.0.1:1' after \d+ attempts/);
    const retries = r.stderr.split("\n").filter((l) => l.includes("retrying"));
    assert.equal(retries.length, 1, `one retry line in: ${r.stderr}`);
    assert.match(retries[0], /retrying for up to 1.5 s/);
  });

  it("bad messages are dead-lettered with a reason and the next job runs", SLOW, async () => {
    const stream = "badmsgs";
    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/ok.ts", "--server", t.srv.url, "--concurrency", "2"]);
    try {
      await qwStarted(qw);
      const js = jetstream(t.nc);
      const h = headers();
      h.set("Qw-Retries", "abc");
      await js.publish(`${stream}.add`, "not json");
      await js.publish(`${stream}.add`, JSON.stringify({ nope: 1 }));
      await js.publish(`${stream}.missing`, JSON.stringify({ args: [] }));
      await js.publish(`${stream}.add`, new Uint8Array([0xff, 0x00, 0xfe]));
      await js.publish(`${stream}.add`, JSON.stringify({ args: [1, 2] }), { headers: h });
      await js.publish(`${stream}.add`, JSON.stringify({ args: [1, 2] }), { msgID: "good" });
      const kv = await new Kvm(t.nc).open(`qw_${stream}_results`);
      const rec = await waitFor(async () => (await kv.get("good"))?.json<{ result: number }>(), { timeoutMs: 10_000 });
      assert.equal(rec.result, 3);
      const jsm = await jetstreamManager(t.nc);
      await waitFor(async () => (await jsm.streams.info(`${stream}_dlq`)).state.messages === 5, { timeoutMs: 10_000 });
      const reasons: string[] = [];
      for (let seq = 1; seq <= 5; seq++) {
        const m = await jsm.streams.getMessage(`${stream}_dlq`, { seq });
        reasons.push(m!.header.get("Qw-Dlq-Reason"));
      }
      assert.ok(reasons.some((r) => /not valid JSON/.test(r)), reasons.join(" | "));
      assert.ok(reasons.some((r) => /no 'args' array/.test(r)));
      assert.ok(reasons.some((r) => /Unknown task 'missing'/.test(r)));
      assert.ok(reasons.some((r) => /Qw-Retries/.test(r)));
      assert.equal((await jsm.streams.info(stream)).state.messages, 0, "nothing left behind in the work stream");
      assert.equal(qw.exitCode, null, "qw is still running");
    } finally {
      await qwStop(qw);
    }
  });
});
