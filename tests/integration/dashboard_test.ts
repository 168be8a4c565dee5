// The dashboard's JSON API against a real nats-server and a dist/qw worker:
// the overview's numbers per task, a job's record, dead letters shown,
// replayed and purged, a revoke, and the token rule over HTTP.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Client, connectClient } from "../../src/client/client.ts";
import { startDashboard } from "../../src/ops/dashboard/server.ts";
import { DashboardSource } from "../../src/ops/dashboard/source.ts";
import type { Overview, TaskRow } from "../../src/ops/dashboard/overview.ts";
import type { OverviewWithHistory } from "../../src/ops/history/overview_history.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/dashboard.ts";

describe("dashboard API", () => {
  const t = useServer("dashboard");
  let n = 0;

  async function setUp(token: string | null = null) {
    const stream = `dash${++n}`;
    const qw = spawnQw(["--stream", stream, "--tasks", TASKS, "--server", t.srv.url, "--concurrency", "1"]);
    await qwStarted(qw);
    const client: Client = await connectClient({ servers: t.srv.url, stream });
    const source = new DashboardSource(client);
    source.start();
    const server = await startDashboard({ listen: "127.0.0.1:0", token, stream, ops: source });
    const call = async (method: string, path: string, o: { body?: unknown; auth?: string } = {}) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (o.auth !== undefined) headers.authorization = o.auth;
      const r = await fetch(server.url + path.slice(1), {
        method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      return { status: r.status, body: await r.json() };
    };
    const task = async (name: string): Promise<TaskRow | undefined> =>
      ((await call("GET", "/api/overview")).body as Overview).tasks.find((r) => r.task === name);
    const stop = async () => {
      await server.close();
      source.stop();
      await client.close();
      assert.equal(await qwStop(qw), 0);
    };
    return { stream, client, call, task, stop };
  }

  it("the overview counts per task; a job's record with its result or its error's stack; unknown ids are PENDING", SLOW, async () => {
    const { stream, client, call, task, stop } = await setUp();
    try {
      const first = await call("GET", "/api/overview");
      assert.equal(first.status, 200);
      assert.equal(first.body.stream, stream);
      assert.equal(first.body.consumerFound, true);
      assert.equal(first.body.totals.workers, 1);
      assert.equal(first.body.schedules, null, "no schedules bucket: none");
      // One slow job runs; three more wait behind it (concurrency 1).
      const slow = await client.enqueue("work", [3000]);
      for (let i = 0; i < 3; i++) await client.enqueue("work", [10]);
      const waiting = await waitFor(async () => {
        const r = await task("work");
        return r !== undefined && r.waiting >= 3 ? r : null;
      }, { timeoutMs: 3000 });
      assert.ok(waiting.waiting >= 3, JSON.stringify(waiting));
      const ok = await client.enqueue("add", [2, 3]);
      const failed = await client.enqueue("fail", ["boom"]);
      // Worker records refresh every 5 s.
      const done = await waitFor(async () => {
        const r = await task("work");
        return r !== undefined && r.succeeded === 4 && r.waiting === 0 ? r : null;
      }, { timeoutMs: 15_000, intervalMs: 500, message: "work never showed 4 succeeded" });
      assert.equal(done.running, 0);
      assert.deepEqual(
        await waitFor(async () => {
          const r = await task("fail");
          return r?.failed === 1 ? r : null;
        }, { timeoutMs: 8000, intervalMs: 500 }),
        { task: "fail", waiting: 0, delayed: 0, running: 0, succeeded: 0, failed: 1, retried: 0, deadLettered: 0, expired: 0, revoked: 0, deadLetteredTotal: 0 },
      );
      const history = ((await call("GET", "/api/overview")).body as OverviewWithHistory).history;
      assert.ok(history.chart.succeeded.reduce((a, b) => a + b, 0) > 0, `the chart saw the jobs: ${JSON.stringify(history.chart)}`);
      const rate = ((await call("GET", "/api/overview")).body as Overview).rate;
      assert.ok(rate.enqueued.reduce((a, b) => a + b, 0) > 0, `the chart saw the jobs: ${JSON.stringify(rate)}`);

      const r = await call("GET", `/api/job/${ok}`);
      assert.deepEqual([r.status, r.body.state, r.body.result, r.body.task, r.body.retries, r.body.deliveryCount], [200, "SUCCESS", 5, "add", 0, 1]);
      const f = await call("GET", `/api/job/${failed}`);
      assert.equal(f.body.state, "FAILURE");
      assert.equal(f.body.error.name, "TypeError");
      assert.match(f.body.error.stack, /cannot process: boom\n\s+at /);
      assert.equal((await call("GET", `/api/job/${slow}`)).body.result, 3000);
      assert.deepEqual((await call("GET", "/api/job/no-such-job")).body, { id: "no-such-job", state: "PENDING" });
    } finally {
      await stop();
    }
  });

  it("dead letters: listed, shown, replayed (the job runs again and lands back), purged", SLOW, async () => {
    const { client, call, task, stop } = await setUp();
    try {
      const id = await client.enqueue("drop", ["bad input"]);
      const list = await waitFor(async () => {
        const l = await call("GET", "/api/dlq");
        return l.body.total === 1 && l.body;
      }, { message: "no dead letter" });
      const [dl] = list.letters;
      assert.deepEqual([dl.task, dl.id, dl.reason, dl.error?.name], ["drop", id, "bad input", "Reject"]);
      assert.equal((await task("drop"))?.deadLettered, 1);
      const shown = await call("GET", `/api/dlq/${dl.seq}`);
      assert.equal(shown.body.body, '{"args":["bad input"]}');
      assert.ok(shown.body.headers.some(([k]: [string, string]) => k === "Qw-Dlq-Reason"));

      const replayed = await call("POST", `/api/dlq/${dl.seq}/replay`);
      assert.deepEqual([replayed.status, replayed.body.replayed, replayed.body.id], [200, true, id]);
      // The replayed job is rejected again: a new dead letter, the old one gone.
      const again = await waitFor(async () => {
        const l = await call("GET", "/api/dlq");
        return l.body.total === 1 && l.body.letters[0].seq !== dl.seq && l.body;
      }, { message: "the replayed job was not dead-lettered again" });
      assert.equal(again.letters[0].id, id);
      assert.equal((await call("POST", `/api/dlq/${dl.seq}/replay`)).status, 404, "a replayed dead letter is gone");

      assert.deepEqual((await call("POST", "/api/dlq/purge")).body, { purged: 1 });
      assert.deepEqual((await call("GET", "/api/dlq")).body, { total: 0, letters: [] });
    } finally {
      await stop();
    }
  });

  it("revoke: a job waiting for its countdown becomes REVOKED; one that ended is left as it is", SLOW, async () => {
    const { client, call, stop } = await setUp();
    try {
      const id = await client.enqueue("add", [1, 1], { countdown: 2 });
      const r = await call("POST", `/api/job/${encodeURIComponent(id)}/revoke`, { body: { terminate: true } });
      assert.deepEqual(r.body, { id, revoked: true, state: "PENDING" });
      assert.equal((await client.result(id, { timeout: 10 })).state, "REVOKED");
      assert.deepEqual((await call("POST", `/api/job/${id}/revoke`)).body, { id, revoked: false, state: "REVOKED" });
    } finally {
      await stop();
    }
  });

  it("dist/qw dashboard: beyond loopback only with a token, from --http-token or QW_HTTP_TOKEN", SLOW, async () => {
    const stream = `dash${++n}`;
    const args = ["dashboard", "--stream", stream, "--server", t.srv.url, "--http", "0.0.0.0:0"];
    const refused = await runQw(args);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      "qw: Cannot serve the dashboard on '0.0.0.0' without a token: pass --http-token (or QW_HTTP_TOKEN), or bind to 127.0.0.1\n",
    );
    const dash = spawnQw(args, { env: { QW_HTTP_TOKEN: "from-env" } });
    try {
      const port = await waitFor(() => /on http:\/\/0\.0\.0\.0:(\d+)\//.exec(dash.output())?.[1], { timeoutMs: 15_000, message: dash.output() });
      const api = `http://127.0.0.1:${port}/api/dlq`;
      assert.equal((await fetch(api)).status, 401);
      const r = await fetch(api, { headers: { authorization: "Bearer from-env" } });
      assert.deepEqual([r.status, await r.json()], [200, { total: 0, letters: [] }]);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.match(await page.text(), new RegExp(`stream <span class="stream">${stream}</span>`));
    } finally {
      assert.equal(await qwStop(dash), 0, dash.output());
    }
  });

  it("with a token, every API request needs it", SLOW, async () => {
    const { call, stop } = await setUp("s3cret");
    try {
      assert.equal((await call("GET", "/api/overview")).status, 401);
      assert.equal((await call("POST", "/api/dlq/purge", { auth: "Bearer wrong" })).status, 401);
      assert.equal((await call("GET", "/api/overview", { auth: "Bearer s3cret" })).status, 200);
      assert.deepEqual((await call("POST", "/api/dlq/purge", { auth: "Bearer s3cret" })).body, { purged: 0 });
    } finally {
      await stop();
    }
  });

  it("pause and resume: POSTs need the token; the overview shows what is paused; a job waits while paused and runs after resume", SLOW, async () => {
    const { client, call, stop } = await setUp("s3cret");
    const auth = "Bearer s3cret";
    try {
      assert.equal((await call("POST", "/api/pause")).status, 401, "no token: refused");
      assert.equal((await call("POST", "/api/pause", { auth: "Bearer wrong" })).status, 401);
      assert.deepEqual((await call("GET", "/api/overview", { auth })).body.paused, [], "nothing paused: the refused POST paused nothing");
      const p = await call("POST", "/api/pause", { auth, body: {} });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      assert.equal(p.body.paused, true);
      const t = await call("POST", "/api/pause", { auth, body: { task: "add", until: "2999-01-01T00:00:00Z" } });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      const bad = await call("POST", "/api/pause", { auth, body: { until: "soon" } });
      assert.equal(bad.status, 400);
      const paused = (await call("GET", "/api/overview", { auth })).body.paused as { task: string | null; until: string | null; by: string }[];
      assert.deepEqual(paused.map((x) => [x.task, x.until, x.by]), [[null, null, "dashboard"], ["add", "2999-01-01T00:00:00.000Z", "dashboard"]]);
      const id = await client.enqueue("add", [2, 3]);
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await client.state(id)).state, "PENDING", "no job starts while paused");
      assert.equal((await call("POST", "/api/resume", { auth })).status, 200);
      assert.equal((await call("POST", "/api/resume", { auth, body: { task: "add" } })).status, 200);
      assert.equal((await client.result(id, { timeout: 15 })).state, "SUCCESS");
      assert.deepEqual((await call("GET", "/api/overview", { auth })).body.paused, []);
    } finally {
      await stop();
    }
  });
});
