// Periodic tasks with real dist/qw processes: every process publishes each
// tick and the stream keeps one; a kill -9 changes nothing; missed ticks are
// caught up per catchUp; bad schedules stop qw at start with one line.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { nanos } from "@nats-io/nats-core";
import { sleep, waitFor } from "../helpers/wait.ts";
import { hasStackTrace, runQw, spawnQw } from "../helpers/cli.ts";
import { qwExited, qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";

const SLOW = { timeout: 60_000 };
const uniq = () => "s" + crypto.randomUUID().replace(/-/g, "").slice(0, 10);
const TICK_ID = /^(\w+)@0@(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z)$/;

function runs(file: string): RunRecord[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as RunRecord);
}

/** How many times each value occurs. */
function counts(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

describe("schedules", () => {
  const t = useServer("schedule");
  const qw = (stream: string, tasks: string, record: string, extra: string[] = [], env: Record<string, string> = {}) =>
    spawnQw(["--stream", stream, "--tasks", `tests/fixtures/tasks/${tasks}`, "--server", t.srv.url, "--concurrency", "1", ...extra], {
      env: { QW_TEST_RECORD: record, ...env },
    });
  const lastSeq = async (stream: string) => (await (await jetstreamManager(t.nc)).streams.info(stream)).state.last_seq;

  it("3 processes, every: 1 for 10 s, one killed -9 halfway: one job per tick, none missing, none twice", SLOW, async () => {
    const stream = uniq();
    const record = join(t.dir, `${stream}.jsonl`);
    // Every publish of a tick, by any process, duplicates included.
    const published: string[] = [];
    const sub = t.nc.subscribe(`${stream}.tick`, {
      callback: (_e, m) => {
        published.push(m.headers?.get("Nats-Msg-Id") ?? "");
      },
    });
    await t.nc.flush();
    const procs = [0, 1, 2].map(() => qw(stream, "scheduled.ts", record));
    try {
      await Promise.all(procs.map(qwStarted));
      await sleep(5_000);
      procs[1].kill("SIGKILL");
      await qwExited(procs[1]);
      const killedAt = Date.now();
      await sleep(5_000);
      await Promise.all([qwStop(procs[0]), qwStop(procs[2])]);
      const ids = [...counts(published).keys()];
      // A tick published as the last two stopped was handed back and waits in
      // the stream: a process that fires nothing runs it.
      const drainer = qw(stream, "scheduled.ts", record, ["--no-schedules"]);
      procs.push(drainer);
      await qwStarted(drainer);
      await waitFor(() => new Set(runs(record).map((r) => r.id)).size >= ids.length, { timeoutMs: 10_000, message: "every published tick ran" });
      assert.equal(await qwStop(drainer), 0);

      const ticks = ids.map((id) => {
        const m = TICK_ID.exec(id);
        assert.ok(m, `the id names its tick: ${id}`);
        assert.equal(m[1], "tick");
        return Date.parse(m[2]);
      }).sort((a, b) => a - b);
      assert.ok(ticks.length >= 9, `about 10 ticks: ${ticks.length}`);
      for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i] - ticks[i - 1], 1000, `no tick missing after ${new Date(ticks[i - 1]).toISOString()}`);
      assert.ok(ticks.some((x) => x > killedAt + 1000), "ticks after the kill");
      assert.equal(await lastSeq(stream), ticks.length, "the stream kept one job per tick");
      const ran = counts(runs(record).map((r) => r.id));
      assert.deepEqual([...ran.keys()].sort(), [...ids].sort(), "every tick ran");
      assert.deepEqual([...ran.values()].filter((n) => n !== 1), [], "no tick ran twice");
      assert.ok(Math.max(...counts(published).values()) >= 2, "processes published the same tick, the stream kept one");
    } finally {
      sub.unsubscribe();
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    }
  });

  it("catch-up: down across 3 ticks of a 2 s schedule, the next start fires the latest once, none, or all three", SLOW, async () => {
    const stream = uniq();
    const record = join(t.dir, `${stream}.jsonl`);
    writeFileSync(record, "");
    const first = qw(stream, "scheduled_catch_up.ts", record);
    const kv = async () => await new Kvm(t.nc).open(`qw_${stream}_schedules`);
    const lastTick = async (task: string) => (await (await kv()).get(`${task}.0`))?.json<{ lastTick: string | null }>().lastTick ?? null;
    let second: ReturnType<typeof qw> | null = null;
    try {
      await qwStarted(first);
      await waitFor(async () => (await lastTick("latest")) && (await lastTick("none")) && (await lastTick("all")), {
        timeoutMs: 5_000,
        message: "each schedule fired once",
      });
      assert.equal(await qwStop(first), 0);
      const last = Date.parse((await lastTick("latest"))!);
      for (const task of ["none", "all"]) assert.equal(Date.parse((await lastTick(task))!), last, task);
      const before = runs(record).length;
      // Ticks at last+2, +4 and +6 s pass with no process up; start again before +8 s.
      await sleep(Math.max(0, last + 6_300 - Date.now()));
      second = qw(stream, "scheduled_catch_up.ts", record);
      await qwStarted(second);
      await waitFor(() => runs(record).some((r) => r.task === "latest" && r.id.endsWith(new Date(last + 8_000).toISOString())), {
        timeoutMs: 6_000,
        message: "the next tick on time",
      });
      await sleep(200);
      // The ticks missed while down are those after `last` (whose own run may be recorded late, on a busy machine).
      const tickOf = (id: string) => Date.parse(TICK_ID.exec(id)![2]);
      const caughtUp = (task: string) =>
        runs(record).slice(before).filter((r) => r.task === task).map((r) => r.id).filter((id) => tickOf(id) > last && tickOf(id) <= last + 6_000);
      const at = (task: string, s: number) => `${task}@0@${new Date(last + s * 1000).toISOString()}`;
      assert.deepEqual(caughtUp("latest"), [at("latest", 6)], "latest: the most recent missed tick, once");
      assert.deepEqual(caughtUp("none"), [], "none: no missed tick");
      assert.deepEqual(caughtUp("all").sort(), [at("all", 2), at("all", 4), at("all", 6)], "all: each missed tick");

      const ls = await runQw(["schedule", "ls", "--stream", stream, "--server", t.srv.url, "--json"]);
      assert.equal(ls.code, 0, ls.stderr);
      const rows = ls.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(rows.map((r) => [r.task, r.index, r.spec, r.tz]), [["all", 0, "every 2s", "UTC"], ["latest", 0, "every 2s", "UTC"], ["none", 0, "every 2s", "UTC"]]);
      for (const r of rows) {
        assert.ok(Date.parse(r.lastTick) >= last + 8_000, r.lastTick);
        assert.equal(r.lastId, `${r.task}@0@${r.lastTick}`);
        assert.ok(["SUCCESS", "PENDING"].includes(r.state), r.state);
        assert.ok(Date.parse(r.next) > Date.parse(r.lastTick), r.next);
      }
    } finally {
      for (const p of [first, second]) if (p && p.exitCode === null) await qwStop(p);
    }
  });

  it("QW_SCHEDULES=0 fires nothing; a duplicate window shorter than the clock-skew allowance is a warning", SLOW, async () => {
    const stream = uniq();
    const record = join(t.dir, `${stream}.jsonl`);
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], retention: RetentionPolicy.Workqueue, duplicate_window: nanos(1_000) });
    const off = qw(stream, "scheduled.ts", record, [], { QW_SCHEDULES: "0" });
    try {
      await qwStarted(off);
      await sleep(2_200);
      assert.equal(await lastSeq(stream), 0, "no tick published");
      assert.match(off.output(), /schedules: tick@0 every 1s \(not fired by this process: --no-schedules\)/);
      // Not firing, the window is still checked against the ack wait, but names no schedule.
      assert.match(off.output(), /WARNING .*duplicate window of stream '\w+' is 1 s, shorter than the \d+ s needed by retries/);
      assert.doesNotMatch(off.output(), /tick@0 \(the 10 s clock-skew allowance\)/);
    } finally {
      await qwStop(off);
    }
    const on = qw(stream, "scheduled.ts", record);
    try {
      await qwStarted(on);
      assert.match(on.output(), /WARNING .*duplicate window of stream '\w+' is 1 s, shorter than the \d+ s needed by .*the ticks of tick@0 \(the 10 s clock-skew allowance\): a job may run twice/);
      await waitFor(async () => (await lastSeq(stream)) >= 1, { timeoutMs: 3_000, message: "it fires" });
    } finally {
      await qwStop(on);
    }
  });

  const bad: [string, RegExp][] = [
    ["schedule_every_zero.ts", /^qw: Cannot start worker as task 'ping' schedule 0 'every' must be a number of seconds >= 1: current value is "0"$/],
    ["schedule_bad_cron.ts", /^qw: Cannot start worker as task 'nightly' schedule 1 'cron' must be a cron expression of 5 fields, or 6 with seconds first: current value is "at three every night"$/],
    ["schedule_bad_tz.ts", /^qw: Cannot start worker as task 'nightly' schedule 0 'tz' must be an IANA time zone .*: current value is "Mars\/Olympus_Mons"$/],
  ];
  for (const [file, line] of bad) {
    it(`a bad schedule (${file}) stops qw at start with one line naming the task, exit 2`, SLOW, async () => {
      const r = await runQw(["--stream", uniq(), "--tasks", `tests/fixtures/tasks/bad/${file}`, "--server", t.srv.url, "--concurrency", "1"]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.deepEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr.trim(), line);
      assert.equal(r.stdout, "");
    });
  }
});
