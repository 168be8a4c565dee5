/**
 * One full run of scripts/bench.ts against one nats-server binary: the
 * throughput table, the scale rows, RSS over a long run, enqueue-to-start
 * latency, start-up and requeue. Printing and the targets are elsewhere
 * (_bench_report.ts, _bench_targets.ts).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { client, NatsServer, QW_BIN } from "./_harness.ts";
import { latency, type QwFlags, qwThroughput, requeue, rssOverRun, startup } from "./_bench_qw.ts";
import { C, type Config, configs, type Matrix, PIPELINE, runMatrix } from "./_bench_matrix.ts";
import { type Figure, figureOf, type Sample } from "./_bench_stats.ts";
import type { BenchOptions } from "./_bench_options.ts";
import type { BullmqPeer } from "./_peer_bullmq.ts";
import type { CeleryPeer } from "./_peer_celery.ts";

/** One enqueue-to-start latency run. */
export interface LatencyRun {
  name: string;
  /** The target's rate (jobs/s) and concurrency, when this run is judged. */
  target?: { rate: number; concurrency: number; p99Ms: number };
  rate: number;
  p50: number;
  p99: number;
  max: number;
  n: number;
  load: number;
}

/** Everything one server's run measured. */
export interface ServerResult {
  bin: string;
  version: string;
  matrix: Matrix;
  rows: Config[];
  /** qw defaults by job count (10,000, the largest size, the 1,000,000 backlog unless BENCH_SCALE=0). */
  scale: Record<number, Figure>;
  soak: { start: number; warm: number; peak: number; end: number; jobsPerS: number };
  lat: LatencyRun[];
  startMs: number[];
  idleRssMb: number;
  requeueMs: number[];
  seconds: number;
}

/** The version in nats-server's log ("Version: 2.15.3"), else from `--version`. */
function serverVersion(server: NatsServer, bin: string): string {
  try {
    const v = readFileSync(join(server.dir, "server.log"), "utf8").match(/Version:\s+(\S+)/)?.[1];
    if (v) return v;
  } catch { /* no log */ }
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8" }).match(/v?(\d+\.\d+\.\d+)/)?.[1] ?? "?";
  } catch {
    return "?";
  }
}

let streamNo = 0;
const newStream = (prefix: string) => `${prefix}${++streamNo}`;

/** Run everything against a fresh nats-server from `bin`; peers (when given) join the throughput table. */
export async function runServer(
  o: BenchOptions,
  bin: string,
  peers: { bullmq?: BullmqPeer | null; celery?: CeleryPeer | null },
  ctx: { tmp: string; progress: (s: string) => void; onStart?: (version: string) => void },
): Promise<ServerResult> {
  const t0 = Date.now();
  process.env.NATS_SERVER_BIN = bin; // NatsServer.start() reads it
  const server = await NatsServer.start();
  const c = await client(server.url);
  try {
    const version = serverVersion(server, bin);
    ctx.onStart?.(version);
    const help = (() => {
      try {
        return execFileSync(QW_BIN, ["--help"], { encoding: "utf8" });
      } catch {
        return "";
      }
    })();
    const env = {
      c,
      url: server.url,
      tmp: ctx.tmp,
      natsPid: server.pid!,
      eventsFlag: help.includes("--events "),
      extra: o.extra,
      ...peers,
      newStream,
    };
    const rows = configs(env);
    const matrix = await runMatrix(rows, o.sizes, o, ctx.progress);

    const defaults: QwFlags = { concurrency: C };
    const scale: Record<number, Figure> = {};
    for (const n of o.scaleSizes) {
      if (matrix[n]?.defaults) {
        scale[n] = matrix[n].defaults;
        continue;
      }
      const samples: Sample[] = [];
      const reps = n === o.backlog ? 1 : o.reps;
      for (let rep = 1; rep <= reps; rep++) {
        ctx.progress(`scale: ${n.toLocaleString("en-US")} jobs, qw defaults c=${C} (${rep}/${reps})`);
        samples.push(await qwThroughput(env, newStream("SCALE"), n, defaults));
      }
      scale[n] = figureOf(samples, n);
    }

    ctx.progress(`RSS over ${o.soak.toLocaleString("en-US")} jobs (qw defaults, c=${C})`);
    const soak = await rssOverRun(env, newStream("SOAK"), o.soak, defaults);
    const latRuns: Omit<LatencyRun, "rate" | "p50" | "p99" | "max" | "n" | "load">[] = [
      { name: "qw defaults c=1", target: { rate: 1000, concurrency: 1, p99Ms: 2 } },
      { name: "qw defaults c=2", target: { rate: 1000, concurrency: 2, p99Ms: 2 } },
      { name: "--no-results --no-events --log-level warning c=2" },
      { name: "qw defaults c=2", target: { rate: 10_000, concurrency: 2, p99Ms: 5 } },
    ];
    const lat: LatencyRun[] = [];
    for (const r of latRuns) {
      const rate = r.target?.rate ?? 1000;
      const flags: QwFlags = r.target ? { concurrency: r.target.concurrency } : { ...PIPELINE, concurrency: 2 };
      ctx.progress(`latency at ${rate} jobs/s for ${o.latSeconds} s, ${r.name}`);
      const l = await latency(env, newStream("LAT"), { flags, rate, seconds: o.latSeconds });
      lat.push({ ...r, ...l, load: os.loadavg()[0] });
    }
    ctx.progress("start-up and idle RSS");
    const up = await startup(env, [newStream("UP"), newStream("UP"), newStream("UP")], defaults);
    ctx.progress("requeue");
    const requeueMs = await requeue(env, newStream("RQ"), { concurrency: C, logLevel: "warning" });
    return {
      bin,
      version,
      matrix,
      rows,
      scale,
      soak,
      lat,
      startMs: up.startMs,
      idleRssMb: up.idleRssMb,
      requeueMs,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await c.close();
    await server.stop();
  }
}
