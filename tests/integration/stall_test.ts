// A pool that cannot recover: /healthz says so, qw hands every unacked job
// back and exits 1, and another qw process runs those jobs at once. Also: a
// Web Worker that never becomes ready is given up after --spawn-timeout.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { headers as makeHeaders } from "@nats-io/nats-core";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/stall.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject).listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("a stalled pool", () => {
  const t = useServer("stall");

  it("fails /healthz with the reason, hands back every unacked job and exits 1; another qw runs them", SLOW, async () => {
    const stream = "stalls";
    const port = await freePort();
    const marker = join(t.dir, "marker");
    const args = ["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1"];
    const qw = spawnQw([...args, "--stall-timeout", "1", "--spawn-timeout", "1", "--http", `127.0.0.1:${port}`], {
      env: { QW_TEST_STALL_MARKER: marker },
    });
    // Whatever fails below, this process does not outlive the test.
    const reap = () => qw.exitCode === null && qw.signalCode === null && qw.kill("SIGKILL");
    try {
      await stalls(qw, stream, port);
    } finally {
      reap();
    }
    const healthy = spawnQw(args, { env: { QW_TEST_STALL_MARKER: join(t.dir, "no-marker") } });
    try {
      await qwStarted(healthy);
      const result = async (id: string) => JSON.parse((await runQw(["result", "--stream", stream, "--server", t.srv.url, id])).stdout);
      // The job it held was handed back at once, not left for its ack wait (30 s) to run out.
      for (const i of [1, 2, 3]) {
        await waitFor(async () => (await result(`ok${i}`)).state === "SUCCESS", { timeoutMs: 8_000, message: `ok${i} never ran` });
      }
    } finally {
      assert.equal(await qwStop(healthy), 0);
    }
  });

  /** Break the pool of `qw` and see it stall, say so, hand back and exit 1. */
  async function stalls(qw: ReturnType<typeof spawnQw>, stream: string, port: number): Promise<void> {
    await qwStarted(qw);
    const js = jetstream(t.nc);
    const publish = (task: string, id: string) => {
      const h = makeHeaders();
      h.set("Qw-Id", id);
      return js.publish(`${stream}.${task}`, JSON.stringify({ args: [join(t.dir, "runs.jsonl")] }), { headers: h });
    };
    await publish("breakPool", "breaker");
    for (const i of [1, 2, 3]) await publish("ok", `ok${i}`);
    const health = await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      const body = r && r.status === 503 ? await r.json() : null;
      // Before the stall it already fails for the Web Worker that cannot be spawned.
      return body && /stalled/.test(body.reason) ? body : null;
    }, { timeoutMs: 10_000, message: () => `/healthz never said stalled: ${qw.output()}` });
    assert.match(health.reason, /^The pool is stalled: \d+ job\(s\) waiting \d+ s with no Web Worker running or reporting$/);
    assert.equal(await waitFor(() => qw.exitCode ?? (qw.signalCode ? -1 : null), { timeoutMs: 15_000 }), 1);
    assert.match(qw.output(), /the pool is stalled: \d+ job\(s\) waiting/);
    assert.match(qw.output(), /Web Worker 0 failed to start \(attempt 1\): Cannot load tasks file: its Web Worker was not ready within 1 s/);
    assert.match(qw.output(), /qw: The pool stalled: \d+ job\(s\) waited \d+ s with no Web Worker running or reporting/);
  }

  it("a Web Worker that never becomes ready at start fails the start with one line after --spawn-timeout", SLOW, async () => {
    const marker = join(t.dir, "marker-start");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(marker, "stalled");
    const started = Date.now();
    const r = await runQw(["--stream", "neverready", "--tasks", TASKS, "--server", t.srv.url, "--spawn-timeout", "1"], {
      env: { QW_TEST_STALL_MARKER: marker },
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").pop(), "qw: Cannot load tasks file: its Web Worker was not ready within 1 s (--spawn-timeout)");
    assert.ok(Date.now() - started < 10_000);
  });
});


