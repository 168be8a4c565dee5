// `qw inspect --jobs STATE` against a real server and a dist/qw worker: the
// running job with its worker, the failures with their error, the waiting
// jobs grouped by priority subject (`<stream>.p<N>.<task>`) with their args,
// the delayed ones with their due time, revoked and expired apart; filters
// by task and id prefix; a one-line error for an unknown STATE.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { connectClient } from "../../src/client/client.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";
import { hasStackTrace } from "../helpers/cli.ts";
import { chain, sig } from "../../src/core/flow.ts";
import { JobLists } from "../../src/ops/jobs/job_lists.ts";

describe("qw inspect --jobs", () => {
  const t = useServer("job-lists");

  it("lists running, failed, waiting per priority, delayed, revoked and expired jobs, filtered", { timeout: 90_000 }, async () => {
    const stream = "lists";
    const worker = spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/dashboard.ts", "--server", t.srv.url, "--concurrency", "1", "--grace", "1"]);
    await qwStarted(worker);
    const client = await connectClient({ servers: t.srv.url, stream });
    const jobs = async (state: string, ...more: string[]) => {
      const r = await runQw(["inspect", "--stream", stream, "--server", t.srv.url, "--jobs", state, "--json", ...more]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    try {
      await client.enqueue("fail", ["a"], { id: "f-1" });
      await client.enqueue("fail", ["b"], { id: "g-1" });
      await client.result("g-1", { timeout: 15 });
      await client.enqueue("add", [1, 1], { id: "x-exp", expires: new Date(Date.now() + 200), countdown: 1 });
      await client.result("x-exp", { timeout: 15 });
      const revoked = await client.enqueue("add", [0, 0], { id: "r-1", countdown: 1 });
      await client.revoke(revoked);
      await client.result("r-1", { timeout: 15 });
      // A flow's page lists its steps with their states.
      const flow = await client.enqueueFlow(chain(sig("add", [1, 1]), sig("add", [2])), { id: "flow-1" });
      await client.result(flow, { timeout: 15 });
      const page = await new JobLists(client.nc, client.jsm, { stream }).page("flow-1");
      assert.equal(page.record?.state, "SUCCESS");
      assert.deepEqual(page.steps.map((st) => [st.task, st.state]), [["add", "SUCCESS"], ["add", "SUCCESS"]]);
      assert.ok(page.steps.every((st) => st.id.startsWith("flow-1.")), JSON.stringify(page.steps));
      await client.enqueue("work", [20_000], { id: "long" });
      await waitFor(async () => (await jobs("running")).jobs.length === 1, { timeoutMs: 15_000, intervalMs: 500 });
      // The one Web Worker is busy: these wait in the stream.
      for (let i = 0; i < 3; i++) await client.enqueue("add", [i, 10], { id: `w-${i}` });
      await jetstream(t.nc).publish(`${stream}.p1.add`, JSON.stringify({ args: [7, 7] }), { msgID: "urgent-1" });
      await client.enqueue("add", [5, 5], { id: "later", countdown: 600 });

      const running = (await jobs("running")).jobs;
      assert.deepEqual(running.map((j: { id: string; task: string }) => [j.id, j.task]), [["long", "work"]]);
      assert.ok(running[0].worker && running[0].startedAt > 0);

      const failed = await jobs("failed");
      assert.deepEqual(failed.jobs.map((j: { id: string }) => j.id).sort(), ["f-1", "g-1"]);
      assert.equal(failed.jobs[0].error.name, "TypeError");
      assert.deepEqual((await jobs("failed", "--id-prefix", "g-")).jobs.map((j: { id: string }) => j.id), ["g-1"]);
      assert.deepEqual((await jobs("failed", "--task", "add")).jobs, []);

      const waiting = await jobs("waiting");
      assert.deepEqual(waiting.groups.default.map((j: { id: string; args: unknown }) => [j.id, j.args]), [["w-0", [0, 10]], ["w-1", [1, 10]], ["w-2", [2, 10]]]);
      assert.deepEqual(waiting.groups.p1.map((j: { id: string }) => j.id), ["urgent-1"]);

      const delayed = (await jobs("delayed")).jobs;
      assert.deepEqual(delayed.map((j: { id: string }) => j.id), ["later"]);
      assert.ok(Math.abs(delayed[0].dueAt - (Date.now() + 600_000)) < 60_000, `due ${delayed[0].dueAt}`);

      assert.deepEqual((await jobs("revoked")).jobs.map((j: { id: string }) => j.id), ["r-1"]);
      assert.deepEqual((await jobs("expired")).jobs.map((j: { id: string }) => j.id), ["x-exp"]);

      const text = await runQw(["inspect", "--stream", stream, "--server", t.srv.url, "--jobs", "waiting"]);
      assert.match(text.stdout, /Jobs waiting, priority 1:\nseq\s+id\s+task\s+args\n\s*\d+\s+urgent-1\s+add\s+\[7,7\]/);
      const bad = await runQw(["inspect", "--stream", stream, "--server", t.srv.url, "--jobs", "done"]);
      assert.equal(bad.code, 2);
      assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
      assert.match(bad.stderr, /STATE must be one of running, failed, waiting, delayed, revoked, expired: current value is "done"/);
      assert.ok(!hasStackTrace(bad.stderr));
    } finally {
      await client.close();
      await qwStop(worker);
    }
  });
});
