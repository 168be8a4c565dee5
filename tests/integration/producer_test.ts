/**
 * The producer side against a real nats-server and an in-process worker:
 * enqueue -> run -> result from the client and from the `qw` CLI, duplicate
 * ids, countdowns and etas, fenced results, and bad input.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { runQw } from "../helpers/cli.ts";
import { fileURLToPath } from "node:url";
import { type Client, connectClient } from "../../src/client/client.ts";
import { resolveConfig } from "../../src/core/config/config.ts";
import { ResultTimeoutError } from "../../src/core/errors.ts";
import { Emitter, type QwEvent } from "../../src/core/events.ts";
import { KvResultStore, type ResultRecord } from "../../src/client/buckets/result_store.ts";
import { type Service, startService } from "../../src/worker/service.ts";
import { namesFor } from "../../src/client/topology.ts";
import { NatsServer } from "../helpers/nats_server.ts";
import { sleep, waitFor } from "../helpers/wait.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUN = `${ROOT}node_modules/.bin/bun`;
const TASKS = fileURLToPath(new URL("../fixtures/tasks/producer.ts", import.meta.url));
const SLOW = { timeout: 30_000 };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the `qw` CLI from source under Bun (the same in both test runtimes). */
const qw = (args: string[]): Promise<Run> => runQw(args, { flavor: "bun" });

/** One line on stderr, `qw: ` and no stack trace. */
function assertOneLineError(run: Run, pattern: RegExp): void {
  assert.match(run.stderr, /^qw: [^\n]+\n$/, `one line: ${JSON.stringify(run.stderr)}`);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  assert.match(run.stderr, pattern);
}

/** Deno's ChildProcess.kill() sends only one signal per child, so signal the pid. */
function signal(child: ChildProcess, name: "SIGSTOP" | "SIGCONT" | "SIGKILL"): void {
  try {
    process.kill(child.pid!, name);
  } catch {
    // Already gone.
  }
}

let server: NatsServer;
const services: Service[] = [];
const clients: Client[] = [];

async function startWorker(stream: string, options: { ackWait?: number; maxDeliveries?: number } = {}) {
  const config = resolveConfig(
    {
      server: server.url,
      stream,
      tasks: TASKS,
      concurrency: 2,
      ackWait: options.ackWait,
      maxDeliveries: options.maxDeliveries,
    },
    { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
  );
  const events = new Emitter();
  const seen: QwEvent[] = [];
  events.on((e) => seen.push(e));
  const service = await startService(config, { events });
  services.push(service);
  return { service, seen };
}

async function client(stream: string): Promise<Client> {
  const c = await connectClient({ servers: server.url, stream });
  clients.push(c);
  return c;
}

before(async () => {
  server = await NatsServer.start();
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(services.map((s) => s.close("test done", { graceSeconds: 0 })));
  await server.stop();
});

describe("client round trip", () => {
  let seen: QwEvent[];
  let c: Client;
  before(async () => {
    ({ seen } = await startWorker("jobs"));
    c = await client("jobs");
  });

  it("enqueue -> run -> result gives SUCCESS with the return value", SLOW, async () => {
    const before = Date.now();
    const id = await c.enqueue("add", [2, 3]);
    const record = await c.result<number>(id, { timeout: 10 });
    assert.deepEqual({ ...record, finishedAt: 0, startedAt: 0 }, {
      id,
      task: "add",
      state: "SUCCESS",
      result: 5,
      retries: 0,
      deliveryCount: 1,
      worker: "test:1",
      finishedAt: 0,
      startedAt: 0,
    });
    // The attempt's start, from this worker's clock: after the enqueue, not after the finish.
    assert.ok(record.startedAt! >= before && record.startedAt! <= record.finishedAt, `startedAt ${record.startedAt}`);
    assert.deepEqual(await c.get(id), record);
  });

  it("a task that throws ends in FAILURE with its error", SLOW, async () => {
    const record = await c.result(await c.enqueue("fail", ["no luck"]), { timeout: 10 });
    assert.equal(record.state, "FAILURE");
    assert.equal(record.error?.name, "TypeError");
    assert.equal(record.error?.message, "no luck");
  });

  it("result() resolves when a job finishes after the call", SLOW, async () => {
    const waiting = c.result("later", { timeout: 10 });
    await sleep(300);
    await c.enqueue("add", [1, 1], { id: "later" });
    assert.equal((await waiting).result, 2);
  });

  it("an unknown id is PENDING, and result() times out with ResultTimeoutError", SLOW, async () => {
    assert.deepEqual(await c.get("no-such-id"), { id: "no-such-id", state: "PENDING" });
    const started = Date.now();
    await assert.rejects(c.result("no-such-id", { timeout: 0.3 }), (e: Error) => {
      assert.ok(e instanceof ResultTimeoutError);
      assert.equal(e.message, `No final result for 'no-such-id' within 0.3 s: current state is "PENDING"`);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });

  it("the same id twice is stored once and runs once", SLOW, async () => {
    const first = await c.send("add", [4, 4], { id: "once" });
    const second = await c.send("add", [4, 4], { id: "once" });
    assert.deepEqual([first.duplicate, second.duplicate, second.seq], [false, true, first.seq]);
    assert.equal((await c.result("once", { timeout: 10 })).result, 8);
    assert.equal((await c.send("add", [4, 4], { id: "once" })).duplicate, true, "still a duplicate after it ran");
    await sleep(500);
    assert.equal(seen.filter((e) => e.type === "job.succeeded" && e.id === "once").length, 1);
  });

  it("a countdown holds the job back for that long (within 10 % and 300 ms)", SLOW, async () => {
    const enqueuedAt = Date.now();
    const receipt = await c.send("add", [1, 2], { countdown: 2 });
    assert.equal(receipt.delayed, true);
    const record = await c.result(receipt.id, { timeout: 10 });
    const waited = record.finishedAt - enqueuedAt;
    assert.ok(waited >= 2000 * 0.9 && waited <= 2000 * 1.1 + 300, `ran after ${waited} ms`);
  });

  it("an eta in the past runs now", SLOW, async () => {
    const receipt = await c.send("add", [3, 3], { eta: new Date(Date.now() - 3_600_000) });
    assert.equal(receipt.delayed, false);
    assert.equal((await c.result(receipt.id, { timeout: 5 })).result, 6);
  });

  it("rejects a negative countdown before publishing", async () => {
    await assert.rejects(c.enqueue("add", [1, 2], { countdown: -1 }), {
      name: "RangeError",
      message: `Cannot enqueue job as 'countdown' must be >= 0: current value is "-1"`,
    });
  });
});

describe("qw CLI round trip", () => {
  const S = () => ["--server", server.url, "--stream", "jobs"];

  it("qw enqueue prints the id; qw result --wait prints SUCCESS as JSON and exits 0", SLOW, async () => {
    const enq = await qw(["enqueue", ...S(), "add", "2", "3"]);
    assert.deepEqual([enq.code, enq.stderr], [0, ""]);
    const id = enq.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const res = await qw(["result", ...S(), "--wait", "10", id]);
    assert.deepEqual([res.code, res.stderr], [0, ""]);
    const record = JSON.parse(res.stdout);
    assert.deepEqual({ ...record, finishedAt: undefined }, {
      id,
      task: "add",
      state: "SUCCESS",
      result: 5,
      retries: 0,
      deliveryCount: 1,
      worker: "test:1",
      finishedAt: undefined,
    });
    assert.ok(Date.parse(record.finishedAt) > Date.now() - 60_000);
  });

  it("qw enqueue --json passes the args; a FAILURE exits 1 with the error", SLOW, async () => {
    const enq = await qw(["enqueue", ...S(), "--id", "cli-fail", "--json", '["from the cli"]', "fail"]);
    assert.deepEqual([enq.code, enq.stdout], [0, "cli-fail\n"]);
    const res = await qw(["result", ...S(), "--wait", "10", "cli-fail"]);
    assert.equal(res.code, 1);
    assert.deepEqual(JSON.parse(res.stdout).error.message, "from the cli");
    const stack: string = JSON.parse(res.stdout).error.stack;
    assert.match(stack, /tests\/fixtures\/tasks\/producer\.ts:\d+:\d+/, "the task's own frame stays");
    assert.doesNotMatch(stack, /\$bunfs|worker_entry/, "qw's frames are dropped");
  });

  it("qw enqueue --count N enqueues N numbered ids and prints the rate", SLOW, async () => {
    const enq = await qw(["enqueue", ...S(), "--count", "5", "--id", "batch", "add", "1", "2"]);
    assert.equal(enq.code, 0);
    assert.match(enq.stdout, /^Enqueued 5 jobs of 'add' to stream 'jobs' in \d+\.\d\d s \(\d+ jobs\/s\)\n$/);
    const c = await client("jobs");
    for (let i = 1; i <= 5; i++) assert.equal((await c.result(`batch-${i}`, { timeout: 10 })).result, 3);
    const again = await qw(["enqueue", ...S(), "--count", "5", "--id", "batch", "add", "1", "2"]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /^Enqueued 0 jobs \(of 5\) of 'add' to stream 'jobs' in /);
    assert.equal(again.stderr, "qw: 5 of 5 ids were already enqueued within the duplicate window: not stored again\n");
  });

  it("qw enqueue --eta in the past runs now", SLOW, async () => {
    const enq = await qw(["enqueue", ...S(), "--eta", "2000-01-01T00:00:00Z", "add", "4", "5"]);
    assert.equal(enq.code, 0);
    const res = await qw(["result", ...S(), "--wait", "5", enq.stdout.trim()]);
    assert.deepEqual([res.code, JSON.parse(res.stdout).result], [0, 9]);
  });
});

describe("bad input", () => {
  const on = (stream: string) => ["--server", server.url, "--stream", stream];

  it("an unknown stream is a one-line error from enqueue, result and inspect", SLOW, async () => {
    const hint = /stream not found \(start a worker with --stream nostream first, or create it\)\n$/;
    const enq = await qw(["enqueue", ...on("nostream"), "add", "1"]);
    assert.equal(enq.code, 1);
    assertOneLineError(enq, /^qw: Cannot enqueue to stream 'nostream': /);
    assertOneLineError(enq, hint);
    const res = await qw(["result", ...on("nostream"), "some-id"]);
    assert.equal(res.code, 3);
    assertOneLineError(res, /^qw: Cannot get result from stream 'nostream': stream not found/);
    const ins = await qw(["inspect", ...on("nostream")]);
    assert.notEqual(ins.code, 0);
    assertOneLineError(ins, /^qw: Cannot inspect stream 'nostream': stream not found/);
    const c = await client("nostream");
    await assert.rejects(c.enqueue("add", [1]), { message: enq.stderr.slice(4, -1) });
  });

  it("an unknown id prints PENDING and exits 2", SLOW, async () => {
    await startWorker("jobs2");
    const res = await qw(["result", ...on("jobs2"), "--wait", "0.5", "no-such-id"]);
    assert.deepEqual([res.code, JSON.parse(res.stdout)], [2, { id: "no-such-id", state: "PENDING" }]);
    assertOneLineError(res, /^qw: job 'no-such-id' has no final state within 0.5 s: current state is "PENDING"/);
  });

  it("invalid JSON args and a negative countdown exit 2 before connecting", SLOW, async () => {
    const json = await qw(["enqueue", ...on("jobs"), "--json", "[1,", "add"]);
    assert.equal(json.code, 2);
    assertOneLineError(json, /'--json' must be a JSON array of args: current value is "\[1,"/);
    const neg = await qw(["enqueue", ...on("jobs"), "--countdown=-1", "add"]);
    assert.equal(neg.code, 2);
    assertOneLineError(neg, /'--countdown' must be a number >= 0: current value is "-1"/);
  });

  it("a server without JetStream or no server at all is a one-line error", SLOW, async () => {
    const plain = await NatsServer.start({ jetstream: false });
    try {
      await assert.rejects(connectClient({ servers: plain.url, stream: "jobs" }), {
        message: `Cannot use JetStream on '${plain.url}': jetstream is not enabled (start nats-server with -js)`,
      });
      const enq = await qw(["enqueue", "--server", plain.url, "--stream", "jobs", "add", "1"]);
      assert.equal(enq.code, 1);
      assertOneLineError(enq, /^qw: Cannot use JetStream on /);
    } finally {
      await plain.stop();
    }
    const none = await qw([
      "enqueue",
      "--server",
      "nats://127.0.0.1:1",
      "--connect-timeout",
      "0",
      "--stream",
      "jobs",
      "add",
    ]);
    assert.equal(none.code, 1);
    assertOneLineError(none, /^qw: Cannot connect to NATS at 'nats:\/\/127.0.0.1:1'/);
  });
});

describe("fenced results", () => {
  it("a stale attempt's write never replaces a newer attempt's record", SLOW, async () => {
    const c = await client("jobs");
    const store = await KvResultStore.open(c.nc, namesFor("fence").resultsBucket, { ttl: 60 });
    const base: ResultRecord = {
      id: "f1",
      task: "add",
      state: "SUCCESS",
      retries: 0,
      deliveryCount: 1,
      worker: "w",
      finishedAt: 1,
    };
    await store.write({ ...base, deliveryCount: 2, result: "newer" });
    await store.write({ ...base, deliveryCount: 1, result: "stale" });
    await store.write({ ...base, retries: 0, deliveryCount: 1, state: "FAILURE" });
    assert.equal((await store.get("f1"))?.result, "newer");
    await store.write({ ...base, retries: 1, deliveryCount: 1, result: "retry" });
    assert.equal((await store.get("f1"))?.result, "retry", "a later retry wins over any delivery of an earlier one");
  });

  it("a first run slower than the ack wait finishes after its redelivered copy and leaves it in place", {
    timeout: 60_000,
  }, async () => {
    const stream = "race";
    const args = [
      "run",
      "--server",
      server.url,
      "--stream",
      stream,
      "--tasks",
      TASKS,
      "--concurrency",
      "1",
      "--ack-wait",
      "1",
    ];
    const slowWorker: ChildProcess = spawn(BUN, [
      "cli.ts",
      ...args,
      "--max-deliveries",
      "100",
      "--log-level",
      "debug",
      "--log-format",
      "json",
    ], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const logged: Record<string, unknown>[] = [];
    let buffer = "";
    slowWorker.stderr!.on("data", (d) => {
      buffer += d;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith("{")) logged.push(JSON.parse(line));
    });
    const has = (type: string, delivery?: number) => () =>
      logged.some((e) =>
        e.type === type && e.id === "raced" && (delivery === undefined || e.deliveryCount === delivery)
      );
    try {
      await waitFor(() => logged.some((e) => e.type === "service.started"), {
        timeoutMs: 15_000,
        message: "slow worker started",
      });
      const c = await client(stream);
      await c.enqueue("race", [8000], { id: "raced" });
      await waitFor(has("job.started", 1), { timeoutMs: 10_000, message: "first delivery started" });
      signal(slowWorker, "SIGSTOP"); // Its lease is no longer renewed: the server redelivers after 1 s.
      const fast = await startWorker(stream, { ackWait: 1, maxDeliveries: 100 });
      const newer = await c.result<string>("raced", { timeout: 20 }).catch(async (e) => {
        const info = await c.jsm.consumers.info(stream, "qw_race");
        const detail = { fast: fast.seen, slow: logged, pending: info.num_pending, ackPending: info.num_ack_pending };
        throw new Error(`${(e as Error).message}: ${JSON.stringify(detail)}`);
      });
      assert.ok(newer.deliveryCount > 1 && newer.result === `delivery ${newer.deliveryCount}`, JSON.stringify(newer));
      signal(slowWorker, "SIGCONT");
      await waitFor(has("job.succeeded", 1), { timeoutMs: 10_000, message: "first delivery finished" });
      await sleep(500); // Its fenced write is not awaited before the event.
      assert.deepEqual(await c.get("raced"), newer);
      assert.ok(!has("result.store_failed")(), "the stale write was skipped, not an error");
    } finally {
      signal(slowWorker, "SIGCONT");
      signal(slowWorker, "SIGKILL");
    }
  });
});
