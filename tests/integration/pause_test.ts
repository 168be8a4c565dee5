// Pause and resume with real dist/qw processes: a paused stream starts no job
// within 1 s while running jobs finish; the pause survives every process
// restarting and holds for a process started later; resume runs every job
// exactly once; a paused task lets the others run and its jobs are not runs;
// `--until` resumes by itself; /healthz stays healthy while paused.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { type Client, connectClient } from "../../src/client/client.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { serverAtLeast } from "../helpers/nats_server.ts";
import { runsIn } from "../helpers/runs.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";

const SLOW = { timeout: 90_000 };
const TASKS = "tests/fixtures/tasks/pause.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("pause and resume", () => {
  const t = useServer("pause");
  let n = 0;

  function setUp() {
    const stream = `pz${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    const runs = (): RunRecord[] => runsIn(file);
    const started = (task?: string) => runs().filter((r) => r.note === undefined && (task === undefined || r.task === task));
    const start = async (extra: string[] = []) => {
      const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "2", ...extra]);
      await qwStarted(qw);
      return qw;
    };
    const cli = (args: string[]) => runQw([...args, "--stream", stream, "--server", t.srv.url]);
    return { stream, file, runs, started, start, cli };
  }

  const exactlyOnce = (runs: RunRecord[], ids: string[]) => {
    const count = new Map<string, number>();
    for (const r of runs) count.set(r.id, (count.get(r.id) ?? 0) + 1);
    for (const id of ids) assert.equal(count.get(id), 1, `job '${id}' ran ${count.get(id) ?? 0} times`);
  };

  it("a paused stream starts no job within 1 s, running jobs finish, the pause survives restarts and holds for a later process; resume runs each job once", SLOW, async () => {
    const { stream, file, runs, started, start, cli } = setUp();
    const port = await freePort();
    let procs = [await start(["--http", `127.0.0.1:${port}`, "--stall-timeout", "1"]), await start()];
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      const running = [await client.enqueue("slow", [file, 2500]), await client.enqueue("slowLate", [file, 2500])];
      await waitFor(() => started("slow").length + started("slowLate").length === 2, { message: "the slow jobs never started" });
      const paused = await cli(["pause"]);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, new RegExp(`^Paused: stream '${stream}' paused until resumed by \\S+@\\S+`));
      const pausedAt = Date.now();
      if (serverAtLeast(2, 11)) {
        const jsm = await jetstreamManager(t.nc);
        assert.equal((await jsm.consumers.info(stream, `qw_${stream}`)).paused, true, "2.11+: the consumer is paused on the server too");
        for (const level of [0, 9]) assert.equal((await jsm.consumers.info(stream, `qw_${stream}_p${level}`)).paused, true, `2.11+: level ${level}'s consumer too`);
      }
      // The backlog spreads over every priority level: no level's consumer brings a job while paused.
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await client.enqueue("ok", [file], { priority: i % 10 }));
      await sleep(3_000);
      assert.deepEqual(started("ok").filter((r) => r.t > pausedAt + 1_000), [], "no job starts later than 1 s after the pause");
      assert.equal(started("ok").length, 0, "no job of the backlog started");
      // Running jobs finish.
      assert.equal(runs().filter((r) => r.note === "end").length, 2);
      for (const id of running) assert.equal((await client.result(id, { timeout: 5 })).state, "SUCCESS");
      // A paused queue with a backlog is healthy, not stalled (stall timeout 1 s).
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200, await health.text());
      const inspect = await cli(["inspect"]);
      assert.match(inspect.stdout, new RegExp(`Paused: stream '${stream}' paused until resumed`));
      const inspectJson = JSON.parse((await cli(["inspect", "--json"])).stdout);
      assert.equal(inspectJson.paused.length, 1);
      assert.equal(inspectJson.paused[0].task, null);

      // Every process restarts: the pause holds.
      for (const p of procs) assert.equal(await qwStop(p), 0);
      procs = [await start(), await start()];
      for (const p of procs) assert.match(p.output(), new RegExp(`paused: stream '${stream}' paused until resumed`), "a process that starts paused says so");
      await sleep(2_000);
      assert.equal(started("ok").length, 0, "the pause held across a restart of every process");
      // A process that starts later holds too.
      procs.push(await start());
      await sleep(1_500);
      assert.equal(started("ok").length, 0, "a process started later holds the pause");

      const resumed = await cli(["resume"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(resumed.stdout, `Resumed stream '${stream}'\n`);
      await waitFor(() => started("ok").length >= ids.length, { timeoutMs: 20_000, message: () => `${started("ok").length} of ${ids.length} ran after resume` });
      await sleep(500);
      exactlyOnce(started("ok"), ids);
      assert.equal(started("ok").length, ids.length, "none ran twice");
      if (serverAtLeast(2, 11)) {
        const jsm = await jetstreamManager(t.nc);
        assert.equal((await jsm.consumers.info(stream, `qw_${stream}`)).paused ?? false, false);
        assert.equal((await jsm.consumers.info(stream, `qw_${stream}_p9`)).paused ?? false, false);
      }
      assert.match((await cli(["inspect"])).stdout, /Paused: nothing/);
    } finally {
      await client.close();
      for (const p of procs) await qwStop(p);
    }
  });

  it("a pause under load: no job starts later than 1 s after it; after resume every job ran exactly once", SLOW, async () => {
    const { stream, file, started, start, cli } = setUp();
    const procs = [await start(), await start()];
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) ids.push(await client.enqueue(i % 2 ? "slow" : "slowLate", [file, 30]));
      await waitFor(() => started().length >= 20, { message: "the jobs never started" });
      const paused = await cli(["pause"]);
      assert.equal(paused.code, 0, paused.stderr);
      const pausedAt = Date.now();
      await sleep(2_500);
      const before = started().length;
      assert.ok(before < ids.length, "the pause came before the backlog was done");
      const late = started().filter((r) => r.t > pausedAt + 1_000);
      assert.deepEqual(late, [], `${late.length} job(s) started more than 1 s after the pause`);
      assert.equal((await cli(["resume"])).code, 0);
      await waitFor(() => started().length >= ids.length, { timeoutMs: 30_000, message: () => `${started().length} of ${ids.length} ran` });
      await sleep(500);
      exactlyOnce(started(), ids);
      assert.equal(started().length, ids.length, "none ran twice");
    } finally {
      await client.close();
      for (const p of procs) await qwStop(p);
    }
  });

  it("a paused task lets the other tasks run; its jobs wait off the workers, are not counted as runs, and run once after resume", SLOW, async () => {
    const { stream, file, started, start, cli } = setUp();
    const procs = [await start(), await start()];
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      const paused = await cli(["pause", "--task", "ok"]);
      assert.equal(paused.code, 0, paused.stderr);
      assert.match(paused.stdout, /^Paused: task 'ok' paused until resumed/);
      await sleep(200);
      const oks: string[] = [];
      const others: string[] = [];
      for (let i = 0; i < 10; i++) {
        oks.push(await client.enqueue("ok", [file]));
        others.push(await client.enqueue("other", [file]));
      }
      await waitFor(() => started("other").length === others.length, { message: "the other task did not run while 'ok' was paused" });
      // Held through several rechecks on the server, off every worker.
      await sleep(5_000);
      assert.equal(started("ok").length, 0, "no job of the paused task ran");
      const json = JSON.parse((await cli(["inspect", "--json"])).stdout);
      assert.deepEqual(json.paused.map((p: { task: string }) => p.task), ["ok"]);
      assert.equal(json.inFlight, 0, "no worker holds a job of the paused task");
      for (const w of json.workers) assert.deepEqual(w.running, []);

      const resumed = await cli(["resume", "--task", "ok"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      await waitFor(() => started("ok").length >= oks.length, { timeoutMs: 20_000, message: () => `${started("ok").length} of ${oks.length} ran after resume` });
      await sleep(500);
      exactlyOnce(started("ok"), oks);
      exactlyOnce(started("other"), others);
      for (const r of started("ok")) assert.equal(r.deliveryCount, 1, `waiting while paused is not a run: ${JSON.stringify(r)}`);
    } finally {
      await client.close();
      for (const p of procs) await qwStop(p);
    }
  });

  it("--until a time 2 s ahead resumes by itself, for the whole stream and for a task", SLOW, async () => {
    const { file, started, start, cli } = setUp();
    const procs = [await start()];
    const client: Client = await connectClient({ servers: t.srv.url, stream: `pz${n}` });
    try {
      for (const scope of [[], ["--task", "other"]]) {
        const task = scope.length === 0 ? "ok" : "other";
        const until = new Date(Date.now() + 2_000).toISOString();
        const paused = await cli(["pause", ...scope, "--until", until]);
        assert.equal(paused.code, 0, paused.stderr);
        assert.match(paused.stdout, new RegExp(`until ${until.replace(/[.]/g, "\\.")}`));
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push(await client.enqueue(task, [file]));
        await waitFor(() => started(task).length >= ids.length, { timeoutMs: 10_000, message: () => `${started(task).length} of 5 ran after --until` });
        const first = Math.min(...started(task).map((r) => r.t));
        assert.ok(first >= Date.parse(until) - 50, `a job started ${Date.parse(until) - first} ms before the pause ended`);
        exactlyOnce(started(task), ids);
      }
    } finally {
      await client.close();
      for (const p of procs) await qwStop(p);
    }
  });

  it("deleting the pause's key resumes the workers, and on 2.11+ they resume the consumer on the server too", SLOW, async () => {
    const { stream, file, started, start, cli } = setUp();
    const qw = await start();
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    try {
      assert.equal((await cli(["pause"])).code, 0);
      await waitFor(() => qw.output().includes(`paused: stream '${stream}'`), { message: () => qw.output() });
      const id = await client.enqueue("ok", [file]);
      await sleep(1_000);
      assert.equal(started().length, 0);
      const kv = await new (await import("@nats-io/kv")).Kvm(t.nc).open(`qw_${stream}_paused`);
      await kv.delete("stream");
      await waitFor(() => started().length === 1, { timeoutMs: 10_000, message: "the job did not run once the key was deleted" });
      assert.equal(started()[0].id, id);
      await waitFor(() => qw.output().includes("nothing paused: jobs start again"), { message: () => qw.output() });
      if (serverAtLeast(2, 11)) {
        const jsm = await jetstreamManager(t.nc);
        await waitFor(async () => (await jsm.consumers.info(stream, `qw_${stream}`)).paused !== true, { message: "the consumer stayed paused" });
      }
    } finally {
      await client.close();
      await qwStop(qw);
    }
  });

  it("bad input: one line and a non-zero exit", SLOW, async () => {
    const { start, cli } = setUp();
    const qw = await start();
    try {
      const unknown = await runQw(["pause", "--stream", "nosuch", "--server", t.srv.url]);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, "qw: Cannot pause stream 'nosuch': stream not found (start a worker with --stream nosuch first, or create it)\n");
      const date = await cli(["pause", "--until", "tomorrow"]);
      assert.equal(date.code, 2);
      assert.match(date.stderr, /^qw: Cannot pause as '--until' must be an ISO 8601 date with a time zone .*: current value is "tomorrow"\n$/);
      const past = await cli(["pause", "--until", "2020-01-01T00:00:00Z"]);
      assert.equal(past.code, 2);
      assert.match(past.stderr, /must be in the future/);
      const task = await cli(["resume", "--task", "a.b"]);
      assert.equal(task.code, 2);
      assert.match(task.stderr, /^qw: Cannot resume as '--task' must be a task name/);
      const notPaused = await cli(["resume"]);
      assert.equal(notPaused.code, 0);
      assert.match(notPaused.stdout, /\(it was not paused\)/);
    } finally {
      await qwStop(qw);
    }
  });
});
