// Operating qw: leases keep a long acksLate job from being redelivered while
// its worker lives; SIGTERM hands unfinished acksLate jobs back at once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { waitFor } from "../helpers/wait.ts";
import { spawnQw } from "../helpers/cli.ts";
import { qwExited, qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { NatsServer } from "../helpers/nats_server.ts";

const SLOW = { timeout: 60_000 };
const uniq = () => "s" + crypto.randomUUID().replace(/-/g, "").slice(0, 10);
const lines = (log: string, prefix: string) => readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith(prefix));
const at = (line: string) => Number(line.split(" ")[2]);

describe("shutdown and leases", () => {
  const t = useServer("shutdown");
  const qw = (stream: string, extra: string[]) =>
    spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/timing.ts", "--server", t.srv.url, ...extra]);
  const started = qwStarted;
  const exited = qwExited;

  it("a task busy for 5x the ack wait is delivered exactly once", SLOW, async () => {
    const stream = uniq();
    const log = join(t.dir, `${stream}.log`);
    writeFileSync(log, "");
    const p = qw(stream, ["--concurrency", "1", "--ack-wait", "1"]);
    try {
      await started(p);
      await jetstream(t.nc).publish(`${stream}.lateBusy`, JSON.stringify({ args: [log, "busy", 5_000] }));
      await waitFor(() => lines(log, "end busy").length === 1, { timeoutMs: 20_000 });
      const jsm = await jetstreamManager(t.nc);
      const ci = await waitFor(async () => {
        const c = await jsm.consumers.info(stream, `qw_${stream}`);
        return c.num_ack_pending === 0 ? c : null;
      });
      assert.equal(lines(log, "start busy").length, 1, "ran once");
      assert.equal(ci.num_redelivered, 0, "never redelivered while its worker was alive");
      assert.equal(ci.delivered.consumer_seq, 1, "delivered exactly once");
    } finally {
      process.kill(p.pid!, "SIGTERM");
      await exited(p);
    }
  });

  it("SIGTERM hands a running acksLate job back after the grace period; another worker takes it within 1 s", SLOW, async () => {
    const stream = uniq();
    const log = join(t.dir, `${stream}.log`);
    writeFileSync(log, "");
    // Two alike workers with two slots each, so whichever takes the long job up
    // again still runs the short ones.
    const args = ["--concurrency", "2", "--ack-wait", "30", "--grace", "1"];
    const a = qw(stream, args);
    await started(a);
    const b = qw(stream, args);
    try {
      await started(b);
      const js = jetstream(t.nc);
      // Load both workers, then find the one running "long" and stop it.
      await js.publish(`${stream}.lateNap`, JSON.stringify({ args: [log, "long", 20_000] }));
      await waitFor(() => lines(log, "start long").length === 1, { timeoutMs: 10_000 });
      for (let i = 0; i < 20; i++) await js.publish(`${stream}.lateNap`, JSON.stringify({ args: [log, `short${i}`, 50] }));
      const runnerPid = Number(lines(log, "start long")[0].split(" ")[3]);
      const runner = runnerPid === a.pid ? a : b;
      assert.equal(runner.pid, runnerPid, "the long job runs in one of the two workers");
      const tTerm = Date.now();
      process.kill(runner.pid!, "SIGTERM");
      assert.equal(await exited(runner), 0, "graceful exit code");
      const tExit = Date.now();
      await waitFor(() => lines(log, "start long").length === 2, { timeoutMs: 5_000, message: "the long job was not picked up again" });
      const restart = at(lines(log, "start long")[1]);
      assert.ok(tExit - tTerm >= 900, `waited for the grace period: ${tExit - tTerm} ms`);
      assert.ok(restart - tExit < 1_000, `picked up ${restart - tExit} ms after the first worker exited`);
      await waitFor(() => lines(log, "end short").length === 20, { timeoutMs: 10_000, message: "short jobs lost" });
      assert.match(runner.output(), /handed back/);
    } finally {
      for (const p of [a, b]) if (p.exitCode === null) process.kill(p.pid!, "SIGKILL");
    }
  });

  it("jobs a stopping worker's open pulls still bring go back as copies: each runs once elsewhere, as a first run", SLOW, async () => {
    const stream = uniq();
    const log = join(t.dir, `${stream}.jsonl`);
    writeFileSync(log, "");
    const worker = () => spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/succeed.ts", "--server", t.srv.url, "--concurrency", "2"]);
    const a = worker();
    await started(a);
    // A's last pull request stays open on the server for up to 2 s after SIGTERM: these jobs reach it. They are
    // published once A says it is shutting down (and has stopped pulling), not as the signal leaves: a job that
    // came before A handled the signal would rightly run there.
    process.kill(a.pid!, "SIGTERM");
    await waitFor(() => a.output().includes("shutting down"), { timeoutMs: 5_000, message: () => `no shutdown line: ${a.output()}` });
    await new Promise((r) => setTimeout(r, 200));
    const js = jetstream(t.nc);
    for (let i = 0; i < 6; i++) await js.publish(`${stream}.ok`, JSON.stringify({ args: [log] }), { msgID: `late${i}` });
    assert.equal(await exited(a), 0, "graceful exit code");
    assert.equal(readFileSync(log, "utf8"), "", "a stopping worker starts nothing");
    assert.match(a.output(), /handed back/, "the jobs reached the stopping worker");
    const b = worker();
    try {
      await started(b);
      const runs = await waitFor(() => {
        const r = readFileSync(log, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
        return r.length >= 6 ? r : null;
      }, { timeoutMs: 15_000, message: "the jobs did not all run" });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(readFileSync(log, "utf8").split("\n").filter((l) => l !== "").length, 6, "each ran once");
      // A nak would have raised the delivery count: a first run would then look like a redelivery, or hit the cap.
      assert.deepEqual(runs.map((r: { deliveryCount: number; redelivered: boolean }) => [r.deliveryCount, r.redelivered]), Array(6).fill([1, false]));
      const dlq = await (await jetstreamManager(t.nc)).streams.info(`${stream}_dlq`).catch(() => null);
      assert.equal(dlq?.state.messages ?? 0, 0, "nothing dead-lettered");
    } finally {
      await qwStop(b);
    }
  });

  it("with a 1 s ack wait and a second worker up, jobs that reach a stopping worker still run once each, as first runs", SLOW, async () => {
    const stream = uniq();
    const log = join(t.dir, `${stream}.jsonl`);
    writeFileSync(log, "");
    const worker = () =>
      spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/succeed.ts", "--server", t.srv.url, "--concurrency", "2", "--ack-wait", "1"]);
    const a = worker();
    await started(a);
    const b = worker();
    try {
      await started(b);
      // Held by A until its last pulls ended, a job would outlive its ack wait and reach B as well.
      process.kill(a.pid!, "SIGTERM");
      const js = jetstream(t.nc);
      for (let i = 0; i < 12; i++) await js.publish(`${stream}.ok`, JSON.stringify({ args: [log] }), { msgID: `late${i}` });
      assert.equal(await exited(a), 0, "graceful exit code");
      const read = () => readFileSync(log, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
      await waitFor(() => read().length >= 12, { timeoutMs: 15_000, message: "the jobs did not all run" });
      await new Promise((r) => setTimeout(r, 1_500));
      const runs = read();
      assert.equal(runs.length, 12, "each ran once");
      assert.deepEqual(runs.map((r: { deliveryCount: number; redelivered: boolean }) => [r.deliveryCount, r.redelivered]), Array(12).fill([1, false]));
    } finally {
      await qwStop(b);
    }
  });

  it("SIGTERM says how long it waits for running jobs; a second signal stops at once", SLOW, async () => {
    const stream = uniq();
    const log = join(t.dir, `${stream}.log`);
    writeFileSync(log, "");
    const p = qw(stream, ["--concurrency", "1", "--grace", "30"]);
    try {
      await started(p);
      await jetstream(t.nc).publish(`${stream}.lateNap`, JSON.stringify({ args: [log, "long", 20_000] }));
      await waitFor(() => lines(log, "start long").length === 1, { timeoutMs: 10_000 });
      process.kill(p.pid!, "SIGTERM");
      await waitFor(() => p.output().includes("waiting up to 30 s for 1 running job; signal again to stop now"), {
        timeoutMs: 5_000,
        message: () => `no waiting line: ${p.output()}`,
      });
      const tSecond = Date.now();
      process.kill(p.pid!, "SIGTERM");
      assert.equal(await exited(p), 0);
      assert.ok(Date.now() - tSecond < 5_000, "the second signal skipped the grace period");
    } finally {
      if (p.exitCode === null) process.kill(p.pid!, "SIGKILL");
    }
  });

  it("SIGTERM while the NATS server is down exits at once: nothing waits for a server that cannot answer", SLOW, async () => {
    const server = await NatsServer.start();
    const p = spawnQw(["--stream", uniq(), "--tasks", "tests/fixtures/tasks/timing.ts", "--server", server.url, "--concurrency", "1"]);
    try {
      await started(p);
      await server.stop();
      await waitFor(() => /disconnected from NATS/.test(p.output()), { timeoutMs: 10_000, message: () => `no disconnect line: ${p.output()}` });
      const t0 = Date.now();
      process.kill(p.pid!, "SIGTERM");
      assert.equal(await exited(p), 0, p.output());
      // Waiting on the server took 8 s: open pulls running out, deleting the worker record, draining.
      assert.ok(Date.now() - t0 < 2_000, `exited ${Date.now() - t0} ms after SIGTERM:\n${p.output()}`);
      assert.doesNotMatch(p.output(), /ERROR/, "no error for what could not be done without the server");
    } finally {
      if (p.exitCode === null) process.kill(p.pid!, "SIGKILL");
      await server.stop();
    }
  });
});
