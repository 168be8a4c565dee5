// The pure parts of scripts/bench.ts: what a command line and environment
// ask for, the medians, and the PASS/MISS of issue 25's targets.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { benchOptions } from "../../scripts/_bench_options.ts";
import { type Figure, figureOf, median } from "../../scripts/_bench_stats.ts";
import { pipelineFloor, targets } from "../../scripts/_bench_targets.ts";
import type { ServerResult } from "../../scripts/_bench_suite.ts";

describe("benchOptions()", () => {
  it("runs 20,000 and 100,000 jobs, median of 3, a 1,000,000 backlog once, on the default server then the oldest", () => {
    const o = benchOptions([], { NATS_SERVER_BIN: "/new", NATS_SERVER_OLDEST_BIN: "/old" });
    assert.deepEqual(o.sizes, [20_000, 100_000]);
    assert.equal(o.reps, 3);
    assert.deepEqual(o.servers, ["/new", "/old"]);
    assert.deepEqual(o.scaleSizes, [10_000, 100_000, 1_000_000]);
    assert.equal(o.backlog, 1_000_000);
    assert.equal(o.peers, true);
    assert.equal(o.extra, false);
  });
  it("BENCH_QUICK=1 and --quick run 20,000 jobs once with short latency runs", () => {
    for (const o of [benchOptions([], { BENCH_QUICK: "1" }), benchOptions(["--quick"], {})]) {
      assert.deepEqual(o.sizes, [20_000]);
      assert.equal(o.reps, 1);
      assert.equal(o.latSeconds, 3);
      assert.deepEqual(o.scaleSizes, [10_000, 20_000]);
      assert.equal(o.backlog, 0);
    }
  });
  it("BENCH_SCALE=1 adds the 1,000,000-job backlog, BENCH_SCALE=N a backlog of N", () => {
    assert.deepEqual(benchOptions([], { BENCH_SCALE: "1" }).scaleSizes, [10_000, 100_000, 1_000_000]);
    assert.deepEqual(benchOptions([], { BENCH_SCALE: "250_000" }).scaleSizes, [10_000, 100_000, 250_000]);
    assert.deepEqual(benchOptions([], { BENCH_SCALE: "0" }).scaleSizes, [10_000, 100_000]);
  });
  it("takes sizes, reps, servers and peers from the environment", () => {
    const o = benchOptions([], { BENCH_JOBS: "2000,5000", BENCH_REPS: "5", BENCH_SERVERS: "/a  /b", BENCH_PEERS: "0" });
    assert.deepEqual(o.sizes, [2_000, 5_000]);
    assert.equal(o.reps, 5);
    assert.deepEqual(o.servers, ["/a", "/b"]);
    assert.equal(o.peers, false);
    assert.equal(o.peerReps, 5);
    assert.equal(benchOptions([], { BENCH_PEER_REPS: "1" }).peerReps, 1);
    assert.equal(benchOptions([], { BENCH_REPS: "2", BENCH_PEER_REPS: "9" }).peerReps, 2);
  });
  it("runs Celery once by default (minutes a run), more with BENCH_CELERY_REPS, never more than BullMQ", () => {
    assert.equal(benchOptions([], {}).celeryReps, 1);
    assert.equal(benchOptions([], { BENCH_CELERY_REPS: "3" }).celeryReps, 3);
    assert.equal(benchOptions([], { BENCH_CELERY_REPS: "3", BENCH_PEER_REPS: "2" }).celeryReps, 2);
    assert.throws(() => benchOptions([], { BENCH_CELERY_REPS: "0" }), /BENCH_CELERY_REPS/);
  });
  it("rejects a count that is not a positive integer", () => {
    assert.throws(() => benchOptions([], { BENCH_REPS: "0" }), RangeError);
    assert.throws(
      () => benchOptions(["--jobs", "1e3x"], {}),
      /'jobs' must be a positive integer: current value is '1e3x'/,
    );
  });
});

describe("median() and figureOf()", () => {
  it("takes the middle value, or the mean of the middle two", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
  it("takes jobs/s and CPU per job medians separately, and the breakdown of the median-CPU run", () => {
    const cpu = (process: number) => ({ threads: null, process, broker: 0 });
    const f = figureOf([
      { jobsPerS: 100, cpu: cpu(30) },
      { jobsPerS: 300, cpu: cpu(10) },
      { jobsPerS: 200, cpu: cpu(20) },
    ], 1000);
    assert.equal(f.jobsPerS, 200);
    assert.equal(f.min, 100);
    assert.equal(f.max, 300);
    assert.equal(f.cpuUs, 20); // 20 ms over 1,000 jobs
    assert.equal(f.cpu?.process, 20);
  });
  it("leaves a failed run out", () => {
    const f = figureOf([{ jobsPerS: NaN }, { jobsPerS: 100 }], 1000);
    assert.equal(f.jobsPerS, 100);
    assert.equal(f.runs, 1);
    assert.equal(figureOf([{ jobsPerS: NaN }], 1000).runs, 0);
  });
});

const fig = (jobsPerS: number, cpuUs: number | null): Figure => ({
  jobsPerS,
  min: jobsPerS,
  max: jobsPerS,
  cpuUs,
  cpu: null,
  runs: 1,
});

function result(over: Partial<Record<string, Figure>>, scale: Record<number, Figure> = {}): ServerResult {
  const row = {
    raw: fig(100_000, 10),
    rawResults: fig(30_000, 40),
    defaults: fig(40_000, 30),
    noResults: fig(75_000, 14),
    noResultsLate: fig(65_000, 16),
    events: fig(70_000, 15),
    ...over,
  } as Record<string, Figure>;
  return {
    bin: "nats-server",
    version: "2.15.3",
    matrix: { 100_000: row },
    rows: [],
    scale: { 100_000: row.defaults, ...scale },
    soak: { start: 80, warm: 100, peak: 120, end: 110, jobsPerS: 1 },
    lat: [{
      name: "c=1",
      target: { rate: 1000, concurrency: 1, p99Ms: 2 },
      rate: 1000,
      p50: 0.3,
      p99: 1.5,
      max: 3,
      n: 1,
      load: 1,
    }],
    startMs: [50, 70, 55],
    idleRssMb: 60,
    requeueMs: [1, 2],
    seconds: 1,
  };
}
const status = (r: ServerResult, name: string) => {
  const t = targets(r, [100_000]).find((x) => x.name.includes(name));
  assert.ok(t, `no target '${name}'`);
  return t.ok;
};

describe("targets()", () => {
  it("holds --no-results to 0.7x the limit at 100,000 jobs and 0.6x below", () => {
    assert.equal(pipelineFloor(100_000), 0.7);
    assert.equal(pipelineFloor(20_000), 0.6);
    assert.equal(status(result({}), "early ack >= 0.7x the limit, jobs/s"), true); // 0.75x
    assert.equal(status(result({}), "early ack >= 0.7x the limit, CPU/job"), true); // 10 / 14 us = 0.71x
    assert.equal(status(result({ noResults: fig(75_000, 15) }), "early ack >= 0.7x the limit, CPU/job"), false);
    assert.equal(status(result({ noResultsLate: fig(69_000, 16) }), "--acks-late >= 0.7x the limit, jobs/s"), false);
  });
  it("judges CPU per job as the other's CPU over qw's", () => {
    // defaults 30 us against 40 us for the reference with results: 1.33x, jobs/s 1.33x.
    assert.equal(status(result({}), "defaults >= 1.3x plain consumer + results, CPU/job"), true);
    assert.equal(
      status(result({ defaults: fig(40_000, 31) }), "defaults >= 1.3x plain consumer + results, CPU/job"),
      false,
    );
  });
  it("skips a peer this run did not measure and marks figures from another server's run", () => {
    assert.equal(status(result({}), "BullMQ"), null);
    const r = result({ celeryPrefork: { ...fig(1_000, 1000), from: "measured on 2.15.3" } });
    const t = targets(r, [100_000]).find((x) => x.name.includes("Celery prefork, jobs/s"))!;
    assert.equal(t.ok, true);
    assert.match(t.figure, /measured on 2\.15\.3/);
    const failed = result({ bullInline: { ...fig(NaN, null), runs: 0 } });
    assert.equal(status(failed, "BullMQ"), null);
  });
  it("judges the events cost, the latency p99 and the start-up median", () => {
    assert.equal(status(result({}), "events cost <= 10% (vs --no-events), jobs/s"), true); // 6.7 %
    assert.equal(status(result({ events: fig(60_000, 15) }), "events cost <= 10% (vs --no-events), jobs/s"), false);
    assert.equal(status(result({}), "p99 enqueue-to-start < 2 ms"), true);
    assert.equal(status(result({}), "start to first job < 60 ms"), true); // median 55
  });
  it("judges the 1,000,000-job backlog against the 100,000 run only when it ran", () => {
    assert.equal(status(result({}), "1M backlog"), null);
    const ok = result({}, { 1_000_000: { ...fig(40_000, 33), peakRssMb: 150 } });
    assert.equal(status(ok, "1M backlog: CPU/job"), true); // +10 %
    assert.equal(status(ok, "1M backlog: RSS peak"), true);
    const slow = result({}, { 1_000_000: { ...fig(40_000, 36), peakRssMb: 250 } });
    assert.equal(status(slow, "1M backlog: CPU/job"), false); // +20 %
    assert.equal(status(slow, "1M backlog: RSS peak"), false);
  });
});
