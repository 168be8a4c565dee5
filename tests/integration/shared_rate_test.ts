// rateLimit with rateLimitScope: "stream": every dist/qw process of the stream shares one limit, counted on the
// server (ADR-49 counters on 2.12+, a KV record with compare-and-set on older servers); one process alone gets it all.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { spawnQw } from "../helpers/cli.ts";
import { qwStarted, qwStop, useServer } from "../helpers/suite.ts";
import { waitFor } from "../helpers/wait.ts";
import { serverFeatures } from "../../src/core/server_features.ts";

const RATE = 20;

/** Start times (ms) and process of each run recorded in `log`. */
function starts(log: string): { id: string; at: number; proc: string }[] {
  return readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => {
    const [id, at, proc] = l.split(" ");
    return { id, at: Number(at), proc };
  }).sort((a, b) => a.at - b.at);
}

/** The most starts within any 1 s, and the starts within `spanMs` of the first. */
function measure(times: number[], spanMs: number): { busiest: number; inSpan: number } {
  const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length));
  return { busiest, inSpan: times.filter((t) => t < times[0] + spanMs).length };
}

describe("rate limits shared by the stream's processes", () => {
  const t = useServer("shared-rate");

  async function run(procs: number, spanMs: number, o: { extra?: string[]; jobs?: number; stream?: string; output?: string[] } = {}) {
    const stream = o.stream ?? "srate" + crypto.randomUUID().slice(0, 8);
    const log = join(t.dir, `${stream}.log`);
    writeFileSync(log, "");
    const args = ["--stream", stream, "--tasks", "tests/fixtures/tasks/limited_shared.ts", "--server", t.srv.url, "--concurrency", "4", ...(o.extra ?? [])];
    const qws = Array.from({ length: procs }, (_, i) => spawnQw(args, { env: { QW_TEST_PROC: `p${i}`, QW_TEST_RATE: `${RATE}/s` } }));
    try {
      await Promise.all(qws.map(qwStarted));
      const js = jetstream(t.nc);
      const jobs = o.jobs ?? Math.ceil((RATE * spanMs) / 1000 * 1.5);
      await Promise.all(Array.from({ length: jobs }, (_, i) => js.publish(`${stream}.tick`, JSON.stringify({ args: [log, `t${i}`] }), { msgID: `t${i}` })));
      await waitFor(() => {
        const s = starts(log);
        return (s.length > 0 && Date.now() > s[0].at + spanMs + 300) || s.length === o.jobs;
      }, { timeoutMs: spanMs + 15_000 });
      if (o.jobs) await new Promise((r) => setTimeout(r, 500));
    } finally {
      await Promise.all(qws.map(qwStop));
      o.output?.push(...qws.map((q) => q.output()));
    }
    return { stream, rows: starts(log) };
  }

  it("two processes together start at most the limit a second, and the limit over 5 s within 10 %", { timeout: 60_000 }, async () => {
    const { stream, rows } = await run(2, 5_000);
    const { busiest, inSpan } = measure(rows.map((r) => r.at), 5_000);
    assert.ok(busiest <= RATE + 3, `${busiest} starts within one second at ${RATE}/s`);
    assert.ok(Math.abs(inSpan - RATE * 5) <= RATE * 5 * 0.1, `${inSpan} starts in 5 s at ${RATE}/s (want ${RATE * 5} within 10 %)`);
    const byProc = new Set(rows.map((r) => r.proc));
    assert.equal(byProc.size, 2, "both processes ran jobs");
    // The count lives on the server: a counter stream on 2.12+, a KV bucket before.
    const jsm = await jetstreamManager(t.nc);
    if (serverFeatures(t.nc.info?.version).counters) {
      assert.equal((await jsm.streams.info(`qw_${stream}_rate`)).config.allow_msg_counter, true);
    } else {
      assert.ok((await jsm.streams.info(`KV_qw_${stream}_rate`)).state.messages > 0);
    }
  });

  it("one process alone gets the whole rate", { timeout: 60_000 }, async () => {
    const { rows } = await run(1, 4_000);
    const { busiest, inSpan } = measure(rows.map((r) => r.at), 4_000);
    assert.ok(busiest <= RATE + 3, `${busiest} starts within one second at ${RATE}/s`);
    assert.ok(inSpan >= RATE * 4 * 0.9, `${inSpan} starts in 4 s at ${RATE}/s alone (want at least ${RATE * 4 * 0.9})`);
  });

  it("with a short ack wait, jobs waiting for the next window go back to the server and each runs once", { timeout: 60_000 }, async () => {
    const { stream, rows } = await run(2, 10_000, { extra: ["--ack-wait", "1"], jobs: 60 });
    assert.equal(rows.length, 60, "every job ran");
    assert.equal(new Set(rows.map((r) => r.id)).size, 60, "each job ran once");
    const jsm = await jetstreamManager(t.nc);
    assert.ok((await jsm.streams.info(stream)).state.last_seq > 60, "waiting jobs went back to the stream as copies");
    const { busiest } = measure(rows.map((r) => r.at), 10_000);
    assert.ok(busiest <= RATE + 3, `${busiest} starts within one second at ${RATE}/s`);
  });

  it("when the counter cannot be reached, a process runs at its own rate and says so once, never stalls", { timeout: 60_000 }, async () => {
    // Counters only: a counter stream whose subjects miss the claims' (no responders), as when the server cannot answer.
    if (!serverFeatures(t.nc.info?.version).counters) return;
    const stream = "srate" + crypto.randomUUID().slice(0, 8);
    const jsm = await jetstreamManager(t.nc);
    await jsm.streams.add({ name: `qw_${stream}_rate`, subjects: [`elsewhere_${stream}.>`], allow_msg_counter: true, allow_direct: true });
    const output: string[] = [];
    const { rows } = await run(1, 10_000, { stream, jobs: 30, output });
    assert.equal(rows.length, 30, "every job ran");
    const { busiest } = measure(rows.map((r) => r.at), 10_000);
    assert.ok(busiest <= RATE + 3, `${busiest} starts within one second at ${RATE}/s in the process's own bucket`);
    assert.equal(output.join("").match(/Cannot claim shared rate-limit tokens/g)?.length, 1, output.join(""));
  });
});
