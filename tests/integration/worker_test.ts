// The qw binary end to end: jobs run and are acked, concurrency overlaps,
// early ack vs acksLate when the qw process dies mid-task, and the compiled
// binary running from a directory with nothing installed.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, type JetStreamClient, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { waitFor } from "../helpers/wait.ts";
import { QW_BIN, ROOT, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";

const SLOW = { timeout: 60_000 };
const uniq = () => "s" + crypto.randomUUID().replace(/-/g, "").slice(0, 10);

describe("qw worker (dist/qw against a real nats-server)", () => {
  const t = useServer("worker");
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  before(async () => {
    js = jetstream(t.nc);
    jsm = await jetstreamManager(t.nc);
  });

  const start = (stream: string, tasks: string, extra: string[] = []) =>
    spawnQw(["--stream", stream, "--tasks", tasks, "--server", t.srv.url, ...extra]);
  const started = qwStarted;
  const stop = qwStop;

  it("runs jobs, stores their results and acks them", SLOW, async () => {
    const stream = uniq();
    const qw = start(stream, "tests/fixtures/tasks/ok.ts", ["--concurrency", "2"]);
    try {
      await started(qw);
      for (let i = 0; i < 20; i++) {
        await js.publish(`${stream}.add`, JSON.stringify({ args: [i, 100] }), { msgID: `job-${i}` });
      }
      const kv = await new Kvm(t.nc).open(`qw_${stream}_results`);
      await waitFor(async () => (await kv.get("job-19"))?.json<{ state: string }>()?.state === "SUCCESS", { timeoutMs: 10_000 });
      for (let i = 0; i < 20; i++) {
        const rec = (await kv.get(`job-${i}`))!.json<{ state: string; result: number }>();
        assert.equal(rec.state, "SUCCESS");
        assert.equal(rec.result, i + 100);
      }
      const ci = await waitFor(async () => {
        const c = await jsm.consumers.info(stream, `qw_${stream}`);
        return c.num_ack_pending === 0 && c.num_pending === 0 ? c : null;
      });
      assert.equal(ci.num_redelivered, 0);
      assert.equal((await jsm.streams.info(stream)).state.messages, 0, "WorkQueue stream is empty once all are acked");
    } finally {
      assert.equal(await stop(qw), 0);
    }
  });

  it("runs jobs concurrently across Web Workers", SLOW, async () => {
    const stream = uniq();
    const log = join(t.dir, `${stream}.log`);
    writeFileSync(log, "");
    const qw = start(stream, "tests/fixtures/tasks/timing.ts", ["--concurrency", "4"]);
    try {
      await started(qw);
      for (let i = 0; i < 4; i++) await js.publish(`${stream}.nap`, JSON.stringify({ args: [log, `j${i}`, 400] }));
      const lines = await waitFor(() => {
        const l = readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
        return l.filter((x) => x.startsWith("end")).length === 4 ? l : null;
      }, { timeoutMs: 10_000 });
      const starts = lines.filter((l) => l.startsWith("start")).map((l) => Number(l.split(" ")[2]));
      const ends = lines.filter((l) => l.startsWith("end")).map((l) => Number(l.split(" ")[2]));
      assert.ok(Math.max(...starts) < Math.min(...ends), `all four ran at the same time: starts ${starts}, ends ${ends}`);
    } finally {
      await stop(qw);
    }
  });

  for (const late of [false, true]) {
    it(`${late ? "acksLate" : "early ack"}: a job whose qw process is killed mid-task is ${late ? "" : "not "}redelivered`, SLOW, async () => {
      const stream = uniq();
      const log = join(t.dir, `${stream}.log`);
      writeFileSync(log, "");
      const a = start(stream, "tests/fixtures/tasks/timing.ts", ["--concurrency", "1", "--ack-wait", "1"]);
      await started(a);
      await js.publish(`${stream}.${late ? "lateNap" : "nap"}`, JSON.stringify({ args: [log, "victim", 60_000] }));
      await waitFor(() => readFileSync(log, "utf8").includes("start victim"), { timeoutMs: 10_000 });
      // Give an early ack time to reach the server (acks are sent within ~10 ms of the start).
      await new Promise((r) => setTimeout(r, 200));
      a.kill("SIGKILL");
      await new Promise((r) => a.on("exit", r));
      const b = start(stream, "tests/fixtures/tasks/timing.ts", ["--concurrency", "1", "--ack-wait", "1"]);
      try {
        await started(b);
        await new Promise((r) => setTimeout(r, 2_500)); // past the 1 s ack wait
        const starts = readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("start victim")).length;
        assert.equal(starts, late ? 2 : 1, `runs of the job: ${starts}`);
        const ci = await jsm.consumers.info(stream, `qw_${stream}`);
        assert.equal(ci.num_redelivered, late ? 1 : 0);
      } finally {
        b.kill("SIGKILL");
      }
    });
  }

  it("dist/qw runs a job from a directory with nothing installed", SLOW, async () => {
    const stream = uniq();
    const bare = mkdtempSync(join(tmpdir(), "qw-bare-"));
    try {
      copyFileSync(QW_BIN, join(bare, "qw"));
      writeFileSync(
        join(bare, "tasks.ts"),
        `import { task } from "qw";\nexport const greet = task({ acksLate: true }, (name: string) => "hello " + name);\n`,
      );
      const child = spawn(join(bare, "qw"), ["--stream", stream, "--tasks", "./tasks.ts", "--server", t.srv.url, "--concurrency", "1"], {
        cwd: bare,
        env: { PATH: "/usr/bin:/bin", HOME: bare },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stderr.on("data", (d) => (out += d));
      child.stdout.on("data", (d) => (out += d));
      try {
        await waitFor(() => out.includes("worker started"), { timeoutMs: 15_000, message: `no start: ${out}` });
        await js.publish(`${stream}.greet`, JSON.stringify({ args: ["bare"] }), { msgID: "bare-1" });
        const kv = await new Kvm(t.nc).open(`qw_${stream}_results`);
        const rec = await waitFor(async () => (await kv.get("bare-1"))?.json<{ state: string; result: string }>());
        assert.deepEqual([rec.state, rec.result], ["SUCCESS", "hello bare"]);
      } finally {
        child.kill("SIGTERM");
        await new Promise((r) => child.on("exit", r));
      }
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it("runs from source under Deno too", SLOW, async () => {
    const stream = uniq();
    const qw = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/ok.ts", "--server", t.srv.url, "--concurrency", "1"], {
      flavor: "deno",
      cwd: ROOT,
    });
    try {
      await waitFor(() => qw.output().includes("worker started"), { timeoutMs: 30_000, message: "deno qw did not start" });
      await js.publish(`${stream}.add`, JSON.stringify({ args: [40, 2] }), { msgID: "deno-1" });
      const kv = await new Kvm(t.nc).open(`qw_${stream}_results`);
      const rec = await waitFor(async () => (await kv.get("deno-1"))?.json<{ result: number }>());
      assert.equal(rec.result, 42);
    } finally {
      assert.equal(await stop(qw), 0);
    }
  });
});
