/** The dashboard's JSON API against a fake of the operations behind it. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { letterJson, route } from "../../../../src/ops/dashboard/api.ts";
import type { DashboardOps } from "../../../../src/ops/dashboard/source.ts";
import type { DeadLetter } from "../../../../src/ops/dlq.ts";
import type { Overview } from "../../../../src/ops/dashboard/overview.ts";

const letter = (seq: number, body = new TextEncoder().encode("[1,2]")): DeadLetter => ({
  seq, subject: "jobs_dlq.add", task: "add", id: `j${seq}`, reason: "bad input", error: { name: "Reject", message: "bad input" },
  originalSubject: "jobs.add", originalSeq: 7, deliveries: 1, at: "2030-01-01T00:00:00.000Z",
  headers: [["Qw-Id", `j${seq}`]], body,
});

function fake(calls: string[] = []): DashboardOps {
  return {
    overview: () => Promise.resolve({ stream: "jobs" } as Overview),
    job: (id) => (calls.push(`job ${id}`), Promise.resolve({ id, state: "PENDING" })),
    deadLetters: () => Promise.resolve({ total: 1, letters: [letter(3)] }),
    deadLetter: (seq) =>
      seq === 3 ? Promise.resolve(letter(3)) : Promise.reject(new Error(`Cannot find dead letter ${seq} in stream 'jobs_dlq'`)),
    replay: (seq) => (calls.push(`replay ${seq}`), Promise.resolve({ seq, id: "j3", task: "add", subject: "jobs.add", jobSeq: 9, duplicate: false })),
    purge: () => (calls.push("purge"), Promise.resolve(4)),
    revoke: (id, terminate) => (calls.push(`revoke ${id} ${terminate}`), Promise.resolve({ revoked: true, state: "PENDING" })),
    pause: (task, until) => (calls.push(`pause ${task} ${until}`), Promise.resolve({ task, paused: true, until: null, consumerPaused: false })),
    resume: (task) => (calls.push(`resume ${task}`), Promise.resolve({ task, paused: false, until: null, consumerPaused: false })),
    jobs: (state, f) => (calls.push(`jobs ${state} ${f.task} ${f.prefix}`), Promise.resolve({ state, jobs: [] })),
    jobPage: (id) => (calls.push(`page ${id}`), Promise.resolve({ id, record: null, steps: [] })),
    retry: (id) =>
      id === "ok" ? (calls.push(`retry ${id}`), Promise.resolve({ id, subject: "jobs.add", seq: 5, duplicate: false }))
      : Promise.reject(new RangeError(`Cannot retry job '${id}' as it did not fail: its state is SUCCESS`)),
  };
}

describe("dashboard API route()", () => {
  test("GET /api/jobs/:state with task and prefix, /api/jobs/page/:id, POST /api/job/:id/retry", async () => {
    const calls: string[] = [];
    const ops = fake(calls);
    const q = new URLSearchParams("task=add&prefix=ord");
    assert.deepEqual(await route("GET", "/api/jobs/failed", "", ops, q), { status: 200, body: { state: "failed", jobs: [] } });
    assert.equal((await route("GET", "/api/jobs/done", "", ops)).status, 400);
    assert.match(((await route("GET", "/api/jobs/done", "", ops)).body as { error: string }).error, /STATE must be one of running, failed/);
    assert.equal((await route("GET", "/api/jobs/page/f1", "", ops)).status, 200);
    assert.deepEqual((await route("POST", "/api/job/ok/retry", "", ops)).body, { id: "ok", subject: "jobs.add", seq: 5, duplicate: false, retried: true });
    const refused = await route("POST", "/api/job/done/retry", "", ops);
    assert.equal(refused.status, 400);
    assert.deepEqual(calls, ["jobs failed add ord", "page f1", "retry ok"]);
  });

  test("GET /api/overview, /api/job/:id (decoded), /api/dlq and /api/dlq/:seq", async () => {
    const calls: string[] = [];
    const ops = fake(calls);
    assert.deepEqual(await route("GET", "/api/overview", "", ops), { status: 200, body: { stream: "jobs" } });
    assert.deepEqual(await route("GET", "/api/job/order%2F42", "", ops), { status: 200, body: { id: "order/42", state: "PENDING" } });
    assert.deepEqual(calls, ["job order/42"]);
    const list = await route("GET", "/api/dlq", "", ops);
    assert.deepEqual(list.body, { total: 1, letters: [letterJson(letter(3), false)] });
    assert.equal("body" in (list.body as { letters: object[] }).letters[0], false, "the list carries no bodies");
    const one = await route("GET", "/api/dlq/3", "", ops);
    assert.equal(one.status, 200);
    assert.equal((one.body as { body: string }).body, "[1,2]");
    assert.deepEqual((one.body as { headers: unknown }).headers, [["Qw-Id", "j3"]]);
  });

  test("POST replay, purge and revoke (terminate from the JSON body)", async () => {
    const calls: string[] = [];
    const ops = fake(calls);
    assert.deepEqual((await route("POST", "/api/dlq/3/replay", "", ops)).body, {
      seq: 3, id: "j3", task: "add", subject: "jobs.add", jobSeq: 9, duplicate: false, replayed: true,
    });
    assert.deepEqual((await route("POST", "/api/dlq/purge", "", ops)).body, { purged: 4 });
    assert.deepEqual((await route("POST", "/api/job/a/revoke", '{"terminate":true}', ops)).body, { id: "a", revoked: true, state: "PENDING" });
    await route("POST", "/api/job/b/revoke", "", ops);
    assert.deepEqual(calls, ["replay 3", "purge", "revoke a true", "revoke b false"]);
  });

  test("POST pause and resume: the whole stream without a body, a task and an until from the JSON body", async () => {
    const calls: string[] = [];
    const ops = fake(calls);
    assert.deepEqual((await route("POST", "/api/pause", "", ops)).body, { task: null, paused: true, until: null, consumerPaused: false });
    await route("POST", "/api/pause", '{"task":"add","until":"2999-01-01T00:00:00Z"}', ops);
    await route("POST", "/api/resume", '{"task":"add"}', ops);
    await route("POST", "/api/resume", "", ops);
    assert.deepEqual(calls, ["pause null null", `pause add ${Date.parse("2999-01-01T00:00:00Z")}`, "resume add", "resume null"]);
    const bad: [string, string, RegExp][] = [
      ["/api/pause", "[1]", /^Cannot pause as the body must be JSON like/],
      ["/api/pause", '{"task":"a.b"}', /^Cannot pause as 'task' must be a task name/],
      ["/api/pause", '{"until":"soon"}', /^Cannot pause as 'until' must be an ISO 8601 date/],
      ["/api/pause", '{"until":"2001-01-01T00:00:00Z"}', /^Cannot pause as 'until' must be in the future/],
      ["/api/resume", "{", /^Cannot resume as the body must be JSON/],
    ];
    for (const [path, body, error] of bad) {
      const r = await route("POST", path, body, ops);
      assert.equal(r.status, 400, body);
      assert.match((r.body as { error: string }).error, error);
    }
    assert.equal(calls.length, 4, "a bad body pauses nothing");
  });

  test("one-line errors: 400 bad input, 404 unknown path or dead letter, 405 method", async () => {
    const ops = fake();
    const cases: [string, string, string, number, RegExp][] = [
      ["GET", "/api/dlq/x", "", 400, /^Cannot read dead letter as SEQ must be an integer >= 1: current value is "x"$/],
      ["POST", "/api/dlq/0/replay", "", 400, /SEQ must be an integer >= 1/],
      ["POST", "/api/job/a/revoke", "{", 400, /^Cannot revoke job as the body must be JSON/],
      ["GET", "/api/dlq/9", "", 404, /^Cannot find dead letter 9/],
      ["GET", "/api/nope", "", 404, /^No such API 'GET \/api\/nope'/],
      ["POST", "/api/overview", "", 404, /^No such API/],
      ["DELETE", "/api/dlq", "", 405, /^Method 'DELETE' is not allowed/],
    ];
    for (const [method, path, body, status, error] of cases) {
      const r = await route(method, path, body, ops);
      assert.equal(r.status, status, `${method} ${path}`);
      assert.match((r.body as { error: string }).error, error);
    }
  });

  test("letterJson() gives a body that is not UTF-8 as base64", () => {
    const j = letterJson(letter(1, new Uint8Array([0xff, 0x00])), true);
    assert.equal(j.bodyBase64, "/wA=");
    assert.equal("body" in j, false);
  });
});
