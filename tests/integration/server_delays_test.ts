// Delays held by the server (ADR-51 `@at` schedules, nats-server 2.12+), with
// real dist/qw processes, observed from outside: the stream's subjects, the
// delayed consumer's info, the record file of every run. On an older server,
// and on a stream without `allow_msg_schedules`, the delayed subject is used.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connectClient } from "../../src/client/client.ts";
import { namesFor } from "../../src/client/topology.ts";
import { scheduleToken } from "../../src/core/job/delay_hold.ts";
import { firedByServer } from "../helpers/spec_vectors.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { serverAtLeast } from "../helpers/nats_server.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { sleep, waitFor } from "../helpers/wait.ts";
import { runsIn } from "../helpers/runs.ts";

const SLOW = { timeout: 60_000 };
const TASKS = "tests/fixtures/tasks/delays.ts";
const HELD = serverAtLeast(2, 12);

describe("delays held by the server", () => {
  const t = useServer("delays");
  let n = 0;
  const on = (stream: string) => ["--stream", stream, "--server", t.srv.url];
  const subjects = async (stream: string) =>
    (await (await jetstreamManager(t.nc)).streams.info(stream, { subjects_filter: ">" })).state.subjects ?? {};

  it(`qw init ${HELD ? "creates the work stream with" : "creates it without"} allow_msg_schedules`, SLOW, async () => {
    const stream = `dinit${++n}`;
    const r = await runQw(["init", ...on(stream)]);
    assert.equal(r.code, 0, r.stderr);
    const info = await (await jetstreamManager(t.nc)).streams.info(stream);
    assert.equal(info.config.allow_msg_schedules === true, HELD);
  });

  it("a countdown enqueued while no qw runs is held by the server, becomes a job at its time with no qw running, and runs once when a worker starts", { ...SLOW, skip: !HELD && "needs nats-server 2.12+" }, async () => {
    const stream = `dcd${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const before = Date.now();
    const enq = await runQw(["enqueue", ...on(stream), "ok", file, "--countdown", "2", "--id", "cd-1"]);
    assert.equal(enq.code, 0, enq.stderr);
    const scheduleSubject = `${stream}._sched.ok.${scheduleToken("cd-1:eta")}`;
    assert.deepEqual(await subjects(stream), { [scheduleSubject]: 1 }, "a schedule on its own subject, nothing else");

    // qw inspect counts it as delayed, as the dashboard does (same report).
    const inspect = await runQw(["inspect", ...on(stream), "--json"]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const report = JSON.parse(inspect.stdout);
    assert.equal(report.delayed, 1);
    assert.deepEqual(report.tasks, [{ task: "ok", queued: 0, delayed: 1 }]);

    // No qw process runs: the server publishes the job on its task's subject at its time.
    const js = jetstream(t.nc);
    const jsm = await jetstreamManager(t.nc);
    const fired = await waitFor(async () => (await subjects(stream))[`${stream}.ok`] === 1 ? true : null, { timeoutMs: 6000, message: "the server never published the job" });
    assert.ok(fired);
    const appearedAfter = Date.now() - before;
    assert.ok(appearedAfter >= 1800, `the job appeared after ${appearedAfter} ms, before its countdown of 2 s`);
    assert.deepEqual(await subjects(stream), { [`${stream}.ok`]: 1 }, "the schedule is gone once it fired");
    const m = (await jsm.streams.getMessage(stream, { last_by_subj: `${stream}.ok` }))!;
    // As the vectors' `fired` says (tests/helpers/spec_vectors.ts firedByServer): no dedup id, no Nats-Schedule*.
    const headers = Object.fromEntries([...m.header].map(([k, vs]) => [k, vs.join(",")]));
    const published = { subject: scheduleSubject, headers: { "Nats-Msg-Id": "cd-1:eta", "Qw-Id": "cd-1", "Nats-Schedule-Target": `${stream}.ok` }, body: "" };
    assert.deepEqual(headers, firedByServer(published).headers);
    assert.deepEqual(headers, { "Qw-Id": "cd-1", "Nats-Scheduler": scheduleSubject, "Nats-Schedule-Next": "purge" });

    const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "1"]);
    try {
      await qwStarted(qw);
      assert.match(qw.output(), /delays held by the server/);
      await waitFor(() => runsIn(file).length === 1 ? true : null, { timeoutMs: 10_000, message: "the job never ran" });
      await sleep(500);
      assert.deepEqual(runsIn(file).map((r) => [r.id, r.retries, r.deliveryCount]), [["cd-1", 0, 1]], "runs once");
      // A repeat of the enqueue within the duplicate window is dropped, though its schedule is gone.
      const again = await runQw(["enqueue", ...on(stream), "ok", file, "--countdown", "2", "--id", "cd-1"]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(Object.keys(await subjects(stream)), [], "nothing stored again");
      const delayed = await js.consumers.get(stream, namesFor(stream).delayedConsumer);
      assert.equal((await delayed.info()).delivered.stream_seq, 0, "the delayed consumer saw nothing");
    } finally {
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("a retry after a backoff is held by the server: it runs once after its delay, and no consumer redelivers anything", { ...SLOW, skip: !HELD && "needs nats-server 2.12+" }, async () => {
    const stream = `dretry${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "1"]);
    try {
      await qwStarted(qw);
      const client = await connectClient({ servers: t.srv.url, stream });
      try {
        await client.enqueue("backoff", [file], { id: "bo-1" });
        await waitFor(() => runsIn(file).length === 1 ? true : null, { message: "the first run never came" });
        const held = await waitFor(async () => {
          const s = await subjects(stream);
          return Object.keys(s).length === 1 && Object.keys(s)[0].startsWith(`${stream}._sched.backoff.`) ? s : null;
        }, { timeoutMs: 3000, message: "the retry is not held by the server" });
        assert.deepEqual(Object.keys(held), [`${stream}._sched.backoff.${scheduleToken("bo-1:1:eta")}`]);
        const r = await client.result("bo-1", { timeout: 15 });
        assert.equal(r.state, "SUCCESS");
        const runs = runsIn(file);
        assert.deepEqual(runs.map((x) => [x.retries, x.deliveryCount, x.redelivered]), [[0, 1, false], [1, 1, false]]);
        const gap = runs[1].t - runs[0].t;
        assert.ok(gap >= 1800 && gap <= 2000 * 1.1 + 700, `the retry ran ${gap} ms after the first run, for a backoff of 2 s`);
        const js = jetstream(t.nc);
        const names = namesFor(stream);
        assert.equal((await (await js.consumers.get(stream, names.delayedConsumer)).info()).delivered.stream_seq, 0);
        const main = await (await js.consumers.get(stream, names.consumer)).info();
        assert.equal(main.num_redelivered, 0);
        assert.equal(main.delivered.consumer_seq, 2, "two deliveries: the first run and the retry");
        await sleep(500);
        assert.equal(runsIn(file).length, 2, "the retry ran once");
      } finally {
        await client.close();
      }
    } finally {
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("a job the server released is dead-lettered without its schedule headers (the dead-letter stream has no schedules)", { ...SLOW, skip: !HELD && "needs nats-server 2.12+" }, async () => {
    const stream = `ddlq${++n}`;
    const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "1"]);
    try {
      await qwStarted(qw);
      const client = await connectClient({ servers: t.srv.url, stream });
      try {
        const receipt = await client.send("nosuch", [], { id: "dl-1", countdown: 1 });
        assert.equal(receipt.delayed, true);
        const jsm = await jetstreamManager(t.nc);
        const dlq = namesFor(stream).dlqStream;
        await waitFor(async () => (await jsm.streams.info(dlq)).state.messages === 1 ? true : null, { timeoutMs: 8000, message: "no dead letter" });
        const m = (await jsm.streams.getMessage(dlq, { last_by_subj: `${dlq}.nosuch` }))!;
        assert.equal(m.header.get("Qw-Id"), "dl-1");
        assert.equal(m.header.get("Nats-Scheduler"), "");
        assert.equal(m.header.get("Nats-Schedule-Next"), "");
      } finally {
        await client.close();
      }
    } finally {
      assert.equal(await qwStop(qw), 0);
    }
  });

  it("a revoked job the server holds is REVOKED at once, not at its eta: revoked before a worker starts, and while one runs", { ...SLOW, skip: !HELD && "needs nats-server 2.12+" }, async () => {
    const stream = `drev${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.enqueue("ok", [file], { id: "rv-a", countdown: 120 });
      await client.enqueue("ok", [file], { id: "rv:b", countdown: 120 });
      await client.enqueue("ok", [file], { id: "rv-c", countdown: 120 });
      assert.equal(Object.keys(await subjects(stream)).length, 3);
      assert.deepEqual(await client.revoke("rv-a"), { revoked: true, state: "PENDING" });
      const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "1"]);
      try {
        await qwStarted(qw);
        assert.equal((await client.result("rv-a", { timeout: 10 })).state, "REVOKED");
        assert.deepEqual(await client.revoke("rv:b"), { revoked: true, state: "PENDING" });
        assert.equal((await client.result("rv:b", { timeout: 10 })).state, "REVOKED");
        // The schedule is purged right after the job was published, which may be after it was marked REVOKED.
        const left = [`${stream}._sched.ok.${scheduleToken("rv-c:eta")}`];
        await waitFor(async () => JSON.stringify(Object.keys(await subjects(stream))) === JSON.stringify(left), {
          timeoutMs: 3000,
          message: "only the job not revoked is still held",
        });
        assert.equal(runsIn(file).length, 0, "no revoked job ran");
      } finally {
        assert.equal(await qwStop(qw), 0);
      }
    } finally {
      await client.close();
    }
  });

  it("a client whose stream was re-created without allow_msg_schedules publishes its next delayed job the qw way", { ...SLOW, skip: !HELD && "needs nats-server 2.12+" }, async () => {
    const stream = `dre${++n}`;
    assert.equal((await runQw(["init", ...on(stream)])).code, 0);
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.enqueue("ok", ["x"], { id: "re-1", countdown: 60 });
      assert.deepEqual(Object.keys(await subjects(stream)), [`${stream}._sched.ok.${scheduleToken("re-1:eta")}`]);
      const jsm = await jetstreamManager(t.nc);
      await jsm.streams.delete(stream);
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue });
      const receipt = await client.send("ok", ["x"], { id: "re-2", countdown: 60 });
      assert.equal(receipt.delayed, true);
      assert.deepEqual(await subjects(stream), { [`${stream}._delayed.ok`]: 1 });
    } finally {
      await client.close();
    }
  });

  it("on a stream created without allow_msg_schedules, a countdown waits on the delayed subject and qw releases it", SLOW, async () => {
    const stream = `dold${++n}`;
    const file = join(t.dir, `${stream}.jsonl`);
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue });
    const client = await connectClient({ servers: t.srv.url, stream });
    try {
      await client.enqueue("ok", [file], { id: "old-1", countdown: 1 });
      assert.deepEqual(await subjects(stream), { [`${stream}._delayed.ok`]: 1 });
      const qw = spawnQw(["--tasks", TASKS, ...on(stream), "--concurrency", "1"]);
      try {
        await qwStarted(qw);
        assert.match(qw.output(), /delays held by qw/);
        assert.equal((await client.result("old-1", { timeout: 10 })).state, "SUCCESS");
        assert.equal(runsIn(file).length, 1);
      } finally {
        assert.equal(await qwStop(qw), 0);
      }
    } finally {
      await client.close();
    }
  });
});
