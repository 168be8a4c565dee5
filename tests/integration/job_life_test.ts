// The job's life against real dist/qw processes, counted from outside (each
// task appends its run to a file): at most once next to a long synchronous
// task with an ack wait shorter than it, and SIGTERM handing back what did
// not start at once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { waitFor } from "../helpers/wait.ts";
import { runQw, spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import type { RunRecord } from "../fixtures/tasks/_record.ts";
import { runsIn } from "../helpers/runs.ts";
import { resolveConfig } from "../../src/core/config/config.ts";
import { startService } from "../../src/worker/service.ts";

const SLOW = { timeout: 90_000 };
const uniq = () => "l" + crypto.randomUUID().replace(/-/g, "").slice(0, 10);

/** Ids that ran more than once. */
function twice(runs: RunRecord[]): string[] {
  const n = new Map<string, number>();
  for (const r of runs) n.set(r.id, (n.get(r.id) ?? 0) + 1);
  return [...n].filter(([, c]) => c > 1).map(([id]) => id);
}

describe("the job's life, from outside", () => {
  const t = useServer("life");
  const qw = (stream: string, extra: string[]) =>
    spawnQw(["--stream", stream, "--tasks", "tests/fixtures/tasks/life.ts", "--server", t.srv.url, ...extra]);

  /**
   * Two workers, ack wait 2 s, 300 fast jobs around one synchronous 6 s job,
   * all published before the workers start (early ack, the default).
   */
  async function besideALongJob(concurrency: number, extra: string[] = []): Promise<{ runs: RunRecord[]; twice: string[] }> {
    const stream = uniq();
    const file = join(t.dir, `${stream}.runs`);
    writeFileSync(file, "");
    const init = await runQw(["init", "--stream", stream, "--server", t.srv.url]);
    assert.equal(init.code, 0, init.stderr);
    const js = jetstream(t.nc);
    const pubs: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      if (i === 150) pubs.push(js.publish(`${stream}.busy`, JSON.stringify({ args: [file, 6_000] })));
      pubs.push(js.publish(`${stream}.fast`, JSON.stringify({ args: [file] })));
    }
    await Promise.all(pubs);
    const args = ["--concurrency", String(concurrency), "--ack-wait", "2", ...extra];
    const a = qw(stream, args);
    const b = qw(stream, args);
    try {
      await Promise.all([qwStarted(a), qwStarted(b)]);
      await waitFor(() => runsIn(file).length >= 301, { timeoutMs: 30_000, message: () => `${runsIn(file).length} of 301 ran` });
      // Past the busy job's end and two more ack waits: a job handed to the server again would have run by now.
      const jsm = await jetstreamManager(t.nc);
      await waitFor(async () => (await jsm.consumers.info(stream, `qw_${stream}`)).num_ack_pending === 0, { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 4_500));
      const runs = runsIn(file);
      return { runs, twice: twice(runs) };
    } finally {
      await Promise.all([qwStop(a), qwStop(b)]);
    }
  }

  // QW_LIFE_REPEAT=20 QW_LIFE_CONCURRENCY=1,2,4 repeats the reproduction (the 20 runs at each).
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  const repeat = Number(env.QW_LIFE_REPEAT) || 1;
  const levels = (env.QW_LIFE_CONCURRENCY ?? "1,2").split(",").map(Number);
  for (const concurrency of levels) {
    for (let i = 1; i <= repeat; i++) {
      const name = `early ack: no job runs twice beside a synchronous job 3x the ack wait (two processes, concurrency ${concurrency})`;
      it(repeat > 1 ? `${name}, run ${i}` : name, SLOW, async () => {
        const { runs, twice: dup } = await besideALongJob(concurrency);
        assert.deepEqual(dup, [], `ran twice: ${dup.length}`);
        assert.equal(new Set(runs.map((r) => r.id)).size, 301, "every job ran");
      });
    }
  }

  it("--confirm-ack (strict at most once): every job runs once beside a long synchronous one, and the queue drains", SLOW, async () => {
    const { runs, twice: dup } = await besideALongJob(2, ["--confirm-ack"]);
    assert.deepEqual(dup, []);
    assert.equal(new Set(runs.map((r) => r.id)).size, 301);
  });

  it("close() hands back the jobs that did not start at once, not after the grace period", SLOW, async () => {
    const stream = uniq();
    const file = join(t.dir, `${stream}.runs`);
    writeFileSync(file, "");
    const cfg = resolveConfig(
      { server: t.srv.url, stream, tasks: "tests/fixtures/tasks/life.ts", concurrency: 1, grace: 30, ackWait: 30 },
      { env: {}, cpuCount: 2, hostname: "test", pid: 1 },
    );
    const svc = await startService(cfg);
    const times: number[] = [];
    svc.events.on((e) => e.type === "job.handed_back" && times.push(Date.now()));
    const js = jetstream(t.nc);
    // Fast jobs first, so the Web Worker's window is deep when the busy one comes; more fast ones queue behind it.
    await Promise.all(Array.from({ length: 200 }, () => js.publish(`${stream}.fastLate`, JSON.stringify({ args: [file] }))));
    await waitFor(() => runsIn(file).length === 200, { timeoutMs: 10_000 });
    const pubs = [js.publish(`${stream}.busy`, JSON.stringify({ args: [file, 5_000] }))];
    for (let i = 0; i < 300; i++) pubs.push(js.publish(`${stream}.fastLate`, JSON.stringify({ args: [file] })));
    await Promise.all(pubs);
    await waitFor(() => runsIn(file).some((r) => r.task === "busy"), { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const closing = Date.now();
    await svc.close();
    const closed = Date.now();
    assert.ok(closed - closing >= 4_000, `close() waited for the running job (${closed - closing} ms)`);
    assert.ok(times.length >= 10, `jobs queued behind the busy one were handed back (${times.length})`);
    const late = times.filter((t) => t - closing > 1_000).length;
    assert.equal(late, 0, `${late} of ${times.length} were handed back more than 1 s after close()`);
  });
});
